// The client cache: the rows of the client's subscriptions, one TableCache per table, keyed
// by each row's BSATN bytes with a reference count.
//
// The server sends bags, not sets: a row matched by two query sets arrives twice. A row enters
// the cache (firing OnInsert) when its count goes from 0 to 1 and leaves it (firing OnDelete)
// when the count returns to 0. Everything one message changes is applied first and reported
// afterwards as one net diff per table, so callbacks see the whole message applied, and a row
// that leaves and comes back within one message fires nothing. For tables with a primary key
// a delete and an insert of the same key in one message become one update. The cache also
// remembers which rows each query set holds, so a set that ends without the server listing
// its rows (an error, or a reconnect) still lets go of them.
using System;
using System.Collections.Generic;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB
{
    /// <summary>The rows one message inserts and deletes in one table, still encoded.</summary>
    internal sealed class RawChange
    {
        public readonly List<byte[]> Inserts = new List<byte[]>();
        public readonly List<byte[]> Deletes = new List<byte[]>();
        public readonly List<byte[]> Events = new List<byte[]>();
    }

    /// <summary>A message's changes, grouped by table in first-mention order.</summary>
    internal sealed class Changes
    {
        public readonly List<KeyValuePair<string, RawChange>> Tables = new List<KeyValuePair<string, RawChange>>();

        public RawChange Table(string name)
        {
            foreach (var t in Tables) if (t.Key == name) return t.Value;
            var change = new RawChange();
            Tables.Add(new KeyValuePair<string, RawChange>(name, change));
            return change;
        }
    }

    /// <summary>A row replaced by another with the same primary key.</summary>
    public struct RowUpdate<TRow>
    {
        /// <summary>The row before.</summary>
        public readonly TRow Old;
        /// <summary>The row after.</summary>
        public readonly TRow New;
        /// <summary>Pairs two rows.</summary>
        public RowUpdate(TRow oldRow, TRow newRow) { Old = oldRow; New = newRow; }
    }

    /// <summary>A table diff of any row type.</summary>
    internal interface ITableDiff
    {
        string Table { get; }
        bool IsEmpty { get; }
    }

    /// <summary>The net change to one table in one message.</summary>
    public sealed class TableDiff<TRow> : ITableDiff
    {
        /// <summary>The table's wire name.</summary>
        public string Table { get; internal set; }
        /// <summary>Rows that entered the cache.</summary>
        public readonly List<TRow> Inserts = new List<TRow>();
        /// <summary>Rows that left the cache.</summary>
        public readonly List<TRow> Deletes = new List<TRow>();
        /// <summary>Rows replaced by a row with the same primary key.</summary>
        public readonly List<RowUpdate<TRow>> Updates = new List<RowUpdate<TRow>>();
        /// <summary>Whether nothing changed.</summary>
        public bool IsEmpty { get { return Inserts.Count == 0 && Deletes.Count == 0 && Updates.Count == 0; } }
    }

    /// <summary>A table cache of any row type.</summary>
    internal interface ITableCache
    {
        string Name { get; }
        int Count { get; }
        ITableDiff Apply(RawChange change);
        ITableDiff DiffTo(ITableCache newer);
        ITableCache Fresh();
    }

    /// <summary>The cached rows of one table, with its primary key and indexes.</summary>
    public sealed class TableCache<TRow> : ITableCache where TRow : class
    {
        sealed class Entry
        {
            public TRow Row;
            public int Count;
        }

        sealed class Index
        {
            public string Name;
            public bool Unique;
            public Func<TRow, object> Key;
            public Dictionary<object, Dictionary<byte[], TRow>> Rows = new Dictionary<object, Dictionary<byte[], TRow>>(ValueEq.Comparer.Instance);
        }

        readonly Func<BsatnReader, TRow> read;
        readonly bool isEvent;
        readonly Dictionary<byte[], Entry> rows = new Dictionary<byte[], Entry>(ByteArrayComparer.Instance);
        readonly List<Index> indexes = new List<Index>();
        Func<TRow, object> primaryKey;

        /// <summary>An empty cache of the table <paramref name="name"/>, whose rows <paramref name="read"/> decodes.</summary>
        public TableCache(string name, Func<BsatnReader, TRow> read, bool isEvent)
        {
            Name = name;
            this.read = read;
            this.isEvent = isEvent;
        }

        /// <summary>The table's wire name.</summary>
        public string Name { get; private set; }

        /// <summary>The number of cached rows (always 0 for an event table).</summary>
        public int Count { get { return rows.Count; } }

        /// <summary>The cached rows.</summary>
        public IEnumerable<TRow> Rows { get { foreach (var e in rows.Values) yield return e.Row; } }

        /// <summary>Declares the primary key: deletes and inserts of one key in one message become updates.</summary>
        public TableCache<TRow> SetPrimaryKey(Func<TRow, object> key) { primaryKey = key; return this; }

        /// <summary>Declares a unique column, so rows can be found by it.</summary>
        public TableCache<TRow> AddUniqueIndex(string name, Func<TRow, object> key)
        {
            indexes.Add(new Index { Name = name, Unique = true, Key = key });
            return this;
        }

        /// <summary>Declares a btree index, so rows can be filtered by it.</summary>
        public TableCache<TRow> AddBTreeIndex(string name, Func<TRow, object> key)
        {
            indexes.Add(new Index { Name = name, Unique = false, Key = key });
            return this;
        }

        /// <summary>The rows whose indexed value equals <paramref name="key"/> in the index <paramref name="index"/>.</summary>
        public IEnumerable<TRow> Lookup(string index, object key)
        {
            var ix = indexes.Find(i => i.Name == index);
            if (ix == null) throw new ArgumentException(string.Format("table `{0}` has no index `{1}`", Name, index));
            Dictionary<byte[], TRow> matches;
            if (!ix.Rows.TryGetValue(key, out matches)) return new TRow[0];
            return new List<TRow>(matches.Values);
        }

        /// <summary>An empty cache with the same key and indexes, for a resubscription.</summary>
        ITableCache ITableCache.Fresh()
        {
            var fresh = new TableCache<TRow>(Name, read, isEvent) { primaryKey = primaryKey };
            foreach (var ix in indexes) fresh.indexes.Add(new Index { Name = ix.Name, Unique = ix.Unique, Key = ix.Key });
            return fresh;
        }

        /// <summary>Decodes one row; false if <paramref name="bytes"/> is not exactly one row of this table.</summary>
        internal bool TryDecode(byte[] bytes, out TRow row)
        {
            try
            {
                var r = new BsatnReader(bytes);
                row = read(r);
                r.EnsureEnd("a row of table `" + Name + "`");
                return true;
            }
            catch (BsatnException)
            {
                row = null;
                return false;
            }
        }

        TRow Decode(byte[] bytes)
        {
            try
            {
                var r = new BsatnReader(bytes);
                var row = read(r);
                r.EnsureEnd("a row of table `" + Name + "`");
                return row;
            }
            catch (BsatnException e)
            {
                throw new SpacetimeException(string.Format(
                    "cannot decode a row of table `{0}` as {1} ({2}); the bindings are probably out of date: re-run `spacetime generate`",
                    Name, typeof(TRow).Name, e.Message), e);
            }
        }

        ITableDiff ITableCache.Apply(RawChange change) { return Apply(change); }

        /// <summary>Applies one message's inserts and deletes and returns the net diff.</summary>
        internal TableDiff<TRow> Apply(RawChange change)
        {
            var diff = new TableDiff<TRow> { Table = Name };
            if (isEvent)
            {
                foreach (var b in change.Events) diff.Inserts.Add(Decode(b));
                return diff;
            }
            // Whether each touched row was present before the message, in first-touch order.
            var touched = new List<KeyValuePair<byte[], bool>>();
            var seen = new HashSet<byte[]>(ByteArrayComparer.Instance);
            var removed = new Dictionary<byte[], TRow>(ByteArrayComparer.Instance);
            // Inserts first, so a delete and an insert of one row in one message never sees it missing.
            foreach (var key in change.Inserts)
            {
                if (seen.Add(key)) touched.Add(new KeyValuePair<byte[], bool>(key, rows.ContainsKey(key)));
                Entry e;
                if (rows.TryGetValue(key, out e)) e.Count++;
                else rows[key] = new Entry { Row = Decode(key), Count = 1 };
            }
            foreach (var key in change.Deletes)
            {
                if (seen.Add(key)) touched.Add(new KeyValuePair<byte[], bool>(key, rows.ContainsKey(key)));
                Entry e;
                if (!rows.TryGetValue(key, out e))
                {
                    Log.Warn(string.Format("table `{0}`: the server deleted a row this client does not have; ignoring it", Name));
                    continue;
                }
                if (e.Count > 1) { e.Count--; continue; }
                rows.Remove(key);
                removed[key] = e.Row;
            }
            var inserts = new List<KeyValuePair<byte[], TRow>>();
            var deletes = new List<KeyValuePair<byte[], TRow>>();
            foreach (var t in touched)
            {
                Entry now;
                bool present = rows.TryGetValue(t.Key, out now);
                if (!t.Value && present) inserts.Add(new KeyValuePair<byte[], TRow>(t.Key, now.Row));
                else if (t.Value && !present) deletes.Add(new KeyValuePair<byte[], TRow>(t.Key, removed[t.Key]));
            }
            return Finish(inserts, deletes, true);
        }

        /// <summary>Pairs deletes with inserts by primary key and, when <paramref name="index"/>, updates the indexes.</summary>
        TableDiff<TRow> Finish(List<KeyValuePair<byte[], TRow>> inserts, List<KeyValuePair<byte[], TRow>> deletes, bool index)
        {
            var diff = new TableDiff<TRow> { Table = Name };
            if (index)
            {
                foreach (var ix in indexes)
                {
                    foreach (var d in deletes) Unindex(ix, d.Key, d.Value);
                    foreach (var i in inserts) IndexRow(ix, i.Key, i.Value);
                }
            }
            if (primaryKey == null || inserts.Count == 0 || deletes.Count == 0)
            {
                foreach (var d in deletes) diff.Deletes.Add(d.Value);
                foreach (var i in inserts) diff.Inserts.Add(i.Value);
                return diff;
            }
            var deletedByKey = new Dictionary<object, int>(ValueEq.Comparer.Instance);
            for (int k = 0; k < deletes.Count; k++) deletedByKey[primaryKey(deletes[k].Value)] = k;
            var paired = new bool[deletes.Count];
            foreach (var i in inserts)
            {
                int k;
                var key = primaryKey(i.Value);
                if (deletedByKey.TryGetValue(key, out k))
                {
                    deletedByKey.Remove(key);
                    paired[k] = true;
                    diff.Updates.Add(new RowUpdate<TRow>(deletes[k].Value, i.Value));
                }
                else diff.Inserts.Add(i.Value);
            }
            for (int k = 0; k < deletes.Count; k++) if (!paired[k]) diff.Deletes.Add(deletes[k].Value);
            return diff;
        }

        void IndexRow(Index ix, byte[] key, TRow row)
        {
            var value = ix.Key(row);
            Dictionary<byte[], TRow> bucket;
            if (!ix.Rows.TryGetValue(value, out bucket)) ix.Rows[value] = bucket = new Dictionary<byte[], TRow>(ByteArrayComparer.Instance);
            else if (ix.Unique && bucket.Count > 0)
                Log.Warn(string.Format("table `{0}`: two cached rows share a value of unique column `{1}`", Name, ix.Name));
            bucket[key] = row;
        }

        void Unindex(Index ix, byte[] key, TRow row)
        {
            var value = ix.Key(row);
            Dictionary<byte[], TRow> bucket;
            if (!ix.Rows.TryGetValue(value, out bucket)) return;
            bucket.Remove(key);
            if (bucket.Count == 0) ix.Rows.Remove(value);
        }

        /// <summary>The diff that turns this table's rows into <paramref name="newer"/>'s (after a reconnect).</summary>
        ITableDiff ITableCache.DiffTo(ITableCache newer)
        {
            var other = (TableCache<TRow>)newer;
            var deletes = new List<KeyValuePair<byte[], TRow>>();
            var inserts = new List<KeyValuePair<byte[], TRow>>();
            foreach (var kv in rows) if (!other.rows.ContainsKey(kv.Key)) deletes.Add(new KeyValuePair<byte[], TRow>(kv.Key, kv.Value.Row));
            foreach (var kv in other.rows) if (!rows.ContainsKey(kv.Key)) inserts.Add(new KeyValuePair<byte[], TRow>(kv.Key, kv.Value.Row));
            return Finish(inserts, deletes, false);
        }
    }

    /// <summary>The local replica of the subscribed rows of every table.</summary>
    internal sealed class ClientCache
    {
        readonly Dictionary<string, ITableCache> tables = new Dictionary<string, ITableCache>();
        readonly List<string> order = new List<string>();
        /// <summary>Which rows (by bytes, with multiplicity) each query set holds in each table.</summary>
        readonly Dictionary<uint, Dictionary<string, Dictionary<byte[], int>>> querySets =
            new Dictionary<uint, Dictionary<string, Dictionary<byte[], int>>>();

        public ClientCache(IEnumerable<ITableCache> caches)
        {
            foreach (var c in caches)
            {
                if (tables.ContainsKey(c.Name)) throw new ArgumentException("table `" + c.Name + "` registered twice");
                tables[c.Name] = c;
                order.Add(c.Name);
            }
        }

        public IEnumerable<string> TableNames { get { return order; } }

        public ITableCache Table(string name)
        {
            ITableCache t;
            return tables.TryGetValue(name, out t) ? t : null;
        }

        /// <summary>An empty cache with the same tables.</summary>
        public ClientCache Fresh()
        {
            var list = new List<ITableCache>();
            foreach (var name in order) list.Add(tables[name].Fresh());
            return new ClientCache(list);
        }

        string Known(string name)
        {
            if (!tables.ContainsKey(name))
                throw new SpacetimeException(string.Format("the server sent rows of table `{0}`, which these bindings do not know; re-run `spacetime generate`", name));
            return name;
        }

        void Record(uint qs, string table, byte[] key, bool insert)
        {
            Dictionary<string, Dictionary<byte[], int>> set;
            if (!querySets.TryGetValue(qs, out set)) querySets[qs] = set = new Dictionary<string, Dictionary<byte[], int>>();
            Dictionary<byte[], int> rows;
            if (!set.TryGetValue(table, out rows)) set[table] = rows = new Dictionary<byte[], int>(ByteArrayComparer.Instance);
            int count;
            rows.TryGetValue(key, out count);
            if (insert) rows[key] = count + 1;
            else if (count > 1) rows[key] = count - 1;
            else rows.Remove(key);
        }

        /// <summary>The changes of a transaction update, recording each query set's rows.</summary>
        public Changes ChangesOfUpdate(TransactionUpdate update)
        {
            var changes = new Changes();
            foreach (var qs in update.QuerySets)
            {
                foreach (var tu in qs.Tables)
                {
                    var name = Known(tu.TableName);
                    var change = changes.Table(name);
                    foreach (var chunk in tu.Rows)
                    {
                        if (chunk.IsEvent) { change.Events.AddRange(chunk.Inserts.Rows()); continue; }
                        foreach (var key in chunk.Inserts.Rows()) { Record(qs.QuerySetId, name, key, true); change.Inserts.Add(key); }
                        foreach (var key in chunk.Deletes.Rows()) { Record(qs.QuerySetId, name, key, false); change.Deletes.Add(key); }
                    }
                }
            }
            return changes;
        }

        /// <summary>The initial rows of a query set, as inserts.</summary>
        public Changes ChangesOfApplied(uint qs, QueryRows rows)
        {
            var changes = new Changes();
            if (!querySets.ContainsKey(qs)) querySets[qs] = new Dictionary<string, Dictionary<byte[], int>>();
            foreach (var t in rows.Tables)
            {
                var name = Known(t.Table);
                var change = changes.Table(name);
                foreach (var key in t.Rows.Rows()) { Record(qs, name, key, true); change.Inserts.Add(key); }
            }
            return changes;
        }

        /// <summary>Forgets a query set and returns the rows it held, as deletes.</summary>
        public Changes ChangesOfRemoved(uint qs)
        {
            var changes = new Changes();
            Dictionary<string, Dictionary<byte[], int>> set;
            if (!querySets.TryGetValue(qs, out set)) return changes;
            querySets.Remove(qs);
            foreach (var t in set)
            {
                var change = changes.Table(t.Key);
                foreach (var row in t.Value) for (int i = 0; i < row.Value; i++) change.Deletes.Add(row.Key);
            }
            return changes;
        }

        /// <summary>Applies <paramref name="changes"/> and returns the net diff of each changed table.</summary>
        public List<ITableDiff> Apply(Changes changes)
        {
            var diffs = new List<ITableDiff>();
            foreach (var t in changes.Tables)
            {
                var diff = tables[t.Key].Apply(t.Value);
                if (!diff.IsEmpty) diffs.Add(diff);
            }
            return diffs;
        }

        /// <summary>The diffs that turn this cache's rows into <paramref name="newer"/>'s, table by table.</summary>
        public List<ITableDiff> DiffTo(ClientCache newer)
        {
            var diffs = new List<ITableDiff>();
            foreach (var name in order)
            {
                var other = newer.Table(name);
                if (other == null) continue;
                var diff = tables[name].DiffTo(other);
                if (!diff.IsEmpty) diffs.Add(diff);
            }
            return diffs;
        }
    }
}
