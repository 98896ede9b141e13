// What generated code builds on: the table handle (Count, Iter, OnInsert/OnDelete/OnUpdate
// events, unique-index Find, btree-index Filter and multi-column btree prefix/range Filter
// over the cache), the subscription builder
// and handle, and the connection builder. Each is generic over the generated context types,
// so callbacks receive the module's own EventContext, SubscriptionEventContext and so on.
using System;
using System.Collections.Generic;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB
{
    /// <summary>The cached rows of one table and its row events; generated per table.</summary>
    public abstract class RemoteTableHandle<TEventContext, TRow> : IRemoteTableHandle where TRow : class
    {
        readonly DbConnectionBase conn;
        readonly Func<Event, TEventContext> makeContext;

        /// <summary>A row inserted into or deleted from the cache.</summary>
        public delegate void RowEventHandler(TEventContext ctx, TRow row);
        /// <summary>A row replaced by one with the same primary key.</summary>
        public delegate void UpdateEventHandler(TEventContext ctx, TRow oldRow, TRow newRow);

        /// <summary>Fires when a row enters the cache (for event tables: each event).</summary>
        public event RowEventHandler OnInsert;
        /// <summary>Fires when a row leaves the cache.</summary>
        public event RowEventHandler OnDelete;
        /// <summary>Fires when a row is replaced by one with the same primary key (tables with a primary key only).</summary>
        public event UpdateEventHandler OnUpdate;

        /// <summary>Registers the handle of table <paramref name="name"/> with <paramref name="conn"/>.</summary>
        protected RemoteTableHandle(DbConnectionBase conn, string name, Func<Event, TEventContext> makeContext)
        {
            this.conn = conn;
            this.makeContext = makeContext;
            RemoteTableName = name;
            conn.RegisterTable(this);
        }

        /// <summary>The table's wire name.</summary>
        public string RemoteTableName { get; private set; }

        /// <summary>A new, empty cache of this table, with its primary key and indexes declared.</summary>
        protected abstract TableCache<TRow> CreateCache();

        ITableCache IRemoteTableHandle.NewCache() { return CreateCache(); }

        TableCache<TRow> Cache
        {
            get
            {
                var cache = conn.Cache;
                return cache == null ? null : (TableCache<TRow>)cache.Table(RemoteTableName);
            }
        }

        /// <summary>The number of cached rows.</summary>
        public int Count { get { var c = Cache; return c == null ? 0 : c.Count; } }

        /// <summary>The cached rows (a snapshot).</summary>
        public IEnumerable<TRow> Iter()
        {
            var c = Cache;
            return c == null ? new List<TRow>() : new List<TRow>(c.Rows);
        }

        /// <summary>A lookup by the unique column whose index is named <paramref name="index"/>.</summary>
        protected UniqueIndex<TRow, TKey> MakeUniqueIndex<TKey>(string index) { return new UniqueIndex<TRow, TKey>(() => Cache, index); }

        /// <summary>A filter by the btree index named <paramref name="index"/>.</summary>
        protected BTreeIndex<TRow, TKey> MakeBTreeIndex<TKey>(string index) { return new BTreeIndex<TRow, TKey>(() => Cache, index); }

        /// <summary>A prefix filter by a multi-column btree index whose key columns <paramref name="columns"/> reads, in key order.</summary>
        protected BTreePrefixIndex<TRow> MakeBTreePrefixIndex(params Func<TRow, object>[] columns)
        {
            return new BTreePrefixIndex<TRow>(() => { var c = Cache; return c == null ? new TRow[0] : c.Rows; }, columns);
        }

        void IRemoteTableHandle.Invoke(ITableDiff d, Event ev)
        {
            var diff = (TableDiff<TRow>)d;
            var ctx = makeContext(ev);
            foreach (var row in diff.Deletes) Fire(OnDelete, h => h(ctx, row));
            foreach (var row in diff.Inserts) Fire(OnInsert, h => h(ctx, row));
            foreach (var u in diff.Updates) Fire(OnUpdate, h => h(ctx, u.Old, u.New));
        }

        void Fire<THandler>(THandler handlers, Action<THandler> call) where THandler : class
        {
            var d = handlers as Delegate;
            if (d == null) return;
            // One handler that throws must not keep the others from running.
            foreach (var h in d.GetInvocationList())
            {
                try { call((THandler)(object)h); }
                catch (Exception e) { Log.Callback("row (table " + RemoteTableName + ")", e); }
            }
        }
    }

    /// <summary>Finds cached rows by the value of a unique column.</summary>
    public sealed class UniqueIndex<TRow, TKey> where TRow : class
    {
        readonly Func<TableCache<TRow>> cache;
        readonly string index;

        internal UniqueIndex(Func<TableCache<TRow>> cache, string index) { this.cache = cache; this.index = index; }

        /// <summary>The cached row whose column equals <paramref name="value"/>, or null.</summary>
        public TRow Find(TKey value)
        {
            var c = cache();
            if (c == null) return null;
            foreach (var row in c.Lookup(index, value)) return row;
            return null;
        }
    }

    /// <summary>Filters cached rows by the value of a btree-indexed column.</summary>
    public sealed class BTreeIndex<TRow, TKey> where TRow : class
    {
        readonly Func<TableCache<TRow>> cache;
        readonly string index;

        internal BTreeIndex(Func<TableCache<TRow>> cache, string index) { this.cache = cache; this.index = index; }

        /// <summary>The cached rows whose column equals <paramref name="value"/>.</summary>
        public IEnumerable<TRow> Filter(TKey value)
        {
            var c = cache();
            return c == null ? new TRow[0] : c.Lookup(index, value);
        }
    }

    /// <summary>One end of a <see cref="Range{T}"/>.</summary>
    public struct Bound<T> where T : IComparable<T>
    {
        /// <summary>Whether there is a limit at all.</summary>
        public readonly bool IsBounded;
        /// <summary>Whether the limit itself is in the range.</summary>
        public readonly bool IsInclusive;
        /// <summary>The limit, if bounded.</summary>
        public readonly T Value;

        Bound(bool bounded, bool inclusive, T value) { IsBounded = bounded; IsInclusive = inclusive; Value = value; }

        /// <summary>The range includes <paramref name="value"/>.</summary>
        public static Bound<T> Included(T value) { return new Bound<T>(true, true, value); }
        /// <summary>The range stops just short of <paramref name="value"/>.</summary>
        public static Bound<T> Excluded(T value) { return new Bound<T>(true, false, value); }
        /// <summary>No limit on this side.</summary>
        public static Bound<T> Unbounded { get { return new Bound<T>(false, false, default(T)); } }
    }

    /// <summary>
    /// A range of values of the last column given to a multi-column btree index's <c>Filter</c>.
    /// Strings compare ordinally (by UTF-16 code unit), not by culture.
    /// </summary>
    public sealed class Range<T> where T : IComparable<T>
    {
        /// <summary>The lower end.</summary>
        public readonly Bound<T> From;
        /// <summary>The upper end.</summary>
        public readonly Bound<T> To;

        /// <summary>The values between <paramref name="from"/> and <paramref name="to"/>.</summary>
        public Range(Bound<T> from, Bound<T> to) { From = from; To = to; }

        static int Compare(T a, T b)
        {
            var sa = a as string;
            return sa != null ? string.CompareOrdinal(sa, b as string) : a.CompareTo(b);
        }

        /// <summary>Whether <paramref name="value"/> lies within both ends.</summary>
        public bool Contains(T value)
        {
            if (From.IsBounded && Compare(value, From.Value) < (From.IsInclusive ? 0 : 1)) return false;
            if (To.IsBounded && Compare(value, To.Value) > (To.IsInclusive ? 0 : -1)) return false;
            return true;
        }
    }

    /// <summary>
    /// Filters cached rows by a multi-column btree index: by equal values of a prefix of its
    /// columns, optionally followed by a range on the next column. Generated code wraps it in
    /// typed <c>Filter</c> overloads.
    /// </summary>
    public sealed class BTreePrefixIndex<TRow> where TRow : class
    {
        readonly Func<IEnumerable<TRow>> rows;
        readonly Func<TRow, object>[] columns;

        internal BTreePrefixIndex(Func<IEnumerable<TRow>> rows, Func<TRow, object>[] columns) { this.rows = rows; this.columns = columns; }

        void CheckPrefix(int length)
        {
            if (length > columns.Length)
                throw new ArgumentException(string.Format("the index has {0} columns; a prefix of {1} values does not fit it", columns.Length, length));
        }

        bool PrefixMatches(TRow row, object[] equal)
        {
            for (int i = 0; i < equal.Length; i++)
                if (!Equals(columns[i](row), equal[i])) return false;
            return true;
        }

        /// <summary>The cached rows whose first columns equal <paramref name="equal"/>, in key order.</summary>
        /// <exception cref="ArgumentException">If more values than columns are given.</exception>
        public IEnumerable<TRow> Filter(params object[] equal)
        {
            CheckPrefix(equal.Length);
            var found = new List<TRow>();
            foreach (var row in rows()) if (PrefixMatches(row, equal)) found.Add(row);
            return found;
        }

        /// <summary>
        /// The cached rows whose first columns equal <paramref name="equal"/> and whose next column
        /// lies in <paramref name="last"/>.
        /// </summary>
        /// <exception cref="ArgumentException">If the values and the range do not fit the columns.</exception>
        public IEnumerable<TRow> FilterRange<T>(Range<T> last, params object[] equal) where T : IComparable<T>
        {
            CheckPrefix(equal.Length + 1);
            var column = columns[equal.Length];
            var found = new List<TRow>();
            foreach (var row in rows()) if (PrefixMatches(row, equal) && last.Contains((T)column(row))) found.Add(row);
            return found;
        }
    }

    /// <summary>A started subscription: watch it, or end it.</summary>
    public sealed class SubscriptionHandle<TSubscriptionContext>
    {
        readonly DbConnectionBase conn;
        readonly SubState state;
        readonly Func<TSubscriptionContext> makeContext;

        internal SubscriptionHandle(DbConnectionBase conn, SubState state, Func<TSubscriptionContext> makeContext)
        {
            this.conn = conn;
            this.state = state;
            this.makeContext = makeContext;
        }

        /// <summary>Whether the subscription is applied and not being ended.</summary>
        public bool IsActive { get { return state.Status == SubStatus.Applied && !state.UnsubscribeCalled; } }
        /// <summary>Whether the subscription has ended (unsubscribed or failed).</summary>
        public bool IsEnded { get { return state.Status == SubStatus.Ended || state.Status == SubStatus.Errored; } }
        /// <summary>The subscription's queries.</summary>
        public IList<string> Queries { get { return state.Queries.AsReadOnly(); } }

        /// <summary>Ends the subscription; its rows leave the cache.</summary>
        /// <exception cref="InvalidOperationException">If it was already ended or being ended.</exception>
        public void Unsubscribe() { UnsubscribeThen(null); }

        /// <summary>Ends the subscription; <paramref name="onEnded"/> runs once its rows have left the cache.</summary>
        /// <exception cref="InvalidOperationException">If it was already ended or being ended.</exception>
        public void UnsubscribeThen(Action<TSubscriptionContext> onEnded)
        {
            if (state.UnsubscribeCalled || IsEnded)
                throw new InvalidOperationException("the subscription was already ended (Unsubscribe called twice, or it failed)");
            state.UnsubscribeCalled = true;
            if (onEnded != null) state.OnEnded = () => onEnded(makeContext());
            conn.RequestUnsubscribe(state);
        }
    }

    /// <summary>Configures and starts a subscription; generated as <c>SubscriptionBuilder</c>.</summary>
    public abstract class SubscriptionBuilderBase<TSelf, TSubscriptionContext, TErrorContext>
        where TSelf : SubscriptionBuilderBase<TSelf, TSubscriptionContext, TErrorContext>
    {
        readonly DbConnectionBase conn;
        readonly Func<TSubscriptionContext> makeContext;
        readonly Func<Exception, TErrorContext> makeErrorContext;
        Action<TSubscriptionContext> onApplied;
        Action<TErrorContext, Exception> onError;

        /// <summary>A builder for <paramref name="conn"/> whose callbacks get contexts from the factories.</summary>
        protected SubscriptionBuilderBase(DbConnectionBase conn, Func<TSubscriptionContext> makeContext, Func<Exception, TErrorContext> makeErrorContext)
        {
            this.conn = conn;
            this.makeContext = makeContext;
            this.makeErrorContext = makeErrorContext;
        }

        /// <summary>Runs <paramref name="callback"/> once the initial rows are in the cache (after their OnInsert events).</summary>
        public TSelf OnApplied(Action<TSubscriptionContext> callback) { onApplied = callback; return (TSelf)this; }

        /// <summary>Runs <paramref name="callback"/> if the server rejects the queries, or the live subscription later fails (its rows are removed first).</summary>
        public TSelf OnError(Action<TErrorContext, Exception> callback) { onError = callback; return (TSelf)this; }

        /// <summary>Subscribes to <paramref name="queries"/> (SQL <c>SELECT</c>s) as one query set.</summary>
        public SubscriptionHandle<TSubscriptionContext> Subscribe(params string[] queries)
        {
            if (queries == null || queries.Length == 0) throw new ArgumentException("Subscribe needs at least one query, e.g. \"SELECT * FROM user\"");
            var applied = onApplied;
            var failed = onError;
            var state = conn.NewSubscription(
                new List<string>(queries),
                applied == null ? (Action)null : () => applied(makeContext()),
                failed == null ? (Action<Exception>)null : e => failed(makeErrorContext(e), e));
            return new SubscriptionHandle<TSubscriptionContext>(conn, state, makeContext);
        }

        /// <summary>Subscribes to every row of every table in the bindings (<c>SELECT * FROM t</c> each).</summary>
        public SubscriptionHandle<TSubscriptionContext> SubscribeToAllTables()
        {
            var queries = new List<string>();
            foreach (var t in conn.TableNames) queries.Add("SELECT * FROM " + t);
            return Subscribe(queries.ToArray());
        }
    }

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
