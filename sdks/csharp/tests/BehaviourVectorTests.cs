// The shared behaviour vectors of protocol/tests/vectors/, which every SDK reads:
// reconnect.json (the default backoff policy and its delays), subscribe_url.json (the URL
// built from a base URI, a database, compression and confirmed reads) and cache.json (server
// messages played through the connection, with the row events each must fire and the cache
// content after it). Each test checks every case and names each one that fails.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB.Tests
{
    public static class BehaviourVectorTests
    {
        static object Load(string file)
        {
            var root = Environment.GetEnvironmentVariable("SPACETIME_REPO") ?? Path.Combine("..", "..");
            return Json.Parse(File.ReadAllText(Path.Combine(root, "protocol/tests/vectors", file)));
        }

        static List<object> Cases(object file) { return (List<object>)Json.Get(file, "cases"); }

        static bool Has(object obj, string key)
        {
            return ((List<KeyValuePair<string, object>>)obj).Any(kv => kv.Key == key);
        }

        static long Number(object value) { return long.Parse(((JsonNumber)value).Text); }

        /// <summary>Runs <paramref name="check"/> on every case; fails naming each case that failed.</summary>
        static void Each(string file, List<object> cases, Action<object> check)
        {
            Assert.True(cases.Count > 0, file + " has no cases");
            var failures = new List<string>();
            foreach (var c in cases)
            {
                try { check(c); }
                catch (Exception e) { failures.Add((string)Json.Get(c, "name") + ": " + (e is AssertionException ? e.Message : e.ToString())); }
            }
            Assert.True(failures.Count == 0, file + ": " + string.Join("; ", failures));
            Console.WriteLine("     {0}: {1} cases", file, cases.Count);
        }

        static ReconnectPolicy Policy(object spec)
        {
            var max = Json.Get(spec, "max_attempts");
            return new ReconnectPolicy
            {
                InitialDelay = TimeSpan.FromMilliseconds(Number(Json.Get(spec, "initial_delay_ms"))),
                MaxDelay = TimeSpan.FromMilliseconds(Number(Json.Get(spec, "max_delay_ms"))),
                MaxAttempts = max == null ? (int?)null : (int)Number(max),
            };
        }

        [Test]
        public static void ReconnectVectors()
        {
            var file = Load("reconnect.json");
            var shared = Policy(Json.Get(file, "policy"));
            var defaults = new ReconnectPolicy();
            Assert.Equal(shared.InitialDelay, defaults.InitialDelay, "default initial delay");
            Assert.Equal(shared.MaxDelay, defaults.MaxDelay, "default max delay");
            Assert.Equal(shared.MaxAttempts, defaults.MaxAttempts, "default max attempts");
            Each("reconnect.json", Cases(file), c =>
            {
                var policy = Has(c, "policy") ? Policy(Json.Get(c, "policy")) : defaults;
                var delay = policy.Delay(Number(Json.Get(c, "failures")));
                Assert.Equal((double)Number(Json.Get(c, "delay_ms")), delay.TotalMilliseconds, "delay");
            });
        }

        [Test]
        public static void SubscribeUrlVectors()
        {
            Each("subscribe_url.json", Cases(Load("subscribe_url.json")), c =>
            {
                var compression = (Compression)Enum.Parse(typeof(Compression), (string)Json.Get(c, "compression"));
                var confirmed = (bool?)Json.Get(c, "confirmed");
                Func<string> url = () => WebSocketTransport.SubscribeUrl(
                    (string)Json.Get(c, "uri"), (string)Json.Get(c, "database"), compression, confirmed);
                if (Has(c, "error")) Assert.Throws<ArgumentException>(() => url(), "refused");
                else Assert.Equal((string)Json.Get(c, "url"), url(), "url");
            });
        }

        [Test]
        public static void CacheVectors()
        {
            Each("cache.json", Cases(Load("cache.json")), RunCacheCase);
        }

        static void RunCacheCase(object c)
        {
            var tables = (List<KeyValuePair<string, object>>)Json.Get(c, "tables");
            var server = new FakeTransport();
            var conn = new DbConnectionBuilder<VectorConnection>(() => new VectorConnection(tables))
                .WithTransport(() => server).Build();
            server.Welcome();
            conn.FrameTick();
            // Vector query set -> the live subscription standing for it.
            var subscriptions = new Dictionary<long, SubscriptionHandle<object>>();
            int step = 0;
            foreach (var s in (List<object>)Json.Get(c, "steps"))
            {
                conn.Events.Clear();
                Play(conn, server, subscriptions, Json.Get(s, "message"));
                var what = "step " + step++;
                var expected = ((List<object>)Json.Get(s, "events")).Select(EventText).ToList();
                var actual = conn.Events.ToList();
                if (!(Has(s, "ordered") && (bool)Json.Get(s, "ordered")))
                {
                    expected.Sort(StringComparer.Ordinal);
                    actual.Sort(StringComparer.Ordinal);
                }
                Assert.Equal(expected, actual, what + " events");
                foreach (var t in (List<KeyValuePair<string, object>>)Json.Get(s, "cache"))
                {
                    var rows = conn.Tables[t.Key].Iter().Select(r => Assert.Hex(r.Data)).ToList();
                    rows.Sort(StringComparer.Ordinal);
                    Assert.Equal(((List<object>)t.Value).Cast<string>().ToList(), rows, what + " cache of " + t.Key);
                }
            }
        }

        /// <summary>Plays one vector message: subscribes or unsubscribes for real first, so the server's answer matches a live query set.</summary>
        static void Play(VectorConnection conn, FakeTransport server, Dictionary<long, SubscriptionHandle<object>> subscriptions, object message)
        {
            var kind = (string)Json.Get(message, "kind");
            switch (kind)
            {
                case "subscribe_applied":
                {
                    var qs = Number(Json.Get(message, "query_set"));
                    subscriptions[qs] = new VectorSubscriptionBuilder(conn).Subscribe("SELECT * FROM t");
                    conn.FrameTick();
                    var sent = server.Last<Subscribe>();
                    server.Deliver(new SubscribeApplied { RequestId = sent.RequestId, QuerySetId = sent.QuerySetId, Rows = QueryRowsOf(Json.Get(message, "rows")) });
                    break;
                }
                case "unsubscribe_applied":
                {
                    subscriptions[Number(Json.Get(message, "query_set"))].Unsubscribe();
                    conn.FrameTick();
                    var sent = server.Last<Unsubscribe>();
                    server.Deliver(new UnsubscribeApplied { RequestId = sent.RequestId, QuerySetId = sent.QuerySetId, Rows = QueryRowsOf(Json.Get(message, "rows")) });
                    break;
                }
                case "transaction_update":
                {
                    // The vectors' transactions name no query set: attribute them to one no case subscribes.
                    var qs = new QuerySetUpdate { QuerySetId = uint.MaxValue };
                    foreach (var t in (List<KeyValuePair<string, object>>)Json.Get(message, "tables"))
                    {
                        var tu = new TableUpdate { TableName = t.Key };
                        tu.Rows.Add(new TableUpdateRows { Inserts = RowList(Json.Get(t.Value, "inserts")), Deletes = RowList(Json.Get(t.Value, "deletes")) });
                        qs.Tables.Add(tu);
                    }
                    var update = new TransactionUpdate();
                    update.QuerySets.Add(qs);
                    server.Deliver(TransactionUpdateMessage.Of(update));
                    break;
                }
                default:
                    throw new AssertionException("unknown vector message kind `" + kind + "`");
            }
            conn.FrameTick();
        }

        static BsatnRowList RowList(object hexRows)
        {
            return BsatnRowList.Of(((List<object>)hexRows).Select(h => Assert.Unhex((string)h)).ToArray());
        }

        static QueryRows QueryRowsOf(object rows)
        {
            var q = new QueryRows();
            foreach (var t in (List<KeyValuePair<string, object>>)rows) q.Tables.Add(new SingleTableRows { Table = t.Key, Rows = RowList(t.Value) });
            return q;
        }

        static string EventText(object e)
        {
            var kind = (string)Json.Get(e, "event");
            var table = (string)Json.Get(e, "table");
            return kind == "update"
                ? VectorConnection.Event(kind, table, (string)Json.Get(e, "old"), (string)Json.Get(e, "new"))
                : VectorConnection.Event(kind, table, (string)Json.Get(e, "row"), null);
        }
    }

    /// <summary>A vector row: opaque BSATN whose first four bytes are its u32 key.</summary>
    public sealed class VectorRow
    {
        public readonly uint Key;
        public readonly byte[] Data;
        VectorRow(uint key, byte[] data) { Key = key; Data = data; }

        public static VectorRow Read(BsatnReader r)
        {
            var key = r.ReadU32();
            var w = new BsatnWriter();
            w.WriteU32(key);
            w.WriteRaw(r.ReadRaw(r.Remaining));
            return new VectorRow(key, w.ToArray());
        }
    }

    /// <summary>The handle of one vector table; with a primary key, it is the first column.</summary>
    public sealed class VectorTable : RemoteTableHandle<Event, VectorRow>
    {
        readonly bool withPrimaryKey;

        public VectorTable(DbConnectionBase conn, string name, bool withPrimaryKey) : base(conn, name, ev => ev)
        {
            this.withPrimaryKey = withPrimaryKey;
        }

        protected override TableCache<VectorRow> CreateCache()
        {
            var cache = new TableCache<VectorRow>(RemoteTableName, VectorRow.Read, false);
            return withPrimaryKey ? cache.SetPrimaryKey(r => r.Key) : cache;
        }
    }

    public sealed class VectorSubscriptionBuilder : SubscriptionBuilderBase<VectorSubscriptionBuilder, object, object>
    {
        public VectorSubscriptionBuilder(DbConnectionBase conn) : base(conn, () => null, e => null) { }
    }

    /// <summary>A connection with the tables of one cache vector, recording every row event.</summary>
    public sealed class VectorConnection : DbConnectionBase
    {
        public readonly Dictionary<string, VectorTable> Tables = new Dictionary<string, VectorTable>();
        public readonly List<string> Events = new List<string>();

        public VectorConnection(List<KeyValuePair<string, object>> tables)
        {
            foreach (var t in tables)
            {
                var pk = Json.Get(t.Value, "primary_key");
                if (pk != null && ((JsonNumber)pk).Text != "0") throw new AssertionException("vector tables key on their first column");
                var table = new VectorTable(this, t.Key, pk != null);
                var name = t.Key;
                table.OnInsert += (ev, row) => Events.Add(Event("insert", name, Assert.Hex(row.Data), null));
                table.OnDelete += (ev, row) => Events.Add(Event("delete", name, Assert.Hex(row.Data), null));
                table.OnUpdate += (ev, a, b) => Events.Add(Event("update", name, Assert.Hex(a.Data), Assert.Hex(b.Data)));
                Tables[name] = table;
            }
        }

        /// <summary>One event as text, comparable with the vector's.</summary>
        public static string Event(string kind, string table, string row, string newRow)
        {
            return newRow == null ? kind + " " + table + " " + row : kind + " " + table + " " + row + " -> " + newRow;
        }

        protected override void InvokeReducer(ReducerEvent ev) { }
    }
}
