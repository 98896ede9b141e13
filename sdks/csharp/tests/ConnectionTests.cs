// The connection against a fake server: callbacks run only in FrameTick, rows are
// reference-counted across overlapping query sets, primary-key changes become updates, the
// caller's row callbacks run before its reducer callbacks, event tables never store rows,
// failed subscriptions drop their rows, and a reconnect resubscribes and reports only the
// rows that really changed.
using System;
using System.Collections.Generic;
using System.Linq;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB.Tests
{
    public static class ConnectionTests
    {
        sealed class Setup
        {
            public TestConnection Conn;
            public FakeTransport Server = new FakeTransport();
            public List<string> Log = new List<string>();
        }

        static Setup Connect(ReconnectPolicy reconnect = null)
        {
            var s = new Setup();
            s.Conn = new DbConnectionBuilder<TestConnection>(() => new TestConnection())
                .WithTransport(() => s.Server)
                .OnConnect((c, id, token) => s.Log.Add("connect " + token))
                .OnConnectError(e => s.Log.Add("connect error " + e.Message))
                .OnDisconnect((c, e) => s.Log.Add("disconnect " + (e == null ? "clean" : e.Message)))
                .OnReconnect((c, id, token) => s.Log.Add("reconnect"))
                .Build();
            foreach (var table in new[] { s.Conn.Kv, s.Conn.Log, s.Conn.Ev })
            {
                var name = table.RemoteTableName;
                table.OnInsert += (ctx, row) => s.Log.Add(string.Format("{0} insert {1} ({2})", name, row, ctx.Event.Kind));
                table.OnDelete += (ctx, row) => s.Log.Add(string.Format("{0} delete {1} ({2})", name, row, ctx.Event.Kind));
                table.OnUpdate += (ctx, a, b) => s.Log.Add(string.Format("{0} update {1} -> {2} ({3})", name, a, b, ctx.Event.Kind));
            }
            s.Server.Welcome();
            s.Conn.FrameTick();
            return s;
        }

        static SubscriptionHandle<SubscriptionEventContext> Subscribe(Setup s, string query, params Kv[] rows)
        {
            var handle = s.Conn.SubscriptionBuilder()
                .OnApplied(ctx => s.Log.Add("applied " + query))
                .OnError((ctx, e) => s.Log.Add("error " + e.Message))
                .Subscribe(query);
            s.Conn.FrameTick();
            var sent = s.Server.Last<Subscribe>();
            Assert.Equal(query, sent.QueryStrings[0], "the subscribe message carries the query");
            var table = query.Substring(query.LastIndexOf(' ') + 1);
            s.Server.Deliver(new SubscribeApplied { RequestId = sent.RequestId, QuerySetId = sent.QuerySetId, Rows = FakeTransport.Rows(table, rows) });
            s.Conn.FrameTick();
            return handle;
        }

        static void Expect(Setup s, params string[] lines)
        {
            Assert.Equal(lines.ToList(), s.Log, "callbacks");
            s.Log.Clear();
        }

        [Test]
        public static void CallbacksRunOnlyInFrameTickAndInitialRowsComeBeforeOnApplied()
        {
            var s = new Setup();
            s.Conn = new DbConnectionBuilder<TestConnection>(() => new TestConnection())
                .WithTransport(() => s.Server).OnConnect((c, id, tok) => s.Log.Add("connect " + id)).Build();
            s.Server.Welcome();
            Assert.Equal(0, s.Log.Count, "nothing runs before FrameTick");
            s.Conn.FrameTick();
            Expect(s, "connect " + FakeTransport.Me);
            Assert.Equal((Identity?)FakeTransport.Me, s.Conn.Identity, "identity");
            Assert.Equal("tok", s.Server.Token, "the transport keeps the server's token for reconnecting");

            s = Connect();
            s.Log.Clear();
            Subscribe(s, "SELECT * FROM kv", new Kv(1, "a"), new Kv(2, "b"));
            Expect(s, "kv insert 1=a (SubscribeApplied)", "kv insert 2=b (SubscribeApplied)", "applied SELECT * FROM kv");
            Assert.Equal(2, s.Conn.Kv.Count, "count");
            Assert.Equal(new Kv(2, "b"), s.Conn.Kv.Key.Find(2), "find by unique column");
            Assert.Equal(null, s.Conn.Kv.Key.Find(3), "find misses");
            Assert.Equal(new List<Kv> { new Kv(1, "a") }, s.Conn.Kv.Value.Filter("a").ToList(), "filter by btree index");
            Assert.Equal(2, s.Conn.Kv.Iter().Count(), "iter");
        }

        [Test]
        public static void OverlappingQuerySetsShareRows()
        {
            var s = Connect();
            s.Log.Clear();
            var first = Subscribe(s, "SELECT * FROM log", new Kv(1, "a"));
            Subscribe(s, "SELECT * FROM log", new Kv(1, "a"), new Kv(2, "b"));
            Expect(s, "log insert 1=a (SubscribeApplied)", "applied SELECT * FROM log", "log insert 2=b (SubscribeApplied)", "applied SELECT * FROM log");
            bool ended = false;
            first.UnsubscribeThen(ctx => ended = true);
            s.Conn.FrameTick();
            var unsub = s.Server.Last<Unsubscribe>();
            Assert.True(unsub.SendDroppedRows, "unsubscribe asks for the dropped rows");
            s.Server.Deliver(new UnsubscribeApplied { RequestId = unsub.RequestId, QuerySetId = unsub.QuerySetId, Rows = FakeTransport.Rows("log", new Kv(1, "a")) });
            s.Conn.FrameTick();
            Expect(s);
            Assert.True(ended && first.IsEnded, "the first subscription ended");
            Assert.Equal(2, s.Conn.Log.Count, "the row is still held by the second set");
            s.Server.Deliver(TransactionUpdateMessage.Of(FakeTransport.Update(2, "log", new Kv[0], new[] { new Kv(1, "a") })));
            s.Conn.FrameTick();
            Expect(s, "log delete 1=a (Transaction)");
        }

        [Test]
        public static void PrimaryKeyChangesAreUpdatesOtherTablesDeleteAndInsert()
        {
            var s = Connect();
            Subscribe(s, "SELECT * FROM kv", new Kv(1, "a"), new Kv(2, "b"));
            Subscribe(s, "SELECT * FROM log", new Kv(1, "a"));
            s.Log.Clear();
            s.Server.Deliver(TransactionUpdateMessage.Of(FakeTransport.Update(1, "kv", new[] { new Kv(1, "z"), new Kv(3, "c") }, new[] { new Kv(1, "a"), new Kv(2, "b") })));
            s.Conn.FrameTick();
            Expect(s, "kv delete 2=b (Transaction)", "kv insert 3=c (Transaction)", "kv update 1=a -> 1=z (Transaction)");
            Assert.Equal(new Kv(1, "z"), s.Conn.Kv.Key.Find(1), "the index follows the update");
            Assert.Equal(0, s.Conn.Kv.Value.Filter("a").Count(), "the old value left the btree index");
            s.Server.Deliver(TransactionUpdateMessage.Of(FakeTransport.Update(2, "log", new[] { new Kv(1, "z") }, new[] { new Kv(1, "a") })));
            s.Conn.FrameTick();
            Expect(s, "log delete 1=a (Transaction)", "log insert 1=z (Transaction)");
            // A row deleted and inserted again in one message changes nothing.
            s.Server.Deliver(TransactionUpdateMessage.Of(FakeTransport.Update(2, "log", new[] { new Kv(1, "z") }, new[] { new Kv(1, "z") })));
            s.Conn.FrameTick();
            Expect(s);
        }

        [Test]
        public static void ReducerRowCallbacksRunBeforeItsReducerCallbacks()
        {
            var s = Connect();
            Subscribe(s, "SELECT * FROM kv");
            s.Log.Clear();
            var task = s.Conn.Put(5);
            Assert.Equal(0, s.Server.Sent.OfType<CallReducer>().Count(), "calls are sent from FrameTick");
            s.Conn.FrameTick();
            var call = s.Server.Last<CallReducer>();
            Assert.Equal("put", call.Reducer, "reducer name");
            Assert.Equal("05000000", Assert.Hex(call.Args), "reducer args");
            var update = FakeTransport.Update(1, "kv", new[] { new Kv(5, "e") }, new Kv[0]);
            s.Server.Deliver(new ReducerResult { RequestId = call.RequestId, Timestamp = new Timestamp(9), Outcome = new ReducerOutcome { Kind = 0, TransactionUpdate = update } });
            s.Conn.Kv.OnInsert += (ctx, row) => s.Log.Add("reducer " + ((PutArgs)ctx.Event.ReducerEvent.Reducer).Key + " saw " + s.Conn.ReducerEvents.Count + " reducer events");
            s.Conn.FrameTick();
            Expect(s, "kv insert 5=e (Reducer)", "reducer 5 saw 0 reducer events");
            Assert.Equal(new List<string> { "put:Committed" }, s.Conn.ReducerEvents, "the reducer's event ran");
            Assert.True(task.Wait(5000), "the call's task completes");
            Assert.Equal(StatusKind.Committed, task.Result.Event.Status.Kind, "committed");
            Assert.Equal(new Timestamp(9), task.Result.Event.Timestamp, "timestamp");
            Assert.Equal(FakeTransport.Me, task.Result.Event.CallerIdentity, "caller");

            var failing = s.Conn.Put(6);
            s.Conn.FrameTick();
            var w = new BsatnWriter();
            w.WriteString("no such key");
            s.Server.Deliver(new ReducerResult { RequestId = s.Server.Last<CallReducer>().RequestId, Timestamp = new Timestamp(10), Outcome = new ReducerOutcome { Kind = 2, ErrValue = w.ToArray() } });
            s.Conn.FrameTick();
            Assert.True(failing.Wait(5000), "the failed call's task completes");
            Assert.Equal(StatusKind.Failed, failing.Result.Event.Status.Kind, "failed");
            Assert.Equal("no such key", failing.Result.Event.Status.Message, "the reducer's error");
        }

        [Test]
        public static void OtherClientsTransactionsAreTransactionsAndEventTablesStoreNothing()
        {
            var s = Connect();
            Subscribe(s, "SELECT * FROM ev");
            s.Log.Clear();
            s.Server.Deliver(TransactionUpdateMessage.Of(FakeTransport.Update(1, "ev", new[] { new Kv(1, "x"), new Kv(1, "x") }, new Kv[0])));
            s.Conn.FrameTick();
            Expect(s, "ev insert 1=x (Transaction)", "ev insert 1=x (Transaction)");
            Assert.Equal(0, s.Conn.Ev.Count, "event rows are never stored");
        }

        [Test]
        public static void SubscriptionErrorsDropTheSetsRows()
        {
            var s = Connect();
            Subscribe(s, "SELECT * FROM log", new Kv(1, "a"));
            s.Log.Clear();
            s.Server.Deliver(new SubscriptionError { QuerySetId = 1, Error = "table dropped" });
            s.Conn.FrameTick();
            Expect(s, "log delete 1=a (SubscribeError)", "error subscription failed: table dropped");
            var bad = s.Conn.SubscriptionBuilder().OnError((ctx, e) => s.Log.Add("rejected: " + ctx.Event.Message)).Subscribe("SELECT * FROM nope");
            s.Conn.FrameTick();
            s.Server.Deliver(new SubscriptionError { RequestId = s.Server.Last<Subscribe>().RequestId, QuerySetId = s.Server.Last<Subscribe>().QuerySetId, Error = "no such table" });
            s.Conn.FrameTick();
            Expect(s, "rejected: subscription failed: no such table");
            Assert.True(bad.IsEnded && !bad.IsActive, "the rejected subscription ended");
        }

        [Test]
        public static void UnsubscribeBeforeSendingCancelsLocally()
        {
            var s = Connect();
            bool ended = false;
            var handle = s.Conn.SubscriptionBuilder().OnApplied(ctx => s.Log.Add("applied")).Subscribe("SELECT * FROM kv");
            handle.UnsubscribeThen(ctx => ended = true);
            s.Conn.FrameTick();
            Assert.True(ended && handle.IsEnded, "cancelled");
            Assert.Equal(0, s.Server.Sent.Count, "nothing was sent");
            Assert.Throws<InvalidOperationException>(() => handle.Unsubscribe(), "a second unsubscribe");
            Assert.Throws<ArgumentException>(() => s.Conn.SubscriptionBuilder().Subscribe(), "no queries");
        }

        [Test]
        public static void SubscribeToAllTablesNamesEveryTable()
        {
            var s = Connect();
            s.Conn.SubscriptionBuilder().SubscribeToAllTables();
            s.Conn.FrameTick();
            Assert.Equal(new List<string> { "SELECT * FROM kv", "SELECT * FROM log", "SELECT * FROM ev" }, s.Server.Last<Subscribe>().QueryStrings, "queries");
        }

        [Test]
        public static void DisconnectEndsCallsAndRunsOnDisconnectOnce()
        {
            var s = Connect();
            s.Log.Clear();
            var call = s.Conn.Put(1);
            s.Conn.FrameTick();
            s.Conn.Disconnect();
            Assert.True(!s.Conn.IsActive, "inactive at once");
            s.Conn.FrameTick();
            Expect(s, "disconnect clean");
            Assert.True(s.Server.IsShutDown, "the transport was told to close");
            Assert.True(call.Wait(5000), "the pending call completes");
            Assert.Equal(StatusKind.InternalError, call.Result.Event.Status.Kind, "as an internal error");
            var late = s.Conn.Put(2);
            Assert.True(late.Wait(5000) && late.Result.Event.Status.Kind == StatusKind.InternalError, "a call after the end fails at once");
            s.Server.Sink.OnClosed(new Exception("late"), false);
            s.Conn.FrameTick();
            Expect(s);
        }

        [Test]
        public static void ClosingBeforeTheServerAnswersIsAConnectError()
        {
            var s = new Setup();
            var log = s.Log;
            s.Conn = new DbConnectionBuilder<TestConnection>(() => new TestConnection())
                .WithTransport(() => s.Server)
                .OnConnectError(e => log.Add("connect error: " + e.Message))
                .OnDisconnect((c, e) => log.Add("disconnect"))
                .Build();
            s.Server.Sink.OnClosed(new SpacetimeException("refused"), false);
            s.Conn.FrameTick();
            Expect(s, "connect error: refused");
        }

        [Test]
        public static void BadRowsEndTheConnectionWithAClearError()
        {
            var s = Connect();
            s.Log.Clear();
            s.Conn.SubscriptionBuilder().Subscribe("SELECT * FROM kv");
            s.Conn.FrameTick();
            var q = new QueryRows();
            q.Tables.Add(new SingleTableRows { Table = "kv", Rows = BsatnRowList.Of(new[] { new byte[] { 1 } }) });
            s.Server.Deliver(new SubscribeApplied { RequestId = 1, QuerySetId = 1, Rows = q });
            s.Conn.FrameTick();
            Assert.True(s.Log.Count == 1 && s.Log[0].Contains("cannot decode a row of table `kv`") && s.Log[0].Contains("spacetime generate"), string.Join("|", s.Log));
            var other = Connect();
            other.Log.Clear();
            other.Server.Deliver(new SubscribeApplied { RequestId = 1, QuerySetId = 1, Rows = FakeTransport.Rows("mystery") });
            other.Conn.FrameTick();
            Assert.True(other.Log.Count == 1 && other.Log[0].Contains("`mystery`"), string.Join("|", other.Log));
        }

        [Test]
        public static void ReconnectResubscribesAndReportsOnlyTheDifferences()
        {
            var s = Connect(new ReconnectPolicy());
            Subscribe(s, "SELECT * FROM log", new Kv(1, "a"), new Kv(2, "b"));
            s.Log.Clear();
            var before = s.Server.Last<Subscribe>();
            s.Server.Sink.OnClosed(new SpacetimeException("network down"), true);
            s.Conn.FrameTick();
            Expect(s);
            var call = s.Conn.Put(3);
            s.Conn.FrameTick();
            Assert.Equal(0, s.Server.Sent.OfType<CallReducer>().Count(), "calls wait while reconnecting");
            s.Server.Welcome();
            s.Conn.FrameTick();
            var again = s.Server.Last<Subscribe>();
            Assert.True(again != before && again.QuerySetId == before.QuerySetId, "the live set was resubscribed with its id");
            s.Server.Deliver(new SubscribeApplied { RequestId = again.RequestId, QuerySetId = again.QuerySetId, Rows = FakeTransport.Rows("log", new Kv(2, "b"), new Kv(3, "c")) });
            s.Conn.FrameTick();
            Expect(s, "log delete 1=a (SubscribeApplied)", "log insert 3=c (SubscribeApplied)", "reconnect");
            Assert.Equal(2, s.Conn.Log.Count, "the fresh cache replaced the old");
            Assert.Equal("put", s.Server.Last<CallReducer>().Reducer, "the waiting call was sent after the resubscription");
            Assert.True(!call.IsCompleted, "and is still waiting for its result");
        }

        [Test]
        public static void FrameTickFromACallbackIsAnError()
        {
            var s = Connect();
            Exception seen = null;
            s.Conn.Kv.OnInsert += (ctx, row) =>
            {
                try { s.Conn.FrameTick(); } catch (InvalidOperationException e) { seen = e; }
            };
            Subscribe(s, "SELECT * FROM kv", new Kv(1, "a"));
            Assert.True(seen != null, "FrameTick inside a callback throws");
        }
    }
}
