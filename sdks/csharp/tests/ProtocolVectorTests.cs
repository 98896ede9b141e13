// The shared message vectors (protocol/tests/vectors/messages.json, produced by SpacetimeDB
// 2.10.1): each client message built with the SDK's types encodes to exactly the recorded
// bytes; each server message decodes to the values written out here and encodes back to
// the same bytes. Also the compression envelope and row-list splitting.
using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Numerics;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB.Tests
{
    public static class ProtocolVectorTests
    {
        static Dictionary<string, byte[]> Vectors()
        {
            var root = Environment.GetEnvironmentVariable("SPACETIME_REPO") ?? Path.Combine("..", "..");
            var cases = (List<object>)Json.Parse(File.ReadAllText(Path.Combine(root, "protocol/tests/vectors/messages.json")));
            return cases.ToDictionary(c => (string)Json.Get(c, "name"), c => Assert.Unhex((string)Json.Get(c, "bsatn_hex")));
        }

        static readonly Identity TestIdentity = Identity.FromHexString("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
        static readonly ConnectionId TestConnection = ConnectionId.FromHexString("a1a2a3a4a5a6a7a8a9aaabacadaeafb0");
        static readonly Timestamp TestTime = new Timestamp(1700000000123456);

        static List<string> Rows(BsatnRowList list) { return list.Rows().Select(Assert.Hex).ToList(); }

        static void CheckQueryRows(QueryRows rows, string what)
        {
            Assert.Equal(1, rows.Tables.Count, what + " tables");
            Assert.Equal("message", rows.Tables[0].Table, what + " table name");
            Assert.Equal(new List<string> { "010000", "0200" }, Rows(rows.Tables[0].Rows), what + " rows (offsets)");
        }

        static void CheckTransaction(TransactionUpdate u, string what)
        {
            Assert.Equal(1, u.QuerySets.Count, what + " query sets");
            Assert.Equal(7u, u.QuerySets[0].QuerySetId, what + " query set id");
            var tables = u.QuerySets[0].Tables;
            Assert.Equal("user", tables[0].TableName, what + " first table");
            Assert.Equal(false, tables[0].Rows[0].IsEvent, what + " persistent");
            Assert.Equal(new List<string> { "01000000", "02000000" }, Rows(tables[0].Rows[0].Inserts), what + " inserts (fixed size)");
            Assert.Equal(new List<string> { "010000", "0200" }, Rows(tables[0].Rows[0].Deletes), what + " deletes");
            Assert.Equal("ev", tables[1].TableName, what + " event table");
            Assert.Equal(true, tables[1].Rows[0].IsEvent, what + " events");
            Assert.Equal(new List<string> { "01000000", "02000000" }, Rows(tables[1].Rows[0].Inserts), what + " event rows");
        }

        [Test]
        public static void ClientMessagesEncodeToTheVectors()
        {
            var v = Vectors();
            var messages = new Dictionary<string, ClientMessage>
            {
                { "client_subscribe", new Subscribe { RequestId = 1, QuerySetId = 2, QueryStrings = { "SELECT * FROM user", "SELECT * FROM message" } } },
                { "client_unsubscribe_default", new Unsubscribe { RequestId = 3, QuerySetId = 2 } },
                { "client_unsubscribe_send_dropped", new Unsubscribe { RequestId = 4, QuerySetId = 2, SendDroppedRows = true } },
                { "client_one_off_query", new OneOffQuery { RequestId = 5, QueryString = "SELECT 1" } },
                { "client_call_reducer", new CallReducer { RequestId = 6, Reducer = "set_name", Args = new byte[] { 3, 0, 0, 0, (byte)'b', (byte)'o', (byte)'b' } } },
                { "client_call_procedure", new CallProcedure { RequestId = 7, Procedure = "p" } },
            };
            Assert.Equal(5, messages.Values.Select(m => m.Tag).Distinct().Count(), "every client variant");
            foreach (var m in messages) Assert.Equal(Assert.Hex(v[m.Key]), Assert.Hex(m.Value.ToBytes()), m.Key);
        }

        static T Decode<T>(Dictionary<string, byte[]> v, string name) where T : ServerMessage
        {
            var m = ServerMessage.FromBytes(v[name]);
            Assert.Equal(Assert.Hex(v[name]), Assert.Hex(m.ToBytes()), name + " re-encoded");
            Assert.True(m is T, name + " decodes as " + typeof(T).Name + ", not " + m.GetType().Name);
            return (T)m;
        }

        [Test]
        public static void ServerMessagesDecodeFromTheVectors()
        {
            var v = Vectors();
            Assert.Equal(21, v.Count, "the vector file has 21 cases");
            var ic = Decode<InitialConnection>(v, "server_initial_connection");
            Assert.Equal(TestIdentity, ic.Identity, "identity");
            Assert.Equal(TestConnection, ic.ConnectionId, "connection id");
            Assert.Equal("tok", ic.Token, "token");

            var applied = Decode<SubscribeApplied>(v, "server_subscribe_applied");
            Assert.Equal(1u, applied.RequestId, "applied request");
            Assert.Equal(2u, applied.QuerySetId, "applied query set");
            CheckQueryRows(applied.Rows, "applied");

            var unsubRows = Decode<UnsubscribeApplied>(v, "server_unsubscribe_applied_rows");
            Assert.Equal(4u, unsubRows.RequestId, "unsubscribe request");
            CheckQueryRows(unsubRows.Rows, "unsubscribe rows");
            Assert.Equal(null, Decode<UnsubscribeApplied>(v, "server_unsubscribe_applied_none").Rows, "unsubscribe without rows");

            var errRequest = Decode<SubscriptionError>(v, "server_subscription_error_request");
            Assert.Equal((uint?)1, errRequest.RequestId, "error request id");
            Assert.Equal("no such table", errRequest.Error, "error text");
            var errLive = Decode<SubscriptionError>(v, "server_subscription_error_live");
            Assert.Equal((uint?)null, errLive.RequestId, "live error has no request");
            Assert.Equal("bad", errLive.Error, "live error text");

            CheckTransaction(Decode<TransactionUpdateMessage>(v, "server_transaction_update").Update, "transaction");

            CheckQueryRows(Decode<OneOffQueryResult>(v, "server_one_off_ok").Rows, "one-off");
            Assert.Equal("oops", Decode<OneOffQueryResult>(v, "server_one_off_err").Error, "one-off error");

            var ok = Decode<ReducerResult>(v, "server_reducer_ok");
            Assert.Equal(6u, ok.RequestId, "reducer request");
            Assert.Equal(TestTime, ok.Timestamp, "reducer timestamp");
            Assert.Equal((byte)0, ok.Outcome.Kind, "ok");
            CheckTransaction(ok.Outcome.TransactionUpdate, "reducer ok");
            Assert.Equal((byte)1, Decode<ReducerResult>(v, "server_reducer_ok_empty").Outcome.Kind, "ok empty");
            var err = Decode<ReducerResult>(v, "server_reducer_err").Outcome;
            Assert.Equal((byte)2, err.Kind, "err");
            Assert.Equal("Names must not be empty", new BsatnReader(err.ErrValue).ReadString(), "err value");
            var internalError = Decode<ReducerResult>(v, "server_reducer_internal_error").Outcome;
            Assert.Equal("reducer ran out of energy", internalError.InternalError, "internal error");

            var proc = Decode<ProcedureResult>(v, "server_procedure_returned");
            Assert.Equal(new byte[] { 42 }, proc.Returned, "procedure value");
            Assert.Equal(1500L, proc.TotalHostExecutionDuration.Microseconds, "procedure duration");
            Assert.Equal(7u, proc.RequestId, "procedure request is last");
            Assert.Equal("no such procedure", Decode<ProcedureResult>(v, "server_procedure_internal_error").InternalError, "procedure error");
        }

        [Test]
        public static void GzipAndNoneAreReadBrotliIsAClearError()
        {
            var body = new InitialConnection { Identity = TestIdentity, ConnectionId = TestConnection, Token = "t" }.ToBytes();
            var plain = new byte[] { 0 }.Concat(body).ToArray();
            Assert.Equal(Assert.Hex(body), Assert.Hex(CompressionEnvelope.Decompress(plain)), "tag 0 is uncompressed");
            var gz = new MemoryStream();
            gz.WriteByte(2);
            using (var z = new GZipStream(gz, CompressionMode.Compress, true)) z.Write(body, 0, body.Length);
            Assert.Equal(Assert.Hex(body), Assert.Hex(CompressionEnvelope.Decompress(gz.ToArray())), "tag 2 is gzip");
            var e = Assert.Throws<ProtocolException>(() => CompressionEnvelope.Decompress(new byte[] { 1, 0 }), "brotli");
            Assert.True(e.Message.Contains("Compression.Gzip"), "the brotli error names the fix: " + e.Message);
            Assert.Throws<ProtocolException>(() => CompressionEnvelope.Decompress(new byte[] { 9 }), "unknown tag");
            Assert.Throws<ProtocolException>(() => CompressionEnvelope.Decompress(new byte[0]), "empty frame");
        }

        [Test]
        public static void MalformedMessagesAndRowListsAreErrors()
        {
            var e = Assert.Throws<ProtocolException>(() => ServerMessage.FromBytes(new byte[] { 9 }), "unknown tag");
            Assert.True(e.Message.Contains("ServerMessage"), e.Message);
            Assert.Throws<ProtocolException>(() => ServerMessage.FromBytes(new byte[] { 0, 1, 2 }), "truncated");
            var extra = new SubscriptionError { QuerySetId = 1, Error = "x" }.ToBytes().Concat(new byte[] { 0 }).ToArray();
            Assert.Throws<ProtocolException>(() => ServerMessage.FromBytes(extra), "trailing bytes");
            Assert.Throws<ProtocolException>(() => new BsatnRowList(3, new byte[4]).Rows(), "not a whole number of rows");
            Assert.Throws<ProtocolException>(() => new BsatnRowList(new List<ulong> { 0, 9 }, new byte[4]).Rows(), "offset past the end");
            Assert.Equal(new List<string> { "01", "", "0203" }, Rows(BsatnRowList.Of(new[] { new byte[] { 1 }, new byte[0], new byte[] { 2, 3 } })), "offsets round trip");
        }
    }
}
