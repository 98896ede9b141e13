// A terminal chat client: connects to the database, prints the messages other people send
// as they arrive, and sends each line you type (`/name X` sets your name). It exits at the
// end of input once the server has answered every line. The main thread runs the SDK's
// FrameTick, so every callback runs on it.
//
// Usage: client [--host URL] [--db NAME] (defaults: http://localhost:3000 and the project's
// database). Regenerate module_bindings after changing the module with `spacetime generate`
// in the project directory.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using SpacetimeDB;
using SpacetimeDB.Types;

static class Program
{
    static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    static int Main(string[] args)
    {
        string host = "http://localhost:3000";
        string db = "{{database}}";
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--host") host = args[i + 1];
            else if (args[i] == "--db") db = args[i + 1];
        }
        bool failed = false;
        var conn = DbConnection.Builder()
            .WithUri(host)
            .WithDatabaseName(db)
            .OnConnect((c, identity, token) => Say("Connected as " + identity.ToAbbreviatedHex() + "."))
            .OnConnectError(e =>
            {
                Console.Error.WriteLine("Error: cannot connect to " + db + " at " + host + ": " + e.Message);
                failed = true;
            })
            .Build();
        conn.Db.Message.OnInsert += (ctx, message) =>
        {
            // Messages of the initial subscription are history; print only new ones of others.
            if (ctx.Event.Kind == EventKind.SubscribeApplied || ctx.Identity == message.Sender) return;
            var sender = ctx.Db.User.Identity.Find(message.Sender);
            Say((sender == null || sender.Name == null ? message.Sender.ToAbbreviatedHex() : sender.Name) + ": " + message.Text);
        };
        conn.SubscriptionBuilder()
            .OnApplied(ctx => Say("Ready: type a message, or /name <name>."))
            .Subscribe("SELECT * FROM user", "SELECT * FROM message");

        var lines = new BlockingCollection<string>();
        var reader = new Thread(() =>
        {
            string line;
            while ((line = Console.In.ReadLine()) != null) lines.Add(line);
            lines.CompleteAdding();
        }) { IsBackground = true };
        reader.Start();

        var pending = new List<Task<ReducerEventContext>>();
        DateTime? deadline = null;
        while (!failed)
        {
            conn.FrameTick();
            string line;
            while (lines.TryTake(out line, 20))
            {
                line = line.Trim();
                if (line.Length == 0) continue;
                pending.Add(line.StartsWith("/name ") ? conn.Reducers.SetName(line.Substring(6).Trim()) : conn.Reducers.SendMessage(line));
            }
            foreach (var done in pending.Where(p => p.IsCompleted).ToList())
            {
                pending.Remove(done);
                var status = done.Result.Event.Status;
                if (status.Kind != StatusKind.Committed) Say("Failed: " + status.Message);
            }
            if (!lines.IsCompleted) continue;
            if (deadline == null) deadline = DateTime.UtcNow.AddSeconds(10);
            if (pending.Count > 0 && DateTime.UtcNow < deadline) continue;
            conn.Disconnect();
            break;
        }
        conn.FrameTick();
        conn.Closed.Wait(TimeSpan.FromSeconds(5));
        return failed ? 1 : 0;
    }
}
