// A hand-written module in the shape codegen produces (row classes, table handles, a reducer
// with its event, contexts, DbConnection), and a fake transport that records what the
// connection sends and lets a test play the server. The connection tests run on these.
using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB.Tests
{
    /// <summary>A row: a key (the primary key) and a value (btree-indexed).</summary>
    public sealed class Kv
    {
        public uint Key { get; set; }
        public string Value { get; set; }
        public Kv(uint key, string value) { Key = key; Value = value; }
        public static Kv Read(BsatnReader r) { var k = r.ReadU32(); return new Kv(k, r.ReadString()); }
        public void Write(BsatnWriter w) { w.WriteU32(Key); w.WriteString(Value); }
        public byte[] Bytes() { var w = new BsatnWriter(); Write(w); return w.ToArray(); }
        public override bool Equals(object o) { var k = o as Kv; return k != null && k.Key == Key && k.Value == Value; }
        public override int GetHashCode() { return (int)Key; }
        public override string ToString() { return Key + "=" + Value; }
    }

    public sealed class EventContext
    {
        public readonly TestConnection Conn;
        public readonly Event Event;
        public EventContext(TestConnection conn, Event ev) { Conn = conn; Event = ev; }
    }

    public sealed class ReducerEventContext
    {
        public readonly ReducerEvent Event;
        public ReducerEventContext(ReducerEvent ev) { Event = ev; }
    }

    public sealed class SubscriptionEventContext { }
    public sealed class ErrorContext { public readonly Exception Event; public ErrorContext(Exception e) { Event = e; } }

    public sealed class KvHandle : RemoteTableHandle<EventContext, Kv>
    {
        readonly bool withPrimaryKey;
        public readonly UniqueIndex<Kv, uint> Key;
        public readonly BTreeIndex<Kv, string> Value;

        public KvHandle(TestConnection conn, string name, bool withPrimaryKey) : base(conn, name, ev => new EventContext(conn, ev))
        {
            this.withPrimaryKey = withPrimaryKey;
            Key = MakeUniqueIndex<uint>("key");
            Value = MakeBTreeIndex<string>("value");
        }

        protected override TableCache<Kv> CreateCache()
        {
            var cache = new TableCache<Kv>(RemoteTableName, Kv.Read, RemoteTableName == "ev");
            if (withPrimaryKey) cache.SetPrimaryKey(r => r.Key).AddUniqueIndex("key", r => r.Key);
            return cache.AddBTreeIndex("value", r => r.Value);
        }
    }

    public sealed class PutArgs : IReducerArgs
    {
        public uint Key;
        public string ReducerName { get { return "put"; } }
        public void WriteArgs(BsatnWriter w) { w.WriteU32(Key); }
    }

    public sealed class SubscriptionBuilder : SubscriptionBuilderBase<SubscriptionBuilder, SubscriptionEventContext, ErrorContext>
    {
        public SubscriptionBuilder(TestConnection conn) : base(conn, () => new SubscriptionEventContext(), e => new ErrorContext(e)) { }
    }

    public sealed class TestConnection : DbConnectionBase
    {
        public readonly KvHandle Kv;
        public readonly KvHandle Log;
        public readonly KvHandle Ev;
        public readonly List<string> ReducerEvents = new List<string>();

        public TestConnection()
        {
            Kv = new KvHandle(this, "kv", true);
            Log = new KvHandle(this, "log", false);
            Ev = new KvHandle(this, "ev", false);
        }

        public Task<ReducerEventContext> Put(uint key) { return CallReducer(new PutArgs { Key = key }, ev => new ReducerEventContext(ev)); }

        public Task<uint> Add(uint a, uint b) { return CallProcedure("add", w => { w.WriteU32(a); w.WriteU32(b); }, r => r.ReadU32()); }

        public Task<string> Greet() { return CallProcedure("greet", w => { }, r => r.ReadString()); }

        public Task<string> Echo(string text) { return CallProcedure("echo", w => w.WriteString(text), r => r.ReadString()); }

        public SubscriptionBuilder SubscriptionBuilder() { return new SubscriptionBuilder(this); }

        protected override void InvokeReducer(ReducerEvent ev) { ReducerEvents.Add(ev.Reducer.ReducerName + ":" + ev.Status.Kind); }
    }

    /// <summary>Plays the server: records sent messages, delivers the test's.</summary>
    internal sealed class FakeTransport : ITransport
    {
        public ITransportSink Sink;
        public readonly List<ClientMessage> Sent = new List<ClientMessage>();
        public bool IsShutDown;
        public string Token;

        public void Start(ITransportSink sink) { Sink = sink; }
        public void Send(ClientMessage message) { Sent.Add(message); }
        public void SetToken(string token) { Token = token; }
        public void Shutdown() { IsShutDown = true; }
        public Task Stopped { get { return Task.FromResult(0); } }

        public T Last<T>() where T : ClientMessage
        {
            for (int i = Sent.Count - 1; i >= 0; i--) if (Sent[i] is T) return (T)Sent[i];
            throw new AssertionException("no " + typeof(T).Name + " was sent");
        }

        public void Deliver(ServerMessage m) { Sink.OnMessage(ServerMessage.FromBytes(m.ToBytes())); }

        public static readonly Identity Me = Identity.FromBigInteger(42);

        public void Welcome() { Deliver(new InitialConnection { Identity = Me, ConnectionId = ConnectionId.FromBigInteger(7), Token = "tok" }); }

        public static QueryRows Rows(string table, params Kv[] rows)
        {
            var q = new QueryRows();
            q.Tables.Add(new SingleTableRows { Table = table, Rows = BsatnRowList.Of(Array.ConvertAll(rows, r => r.Bytes())) });
            return q;
        }

        public static TransactionUpdate Update(uint querySet, string table, Kv[] inserts, Kv[] deletes)
        {
            var tu = new TableUpdate { TableName = table };
            tu.Rows.Add(new TableUpdateRows
            {
                IsEvent = table == "ev",
                Inserts = BsatnRowList.Of(Array.ConvertAll(inserts, r => r.Bytes())),
                Deletes = table == "ev" ? null : BsatnRowList.Of(Array.ConvertAll(deletes, r => r.Bytes())),
            });
            var qs = new QuerySetUpdate { QuerySetId = querySet };
            qs.Tables.Add(tu);
            var u = new TransactionUpdate();
            u.QuerySets.Add(qs);
            return u;
        }
    }
}
