// The quickstart chat's console client in C#: connects to the chat database (reusing the
// token saved in a credentials file), subscribes to every user and message, prints other
// people's messages and who comes online or goes offline as they happen, and turns each line
// of standard input into a message, or `/name X` into a name change.
//
// It prints one line per event (the same lines as the Rust client) and exits on end of
// input once every call it made has been answered, so a script can drive it through pipes.
// The main thread is the "game loop": it waits for work, then calls FrameTick, so every
// callback runs on it.
//
// Usage: quickstart-chat-client.exe [--host URL] [--db NAME] [--credentials-dir DIR] [--reconnect]
// (defaults: http://localhost:3000, quickstart-chat, ~/.spacetimedb_client_credentials).
// With --reconnect a dropped connection is re-opened with backoff and the subscription
// resumed, printing "Reconnected."; without it the client ends when the connection does.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using SpacetimeDB;
using SpacetimeDB.Types;

namespace QuickstartChat
{
    static class Program
    {
        /// <summary>The key of this client's credentials file.</summary>
        const string CredentialsKey = "quickstart-chat";

        /// <summary>How long to wait at end of input for the server to answer the last calls.</summary>
        static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

        sealed class Options
        {
            public string Host = "http://localhost:3000";
            public string Db = "quickstart-chat";
            public CredentialFile Credentials = new CredentialFile(CredentialsKey);
            public bool Reconnect;
        }

        static int Main(string[] args)
        {
            Options options;
            try { options = ParseArgs(args); }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine(e.Message + "\nusage: quickstart-chat-client [--host URL] [--db NAME] [--credentials-dir DIR] [--reconnect]");
                return 2;
            }
            try { return Run(options); }
            catch (Exception e)
            {
                Console.Error.WriteLine("Error: " + e.Message);
                return 1;
            }
        }

        static Options ParseArgs(string[] args)
        {
            var options = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string flag = args[i];
                Func<string> value = () =>
                {
                    if (i + 1 >= args.Length) throw new ArgumentException(flag + " needs a value");
                    return args[++i];
                };
                switch (flag)
                {
                    case "--host": options.Host = value(); break;
                    case "--db": options.Db = value(); break;
                    case "--credentials-dir": options.Credentials = new CredentialFile(value(), CredentialsKey); break;
                    case "--reconnect": options.Reconnect = true; break;
                    default: throw new ArgumentException("unknown argument `" + flag + "`");
                }
            }
            return options;
        }

        /// <summary>Prints one event line, flushed at once so a reader on a pipe sees it immediately.</summary>
        static void Say(string line)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }

        static int Run(Options options)
        {
            string token = options.Credentials.Load();
            bool failed = false;
            bool ended = false;
            var builder = DbConnection.Builder()
                .WithUri(options.Host)
                .WithDatabaseName(options.Db)
                .WithToken(token)
                .OnConnect((c, identity, newToken) =>
                {
                    try { options.Credentials.Save(newToken); }
                    catch (Exception e) { Console.Error.WriteLine("cannot save the token: " + e.Message); }
                    Say("Connected as " + identity.ToAbbreviatedHex() + ".");
                })
                .OnConnectError(e =>
                {
                    Console.Error.WriteLine("Connection error: " + e.Message);
                    failed = true;
                    ended = true;
                })
                .OnDisconnect((c, e) =>
                {
                    Say(e == null ? "Disconnected." : "Disconnected: " + e.Message);
                    ended = true;
                });
            if (options.Reconnect) builder = builder.WithReconnect(new ReconnectPolicy()).OnReconnect((c, identity, t) => Say("Reconnected."));
            var conn = builder.Build();

            RegisterCallbacks(conn);
            conn.SubscriptionBuilder()
                .OnApplied(OnSubscriptionApplied)
                .OnError((ctx, e) => Console.Error.WriteLine("Subscription failed: " + e.Message))
                .Subscribe("SELECT * FROM user", "SELECT * FROM message");

            var input = new StdinReader();
            var pending = new List<KeyValuePair<string, Task<ReducerEventContext>>>();
            DateTime? drainDeadline = null;
            while (!ended)
            {
                WaitHandle.WaitAny(new[] { conn.WorkAvailable, input.LineAvailable }, 100);
                conn.FrameTick();
                string line;
                while (input.Lines.TryDequeue(out line)) SendLine(conn, pending, line.Trim());
                Report(pending);
                if (!input.Ended || !conn.IsActive) continue;
                if (drainDeadline == null) drainDeadline = DateTime.UtcNow + DrainTimeout;
                bool drained = pending.Count == 0;
                if (!drained && DateTime.UtcNow < drainDeadline) continue;
                if (!drained) Console.Error.WriteLine("Some calls were not answered within " + DrainTimeout.TotalSeconds + " s.");
                conn.Disconnect();
                break;
            }
            // Runs OnDisconnect for the Disconnect above (a connection the server never
            // accepted just stops).
            conn.FrameTick();
            // Let the socket close cleanly before the process ends.
            conn.Closed.Wait(TimeSpan.FromSeconds(5));
            return failed ? 1 : 0;
        }

        /// <summary>Sends one line of input: <c>/name X</c> renames, anything else non-empty is a message.</summary>
        static void SendLine(DbConnection conn, List<KeyValuePair<string, Task<ReducerEventContext>>> pending, string line)
        {
            if (line.Length == 0) return;
            string name = line == "/name" ? "" : line.StartsWith("/name ") ? line.Substring(6).Trim() : null;
            if (name != null) pending.Add(new KeyValuePair<string, Task<ReducerEventContext>>("set the name", conn.Reducers.SetName(name)));
            else pending.Add(new KeyValuePair<string, Task<ReducerEventContext>>("send the message", conn.Reducers.SendMessage(line)));
        }

        /// <summary>Prints why each finished call failed; a success prints nothing (its effects print as row events).</summary>
        static void Report(List<KeyValuePair<string, Task<ReducerEventContext>>> pending)
        {
            foreach (var call in pending.Where(p => p.Value.IsCompleted).ToList())
            {
                pending.Remove(call);
                var status = call.Value.Result.Event.Status;
                if (status.Kind != StatusKind.Committed) Say("Failed to " + call.Key + ": " + status.Message);
            }
        }

        static void RegisterCallbacks(DbConnection conn)
        {
            conn.Db.User.OnInsert += (ctx, user) =>
            {
                if (user.Online && !IsInitial(ctx)) Say("User " + UserName(user) + " connected.");
            };
            conn.Db.User.OnUpdate += (ctx, oldUser, newUser) =>
            {
                if (oldUser.Name != newUser.Name) Say("User " + UserName(oldUser) + " renamed to " + UserName(newUser) + ".");
                if (oldUser.Online && !newUser.Online) Say("User " + UserName(newUser) + " disconnected.");
                if (!oldUser.Online && newUser.Online) Say("User " + UserName(newUser) + " connected.");
            };
            conn.Db.Message.OnInsert += (ctx, message) =>
            {
                if (!IsInitial(ctx) && ctx.Identity != message.Sender) PrintMessage(ctx, message);
            };
        }

        /// <summary>Whether the event is the subscription's initial rows (printed all at once, in order).</summary>
        static bool IsInitial(EventContext ctx) { return ctx.Event.Kind == EventKind.SubscribeApplied; }

        /// <summary>Prints the history, oldest first, then says the client is ready for input.</summary>
        static void OnSubscriptionApplied(SubscriptionEventContext ctx)
        {
            foreach (var message in ctx.Db.Message.Iter().OrderBy(m => m.Sent)) PrintMessage(ctx, message);
            Say("Fully connected and all subscriptions applied.");
            Say("Use /name to set your name, or type a message!");
        }

        static void PrintMessage(IRemoteDbContext ctx, Message message)
        {
            var sender = ctx.Db.User.Identity.Find(message.Sender);
            Say((sender == null ? message.Sender.ToAbbreviatedHex() : UserName(sender)) + ": " + message.Text);
        }

        static string UserName(User user) { return user.Name ?? user.Identity.ToAbbreviatedHex(); }

        /// <summary>Reads standard input on a background thread, so the main loop never blocks on it.</summary>
        sealed class StdinReader
        {
            public readonly ConcurrentQueue<string> Lines = new ConcurrentQueue<string>();
            public readonly AutoResetEvent LineAvailable = new AutoResetEvent(false);
            volatile bool ended;

            public StdinReader()
            {
                var thread = new Thread(() =>
                {
                    string line;
                    while ((line = Console.In.ReadLine()) != null)
                    {
                        Lines.Enqueue(line);
                        LineAvailable.Set();
                    }
                    ended = true;
                    LineAvailable.Set();
                }) { IsBackground = true, Name = "stdin" };
                thread.Start();
            }

            /// <summary>Whether standard input has ended and every line was taken.</summary>
            public bool Ended { get { return ended && Lines.IsEmpty; } }
        }
    }
}
