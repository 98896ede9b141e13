// What generated table handles build on: RemoteTableHandle (Count, Iter, OnInsert/OnDelete/
// OnUpdate events over the client cache) and its index lookups: unique-index Find, btree-index
// Filter, and multi-column btree prefix/range Filter. Each is generic over the generated
// context types, so callbacks receive the module's own EventContext.
using System;
using System.Collections.Generic;

namespace SpacetimeDB
{
    /// <summary>A table handle as the connection sees it.</summary>
    internal interface IRemoteTableHandle
    {
        string RemoteTableName { get; }
        ITableCache NewCache();
        void Invoke(ITableDiff diff, Event ev);
        /// <summary>The rows decoded as this table's row type (a <c>List&lt;TRow&gt;</c>), or null if any does not decode.</summary>
        System.Collections.IList TryDecodeRows(List<byte[]> raw);
    }

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

        System.Collections.IList IRemoteTableHandle.TryDecodeRows(List<byte[]> raw)
        {
            var cache = Cache ?? CreateCache();
            var rows = new List<TRow>(raw.Count);
            foreach (var bytes in raw)
            {
                TRow row;
                if (!cache.TryDecode(bytes, out row)) return null;
                rows.Add(row);
            }
            return rows;
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
}
