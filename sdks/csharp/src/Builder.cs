// The connection builder: DbConnection.Builder() collects the server URI, the database, the
// token, compression, the reconnect policy and the connection callbacks, then builds the
// subscribe URL, a transport for it and the connection.
using System;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB
{
    /// <summary>Configures a connection: <c>DbConnection.Builder()</c>.</summary>
    public sealed class DbConnectionBuilder<TConnection> where TConnection : DbConnectionBase
    {
        readonly Func<TConnection> create;
        string uri;
        string database;
        string token;
        Compression compression = Compression.Gzip;
        bool? confirmed;
        ReconnectPolicy reconnect;
        Action<TConnection, Identity, string> onConnect;
        Action<Exception> onConnectError;
        Action<TConnection, Exception> onDisconnect;
        Action<TConnection, Identity, string> onReconnect;
        Func<ITransport> transport;

        /// <summary>A builder whose <see cref="Build"/> makes connections with <paramref name="create"/>.</summary>
        public DbConnectionBuilder(Func<TConnection> create) { this.create = create; }

        /// <summary>The server's base URI (<c>http://localhost:3000</c>; http, https, ws or wss).</summary>
        public DbConnectionBuilder<TConnection> WithUri(string uri) { this.uri = uri; return this; }
        /// <summary>The database's name or identity.</summary>
        public DbConnectionBuilder<TConnection> WithDatabaseName(string nameOrIdentity) { database = nameOrIdentity; return this; }
        /// <summary>The token of a saved identity; null (the default) connects anonymously with a new identity.</summary>
        public DbConnectionBuilder<TConnection> WithToken(string token) { this.token = token; return this; }
        /// <summary>How the server compresses large messages: Gzip (the default) or None. Brotli cannot be read by this SDK.</summary>
        public DbConnectionBuilder<TConnection> WithCompression(Compression compression) { this.compression = compression; return this; }
        /// <summary>Whether updates wait until transactions are durable (the server's default is true).</summary>
        public DbConnectionBuilder<TConnection> WithConfirmedReads(bool confirmed) { this.confirmed = confirmed; return this; }
        /// <summary>Re-opens a dropped connection as <paramref name="policy"/> says, resubscribing every live subscription.</summary>
        public DbConnectionBuilder<TConnection> WithReconnect(ReconnectPolicy policy) { reconnect = policy; return this; }
        /// <summary>Runs when the server accepts the connection, with the identity and the token to save.</summary>
        public DbConnectionBuilder<TConnection> OnConnect(Action<TConnection, Identity, string> callback) { onConnect = callback; return this; }
        /// <summary>Runs if the connection fails before the server accepts it.</summary>
        public DbConnectionBuilder<TConnection> OnConnectError(Action<Exception> callback) { onConnectError = callback; return this; }
        /// <summary>Runs when an accepted connection ends; the exception is null after <c>Disconnect()</c>.</summary>
        public DbConnectionBuilder<TConnection> OnDisconnect(Action<TConnection, Exception> callback) { onDisconnect = callback; return this; }
        /// <summary>Runs after a reconnect, once every subscription is applied again.</summary>
        public DbConnectionBuilder<TConnection> OnReconnect(Action<TConnection, Identity, string> callback) { onReconnect = callback; return this; }

        internal DbConnectionBuilder<TConnection> WithTransport(Func<ITransport> factory) { transport = factory; return this; }

        /// <summary>Starts connecting; callbacks run from <c>FrameTick()</c>.</summary>
        /// <exception cref="ArgumentException">If the URI or database is missing or malformed.</exception>
        public TConnection Build()
        {
            ITransport t = transport != null
                ? transport()
                : new WebSocketTransport(WebSocketTransport.SubscribeUrl(uri, database, compression, confirmed), token, reconnect);
            var conn = create();
            var connected = onConnect;
            var connectFailed = onConnectError;
            var disconnected = onDisconnect;
            var reconnected = onReconnect;
            if (connected != null) conn.onConnect = (id, tok) => connected(conn, id, tok);
            conn.onConnectError = connectFailed;
            if (disconnected != null) conn.onDisconnect = e => disconnected(conn, e);
            if (reconnected != null) conn.onReconnect = (id, tok) => reconnected(conn, id, tok);
            conn.Start(t);
            return conn;
        }
    }
}
