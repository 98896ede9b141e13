// Typed procedure calls and one-off queries through the C# SDK, against a real server running
// the procedures module (tests/modules/procedures, published with --allow-private-http) and
// bindings generated from it: Add returns the sum as a uint; FetchAndStore fetches from a tiny
// HTTP server this program runs on loopback, and the row it wrote with with_tx reaches
// OnInsert before the call's task completes; PanicInTx faults with ProcedureException carrying
// the panic's text; whole rows of a one-off query come back typed, a projection raw, and a bad
// query faults with QueryException. Prints one line per check; exits 1 on the first failure.
// With --drop it instead calls FetchAndStore on a URL its HTTP server never answers, prints
// "the procedure is fetching" once the server's request arrives (the test then kills the
// server) and checks that the call's task faults with ConnectionLostException.
// Compiled and run by tests/e2e/procedure_clients.rs.
//
// Usage: mono ProceduresAndQueries.exe --host URL --db NAME [--drop]
using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using SpacetimeDB;
using SpacetimeDB.Types;

static class ProceduresAndQueries
{
    const string Body = "hello from the C# client's HTTP server";
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

    /// <summary>Runs FrameTick until <paramref name="task"/> completes; its value, or the exception it faulted with.</summary>
    static T Await<T>(DbConnection conn, Task<T> task, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!task.IsCompleted)
        {
            if (DateTime.UtcNow > deadline) throw new Failed("timed out waiting for " + what);
            conn.WorkAvailable.WaitOne(100);
            conn.FrameTick();
        }
        if (task.IsFaulted) throw task.Exception.InnerException;
        return task.Result;
    }

    /// <summary>The exception <paramref name="task"/> faults with, which must be an <typeparamref name="E"/>.</summary>
    static E Fault<E, T>(DbConnection conn, Task<T> task, string what) where E : Exception
    {
        try { Await(conn, task, what); }
        catch (E e) { return e; }
        throw new Failed(what + " did not fail with " + typeof(E).Name);
    }

    /// <summary>Answers every HTTP request on a loopback port with <see cref="Body"/>, except <c>/held</c>, which it never answers; returns the port.</summary>
    static int ServeHttp()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var thread = new Thread(() =>
        {
            while (true)
            {
                using (var client = listener.AcceptTcpClient())
                using (var stream = client.GetStream())
                {
                    var request = new StringBuilder();
                    var buffer = new byte[4096];
                    while (!request.ToString().Contains("\r\n\r\n"))
                    {
                        int n = stream.Read(buffer, 0, buffer.Length);
                        if (n == 0) break;
                        request.Append(Encoding.ASCII.GetString(buffer, 0, n));
                    }
                    if (request.ToString().StartsWith("GET /held "))
                    {
                        Console.WriteLine("the procedure is fetching");
                        Thread.Sleep(System.Threading.Timeout.Infinite);
                    }
                    var body = Encoding.UTF8.GetBytes(Body);
                    var head = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\ncontent-length: " + body.Length + "\r\nconnection: close\r\n\r\n");
                    stream.Write(head, 0, head.Length);
                    stream.Write(body, 0, body.Length);
                }
            }
        }) { IsBackground = true };
        thread.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    static int Main(string[] args)
    {
        string host = null, db = null;
        bool drop = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--drop") drop = true;
            else if (args[i] == "--host" && i + 1 < args.Length) host = args[++i];
            else if (args[i] == "--db" && i + 1 < args.Length) db = args[++i];
        }
        if (host == null || db == null)
        {
            Console.Error.WriteLine("usage: ProceduresAndQueries.exe --host URL --db NAME [--drop]");
            return 2;
        }
        int port = ServeHttp();
        Exception connectError = null;
        var conn = DbConnection.Builder().WithUri(host).WithDatabaseName(db)
            .OnConnectError(e => connectError = e)
            .Build();
        try
        {
            if (drop)
            {
                var lost = Fault<ConnectionLostException, string>(conn, conn.Procedures.FetchAndStore("http://127.0.0.1:" + port + "/held"), "FetchAndStore when the connection drops");
                Check(lost.Message.Contains("fetch_and_store"), "the waiting call raised ConnectionLostException: " + lost.Message);
                return 0;
            }
            uint sum = Await(conn, conn.Procedures.Add(2, 40), "Add");
            Check(sum == 42, "Add(2, 40) returned " + sum);

            var applied = false;
            conn.SubscriptionBuilder().OnApplied(ctx => applied = true).Subscribe("SELECT * FROM fetched");
            var fetched = new List<string>();
            Task<string> fetch = null;
            conn.Db.Fetched.OnInsert += (ctx, row) => fetched.Add(row.Body + (fetch != null && fetch.IsCompleted ? " after" : " before") + " the value");
            var deadline = DateTime.UtcNow + Timeout;
            while (!applied && connectError == null && DateTime.UtcNow < deadline)
            {
                conn.WorkAvailable.WaitOne(100);
                conn.FrameTick();
            }
            Check(applied, "subscribed to fetched" + (connectError == null ? "" : ": " + connectError.Message));
            fetch = conn.Procedures.FetchAndStore("http://127.0.0.1:" + port + "/hello");
            var body = Await(conn, fetch, "FetchAndStore");
            Check(body == Body, "FetchAndStore returned the body: " + body);
            Check(fetched.SequenceEqual(new[] { Body + " before the value" }), "its with_tx row reached OnInsert first: " + string.Join("|", fetched));
            Check(Await(conn, conn.Procedures.CountFetched(), "CountFetched") == 1UL, "CountFetched returned 1");

            var panic = Fault<ProcedureException, Unit>(conn, conn.Procedures.PanicInTx(), "PanicInTx");
            Check(panic.Reason.Contains("boom inside with_tx"), "PanicInTx faulted with ProcedureException: " + panic.Message);

            Await(conn, conn.Reducers.Bump(7), "Bump(7)");
            Await(conn, conn.Reducers.Bump(9), "Bump(9)");
            var whole = Await(conn, conn.Query("SELECT * FROM bumped"), "a one-off query");
            var rows = whole.RowsOf(conn.Db.Bumped);
            Check(rows.Select(r => r.By).OrderBy(b => b).SequenceEqual(new uint[] { 7, 9 }), "a one-off query returned typed rows: " + rows.Count + " Bumped");
            Check(conn.Db.Bumped.Count == 0, "and did not touch the cache");
            var projected = Await(conn, conn.Query("SELECT id FROM bumped"), "a projection");
            var table = projected.Table("bumped");
            Check(table != null && table.Rows == null && table.RawRows.All(r => r.Length == 8) && table.RawRows.Count == 2, "a projection came back as raw rows (two u64 ids)");
            var bad = Fault<QueryException, QueryResult>(conn, conn.Query("SELECT * FROM no_such_table"), "a bad query");
            Check(bad.Reason.Contains("no_such_table"), "a bad query faulted with QueryException: " + bad.Reason);
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
        Console.WriteLine("procedures and queries: OK");
        return 0;
    }
}
