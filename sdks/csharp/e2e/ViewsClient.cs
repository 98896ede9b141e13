// Views as read-only table handles in the C# SDK, against a real server running the views
// module (tests/modules/views) with bindings generated from it: the keyed per-caller view
// my_player gets the caller's row through OnInsert, finds it by its key and reports a changed
// score as one OnUpdate; the anonymous view expensive_items gains an expensive item (OnInsert,
// Count) and loses it when removed (OnDelete), while a cheap one never enters; a one-off query
// of a view gives typed rows. Prints one line per check; exits 1 on the first failure.
// Compiled and run by tests/e2e/view_clients.rs.
//
// Usage: mono ViewsClient.exe --host URL --db NAME
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using SpacetimeDB;
using SpacetimeDB.Types;

static class ViewsClient
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    sealed class Failed : Exception
    {
        public Failed(string message) : base(message) { }
    }

    static void Check(bool ok, string what)
    {
        if (!ok) throw new Failed(what);
        Console.WriteLine(what);
    }

    /// <summary>Runs FrameTick until <paramref name="done"/> says so.</summary>
    static void Pump(DbConnection conn, Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!done())
        {
            if (DateTime.UtcNow > deadline) throw new Failed("timed out waiting for " + what);
            conn.WorkAvailable.WaitOne(100);
            conn.FrameTick();
        }
    }

    /// <summary>Waits for a reducer call and checks that it committed.</summary>
    static void Call(DbConnection conn, Task<ReducerEventContext> call, string what)
    {
        Pump(conn, () => call.IsCompleted, what);
        var status = call.Result.Event.Status;
        if (status.Kind != StatusKind.Committed) throw new Failed(what + ": " + status);
    }

    static int Main(string[] args)
    {
        string host = null, db = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--host") host = args[i + 1];
            else if (args[i] == "--db") db = args[i + 1];
        }
        if (host == null || db == null)
        {
            Console.Error.WriteLine("usage: ViewsClient.exe --host URL --db NAME");
            return 2;
        }
        var conn = DbConnection.Builder().WithUri(host).WithDatabaseName(db).Build();
        var events = new List<string>();
        conn.Db.MyPlayer.OnInsert += (ctx, row) => events.Add("my_player insert " + row.Name + " " + row.Score);
        conn.Db.MyPlayer.OnUpdate += (ctx, old, row) => events.Add("my_player update " + old.Score + "->" + row.Score);
        conn.Db.ExpensiveItems.OnInsert += (ctx, row) => events.Add("expensive_items insert " + row.Name);
        conn.Db.ExpensiveItems.OnDelete += (ctx, row) => events.Add("expensive_items delete " + row.Name);
        try
        {
            bool applied = false;
            string error = null;
            conn.SubscriptionBuilder()
                .OnApplied(ctx => applied = true)
                .OnError((ctx, e) => error = e.Message)
                .Subscribe(new[] { "SELECT * FROM my_player", "SELECT * FROM expensive_items" });
            Pump(conn, () => applied || error != null, "the subscription");
            Check(error == null && conn.Db.MyPlayer.Count == 0 && conn.Db.ExpensiveItems.Count == 0, "both views start empty" + (error == null ? "" : ": " + error));

            Call(conn, conn.Reducers.SetPlayer("ada", 5), "SetPlayer");
            Check(events.SequenceEqual(new[] { "my_player insert ada 5" }), "my_player's row arrived through OnInsert: " + string.Join("|", events));
            var found = conn.Db.MyPlayer.Identity.Find(conn.Identity.Value);
            Check(found != null && found.Score == 5, "find by the view's primary key: " + (found == null ? "none" : found.Name));
            events.Clear();
            Call(conn, conn.Reducers.SetPlayer("ada", 7), "SetPlayer again");
            Check(events.SequenceEqual(new[] { "my_player update 5->7" }), "a changed row of the keyed view is one OnUpdate: " + string.Join("|", events));
            events.Clear();

            Call(conn, conn.Reducers.AddItem("pebble", 3), "AddItem(pebble)");
            Call(conn, conn.Reducers.AddItem("gold", 500), "AddItem(gold)");
            Check(events.SequenceEqual(new[] { "expensive_items insert gold" }), "only the expensive item entered expensive_items: " + string.Join("|", events));
            Check(conn.Db.ExpensiveItems.Count == 1, "expensive_items holds one row");
            var gold = conn.Db.ExpensiveItems.Iter().First();
            events.Clear();
            Call(conn, conn.Reducers.RemoveItem(gold.Id), "RemoveItem");
            Check(events.SequenceEqual(new[] { "expensive_items delete gold" }), "a removed item left the view through OnDelete: " + string.Join("|", events));

            var query = conn.Query("SELECT * FROM my_player");
            Pump(conn, () => query.IsCompleted, "a one-off query");
            var rows = query.Result.RowsOf(conn.Db.MyPlayer);
            Check(rows.Count == 1 && rows[0].Name == "ada" && rows[0].Score == 7, "a one-off query of a view returned typed rows: " + rows.Count);
        }
        catch (Failed e)
        {
            Console.WriteLine("FAILED: " + e.Message);
            return 1;
        }
        catch (Exception e)
        {
            Console.WriteLine("FAILED: " + e);
            return 1;
        }
        conn.Disconnect();
        conn.FrameTick();
        conn.Closed.Wait(TimeSpan.FromSeconds(5));
        Console.WriteLine("views: OK");
        return 0;
    }
}
