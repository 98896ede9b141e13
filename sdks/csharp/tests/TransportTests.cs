// The subscribe URL the transport connects to, the reconnect backoff, and the builder's
// clear errors for a missing or malformed URI or database.
using System;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB.Tests
{
    public static class TransportTests
    {
        [Test]
        public static void SubscribeUrlsFollowTheServerScheme()
        {
            Assert.Equal("ws://localhost:3000/v1/database/chat/subscribe?compression=Gzip",
                WebSocketTransport.SubscribeUrl("http://localhost:3000", "chat", Compression.Gzip, null), "http");
            Assert.Equal("wss://example.test/base/v1/database/my%20db/subscribe?compression=None&confirmed=false",
                WebSocketTransport.SubscribeUrl("https://example.test/base/", "my db", Compression.None, false), "https, path, escaping, confirmed");
            Assert.Equal("ws://127.0.0.1:9/v1/database/x/subscribe?compression=Gzip&confirmed=true",
                WebSocketTransport.SubscribeUrl("127.0.0.1:9", "x", Compression.Gzip, true), "no scheme means ws");
            var e = Assert.Throws<ArgumentException>(() => WebSocketTransport.SubscribeUrl("ftp://h", "x", Compression.Gzip, null), "ftp");
            Assert.True(e.Message.Contains("use http, https, ws or wss"), e.Message);
            e = Assert.Throws<ArgumentException>(() => WebSocketTransport.SubscribeUrl("http://h?a=b", "x", Compression.Gzip, null), "query");
            Assert.True(e.Message.Contains("query string"), e.Message);
            e = Assert.Throws<ArgumentException>(() => new DbConnectionBuilder<TestConnection>(() => new TestConnection()).WithDatabaseName("x").Build(), "no URI");
            Assert.True(e.Message.Contains("WithUri"), e.Message);
            e = Assert.Throws<ArgumentException>(() => new DbConnectionBuilder<TestConnection>(() => new TestConnection()).WithUri("http://h").Build(), "no database");
            Assert.True(e.Message.Contains("WithDatabaseName"), e.Message);
        }

        [Test]
        public static void BackoffDoublesUpToItsCap()
        {
            var p = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(1) };
            var delays = new double[6];
            for (int i = 0; i < 6; i++) delays[i] = p.Delay(i).TotalMilliseconds;
            Assert.Equal(new[] { 100.0, 200.0, 400.0, 800.0, 1000.0, 1000.0 }, delays, "delays");
            Assert.Equal(1000.0, p.Delay(int.MaxValue).TotalMilliseconds, "no overflow");
        }
    }
}
