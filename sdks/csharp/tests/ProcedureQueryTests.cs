// Procedure calls and one-off queries against a fake server: a procedure's task completes
// with its decoded value after the row events of the transaction it committed, fails with the
// server's text or when the value does not decode, and fails with ConnectionLostException when
// the connection drops or ends while it waits; a one-off query gives typed rows for whole rows
// of a known table and raw rows otherwise, and the server's error as a QueryException.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB.Tests
{
    public static class ProcedureQueryTests
    {
        static TestConnection Connect(FakeTransport server, ReconnectPolicy reconnect = null)
        {
            var builder = new DbConnectionBuilder<TestConnection>(() => new TestConnection()).WithTransport(() => server);
            if (reconnect != null) builder = builder.WithReconnect(reconnect);
            var conn = builder.Build();
            server.Welcome();
            conn.FrameTick();
            return conn;
        }

        /// <summary>The exception <paramref name="task"/> faulted with, which must be an <typeparamref name="E"/>.</summary>
        static E Fault<E>(Task task, string what) where E : Exception
        {
            try { task.Wait(5000); }
            catch (AggregateException e)
            {
                var inner = e.InnerException as E;
                if (inner != null) return inner;
                throw new AssertionException(what + ": expected " + typeof(E).Name + ", got " + e.InnerException);
            }
            throw new AssertionException(what + ": expected " + typeof(E).Name + ", the task " + (task.IsCompleted ? "succeeded" : "did not complete"));
        }

        static void Answer(FakeTransport server, byte[] returned, string error = null)
        {
            server.Deliver(new ProcedureResult
            {
                Returned = returned,
                InternalError = error,
                Timestamp = new Timestamp(9),
                TotalHostExecutionDuration = new TimeDuration(1),
                RequestId = server.Last<CallProcedure>().RequestId,
            });
        }

        [Test]
        public static void AProcedureCompletesWithItsValueAfterItsTransactionsRowEvents()
        {
            var server = new FakeTransport();
            var conn = Connect(server);
            conn.SubscriptionBuilder().Subscribe("SELECT * FROM kv");
            conn.FrameTick();
            var sub = server.Last<Subscribe>();
            server.Deliver(new SubscribeApplied { RequestId = sub.RequestId, QuerySetId = sub.QuerySetId, Rows = FakeTransport.Rows("kv") });
            conn.FrameTick();
            var log = new List<string>();
            var sum = conn.Add(2, 40);
            conn.Kv.OnInsert += (ctx, row) => log.Add("insert " + row + (sum.IsCompleted ? " after" : " before") + " the value");
            conn.FrameTick();
            var call = server.Last<CallProcedure>();
            Assert.Equal("add", call.Procedure, "procedure name");
            Assert.Equal("0200000028000000", Assert.Hex(call.Args), "procedure args");
            server.Deliver(new TransactionUpdateMessage { Update = FakeTransport.Update(sub.QuerySetId, "kv", new[] { new Kv(42, "sum") }, new Kv[0]) });
            Answer(server, BitConverter.GetBytes(42u));
            Assert.True(!sum.IsCompleted, "the answer is applied in FrameTick");
            conn.FrameTick();
            Assert.True(sum.Wait(5000), "the call completes");
            Assert.Equal(42u, sum.Result, "the decoded return value");
            Assert.Equal(new List<string> { "insert 42=sum before the value" }, log, "the row event ran before the value was returned");

            var failing = conn.Add(1, 1);
            conn.FrameTick();
            Answer(server, null, "the procedure panicked: boom");
            conn.FrameTick();
            var failed = Fault<ProcedureException>(failing, "a failed procedure");
            Assert.Equal("procedure `add` failed: the procedure panicked: boom", failed.Message, "the server's text");
            Assert.Equal("add", failed.Procedure, "the procedure");

            var mistyped = conn.Greet();
            conn.FrameTick();
            Answer(server, new byte[] { 1, 2 });
            conn.FrameTick();
            var undecodable = Fault<ProcedureException>(mistyped, "a value of another type");
            Assert.True(undecodable.Reason.Contains("does not decode"), undecodable.Message);

            int sent = server.Sent.OfType<CallProcedure>().Count();
            Assert.Throws<ArgumentNullException>(() => conn.Echo(null), "a null string argument");
            conn.FrameTick();
            Assert.Equal(sent, server.Sent.OfType<CallProcedure>().Count(), "nothing was sent for it");
        }

        [Test]
        public static void AProcedureWaitingWhenTheConnectionDropsOrEndsFails()
        {
            var server = new FakeTransport();
            var conn = Connect(server, new ReconnectPolicy());
            var waiting = conn.Add(1, 2);
            conn.FrameTick();
            server.Sink.OnClosed(new SpacetimeException("network down"), true);
            conn.FrameTick();
            var lost = Fault<ConnectionLostException>(waiting, "a call in flight when the socket dropped");
            Assert.True(lost.Message.Contains("procedure `add`") && lost.Message.Contains("was lost"), lost.Message);

            var queued = conn.Add(3, 4);
            conn.FrameTick();
            Assert.True(!server.Sent.OfType<CallProcedure>().Skip(1).Any(), "calls wait while reconnecting");
            server.Welcome();
            conn.FrameTick();
            Answer(server, BitConverter.GetBytes(7u));
            conn.FrameTick();
            Assert.True(queued.Wait(5000) && queued.Result == 7u, "the waiting call went out on the new connection");

            var pending = conn.Add(5, 6);
            var query = conn.Query("SELECT * FROM kv");
            conn.FrameTick();
            conn.Disconnect();
            conn.FrameTick();
            Assert.True(Fault<ConnectionLostException>(pending, "a call when the connection ended").Message.Contains("ended"), "ended");
            Fault<ConnectionLostException>(query, "a query when the connection ended");
            Fault<ConnectionLostException>(conn.Add(1, 1), "a call after the end");
        }

        [Test]
        public static void OneOffQueriesGiveTypedRowsForWholeRowsOfKnownTablesAndRawRowsOtherwise()
        {
            var server = new FakeTransport();
            var conn = Connect(server);

            var whole = conn.Query("select * from kv");
            conn.FrameTick();
            var sent = server.Last<OneOffQuery>();
            Assert.Equal("select * from kv", sent.QueryString, "the query text");
            server.Deliver(new OneOffQueryResult { RequestId = sent.RequestId, Rows = FakeTransport.Rows("kv", new Kv(1, "a"), new Kv(2, "b")) });
            conn.FrameTick();
            Assert.True(whole.Wait(5000), "the query completes");
            Assert.Equal(new List<Kv> { new Kv(1, "a"), new Kv(2, "b") }, whole.Result.RowsOf(conn.Kv), "typed rows");
            Assert.Equal(0, conn.Kv.Count, "a one-off query does not fill the cache");
            Assert.Equal(0, whole.Result.RowsOf(conn.Log).Count, "no rows of another table");

            var keys = conn.Query("SELECT key FROM kv");
            conn.FrameTick();
            var projected = new QueryRows();
            projected.Tables.Add(new SingleTableRows { Table = "kv", Rows = BsatnRowList.Of(new[] { new byte[] { 1, 0, 0, 0 } }) });
            server.Deliver(new OneOffQueryResult { RequestId = server.Last<OneOffQuery>().RequestId, Rows = projected });
            conn.FrameTick();
            Assert.True(keys.Wait(5000), "the projection completes");
            Assert.True(keys.Result.Table("kv").Rows == null, "a projection is not decoded as whole rows");
            Assert.Equal("01000000", Assert.Hex(keys.Result.AllRawRows()[0]), "its raw row");
            Assert.Throws<QueryException>(() => keys.Result.RowsOf(conn.Kv), "typed rows of a projection");

            var other = conn.Query("SELECT * FROM mystery");
            conn.FrameTick();
            server.Deliver(new OneOffQueryResult { RequestId = server.Last<OneOffQuery>().RequestId, Rows = FakeTransport.Rows("mystery", new Kv(9, "z")) });
            conn.FrameTick();
            Assert.True(other.Wait(5000) && other.Result.Table("mystery").Rows == null, "a table the bindings do not know stays raw");

            var bad = conn.Query("SELECT nope");
            conn.FrameTick();
            server.Deliver(new OneOffQueryResult { RequestId = server.Last<OneOffQuery>().RequestId, Error = "no such table: nope" });
            conn.FrameTick();
            Assert.Equal("query `SELECT nope` failed: no such table: nope", Fault<QueryException>(bad, "a refused query").Message, "the server's error");
        }
    }
}
