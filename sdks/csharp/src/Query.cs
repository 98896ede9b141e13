// One-off SQL queries' answers and the errors of requests that wait for an answer: a
// QueryResult holds the rows of each table a query returned, decoded as the table's row type
// where the bindings know the table and the query selected whole rows, and always as raw
// BSATN. The server groups rows under a table name even when they are not that table's rows
// (a projection or a COUNT, grouped under the first table), so rows are decoded only for
// `SELECT *` and `SELECT t.*` queries, and only when every row decodes.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Text.RegularExpressions;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB
{
    /// <summary>A procedure call failed: it panicked, returned an error, does not exist, got arguments of the wrong types, or its return value does not decode as the bindings expect.</summary>
    public sealed class ProcedureException : Exception
    {
        /// <summary>The procedure's wire name.</summary>
        public readonly string Procedure;
        /// <summary>The server's (or the decoder's) text.</summary>
        public readonly string Reason;

        /// <summary>Creates the exception.</summary>
        public ProcedureException(string procedure, string reason)
            : base("procedure `" + procedure + "` failed: " + reason)
        {
            Procedure = procedure;
            Reason = reason;
        }
    }

    /// <summary>The server refused or failed a one-off SQL query.</summary>
    public sealed class QueryException : Exception
    {
        /// <summary>The query.</summary>
        public readonly string Sql;
        /// <summary>Why it failed.</summary>
        public readonly string Reason;

        /// <summary>Creates the exception.</summary>
        public QueryException(string sql, string reason) : base("query `" + sql + "` failed: " + reason)
        {
            Sql = sql;
            Reason = reason;
        }
    }

    /// <summary>
    /// The connection dropped (or ended) while a procedure call or a one-off query waited for its
    /// answer: the server may or may not have run it. With a reconnect policy the connection goes
    /// on; only this request is given up.
    /// </summary>
    public sealed class ConnectionLostException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public ConnectionLostException(string message) : base(message) { }
    }

    /// <summary>The rows one one-off query returned under one table name.</summary>
    public sealed class QueryTable
    {
        /// <summary>The table's (or view's) wire name.</summary>
        public readonly string Table;
        /// <summary>Every row's BSATN, in the server's order.</summary>
        public readonly List<byte[]> RawRows;
        /// <summary>The rows decoded as the table's row type (a <c>List&lt;TRow&gt;</c>), or null when they are not whole rows of a table the bindings know.</summary>
        public readonly IList Rows;

        internal QueryTable(string table, List<byte[]> rawRows, IList rows)
        {
            Table = table;
            RawRows = rawRows;
            Rows = rows;
        }
    }

    /// <summary>The answer to <c>conn.Query(sql)</c>.</summary>
    public sealed class QueryResult
    {
        static readonly Regex WholeRows = new Regex(
            "^\\s*select\\s+(?:(?:\"[^\"]+\"|[A-Za-z_][A-Za-z0-9_]*)\\s*\\.\\s*)?\\*\\s+from\\b",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        /// <summary>The query.</summary>
        public readonly string Sql;
        /// <summary>The rows, grouped by table.</summary>
        public readonly List<QueryTable> Tables;

        QueryResult(string sql, List<QueryTable> tables) { Sql = sql; Tables = tables; }

        /// <summary>Whether <paramref name="sql"/> selects whole rows (<c>SELECT *</c> or <c>SELECT t.*</c>), so its rows have their table's row type.</summary>
        public static bool SelectsWholeRows(string sql) { return WholeRows.IsMatch(sql); }

        /// <summary>The rows returned under the table <paramref name="name"/>, or null.</summary>
        public QueryTable Table(string name)
        {
            foreach (var t in Tables) if (t.Table == name) return t;
            return null;
        }

        /// <summary>The rows of <paramref name="table"/> (a handle of the bindings, <c>conn.Db.X</c>), typed; empty if the query returned none of its rows.</summary>
        /// <exception cref="QueryException">If the rows returned under it are not whole rows (a projection or a count): read <see cref="QueryTable.RawRows"/>.</exception>
        public List<TRow> RowsOf<TEventContext, TRow>(RemoteTableHandle<TEventContext, TRow> table) where TRow : class
        {
            var found = Table(table.RemoteTableName);
            if (found == null) return new List<TRow>();
            var rows = found.Rows as List<TRow>;
            if (rows == null)
                throw new QueryException(Sql, "the rows returned under `" + found.Table + "` are not whole rows of it (a projection or a count); read them as raw BSATN from RawRows");
            return rows;
        }

        /// <summary>Every row of every table, as BSATN.</summary>
        public List<byte[]> AllRawRows()
        {
            var all = new List<byte[]>();
            foreach (var t in Tables) all.AddRange(t.RawRows);
            return all;
        }

        /// <summary>Reads a <c>OneOffQueryResult</c>'s rows; <paramref name="handles"/> decode the tables the bindings know.</summary>
        /// <exception cref="ProtocolException">If packed rows do not split.</exception>
        internal static QueryResult Of(string sql, QueryRows rows, IDictionary<string, IRemoteTableHandle> handles)
        {
            bool whole = SelectsWholeRows(sql);
            var tables = new List<QueryTable>();
            foreach (var single in rows.Tables)
            {
                var raw = single.Rows.Rows();
                IRemoteTableHandle handle;
                IList decoded = whole && handles.TryGetValue(single.Table, out handle) ? handle.TryDecodeRows(raw) : null;
                tables.Add(new QueryTable(single.Table, raw, decoded));
            }
            return new QueryResult(sql, tables);
        }
    }
}
