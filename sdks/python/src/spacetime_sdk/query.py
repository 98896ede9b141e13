"""One-off SQL queries' answers: :class:`QueryResult`, the rows of each table a query
returned, decoded as the table's row type where this client knows the table and the
query selected whole rows, and always available as raw BSATN.

The server groups a one-off query's rows under a table name even when they are not that
table's rows (a projection such as ``SELECT name FROM user`` or a ``COUNT(*)``, grouped
under the first table), so rows are decoded only for ``SELECT *`` and ``SELECT t.*``
queries, and only if every row decodes; otherwise only the raw rows are given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .bsatn import BsatnError
from .cache import TableInfo
from .errors import QueryError
from .protocol import ProtocolError, QueryRows

if TYPE_CHECKING:
    from .table import EventTableHandle

R = TypeVar("R")

_WHOLE_ROWS = re.compile(r'^\s*select\s+(?:(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_]*)\s*\.\s*)?\*\s+from\b', re.IGNORECASE)


def selects_whole_rows(sql: str) -> bool:
    """Whether ``sql`` selects whole rows (``SELECT * FROM …`` or ``SELECT t.* FROM …``),
    so the rows it returns have their table's row type."""
    return _WHOLE_ROWS.match(sql) is not None


@dataclass(frozen=True, slots=True)
class QueryTable:
    """The rows one one-off query returned under one table name."""

    table: str
    """The table's (or view's) wire name."""
    raw_rows: list[bytes]
    """Every row's BSATN, in the server's order."""
    rows: list[Any] | None
    """The rows decoded as the table's row type, or ``None`` when they are not whole rows of
    a table the bindings know."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The answer to ``await conn.query(sql)``."""

    sql: str
    """The query."""
    tables: list[QueryTable]
    """The rows, grouped by table."""

    def table(self, name: str) -> QueryTable | None:
        """The rows returned under the table ``name``, if any."""
        return next((t for t in self.tables if t.table == name), None)

    def rows_of(self, table: EventTableHandle[R, Any]) -> list[R]:
        """The rows of ``table`` (a handle of the bindings, ``conn.db.<table>``), typed;
        empty if the query returned none of its rows.

        Raises:
            QueryError: if the rows returned under it are not whole rows (a projection
                or a count): read them from :attr:`QueryTable.raw_rows`.
        """
        found = self.table(table.table_name)
        if found is None:
            return []
        if found.rows is None:
            raise QueryError(
                self.sql,
                f"the rows returned under `{found.table}` are not whole rows of it (a projection or a count); "
                "read them as raw BSATN from `raw_rows`",
            )
        rows: list[R] = found.rows
        return rows

    def raw_rows(self) -> list[bytes]:
        """Every row of every table, as BSATN."""
        return [row for t in self.tables for row in t.raw_rows]


def decode_query_rows(sql: str, rows: QueryRows, tables: Mapping[str, TableInfo]) -> QueryResult:
    """Reads the rows of a ``OneOffQueryResult``, decoding those of known tables.

    Raises:
        ProtocolError: if the packed rows do not split.
    """
    whole = selects_whole_rows(sql)
    out = []
    for single in rows.tables:
        try:
            raw = single.rows.rows()
        except ProtocolError as e:
            raise ProtocolError(f"the rows of `{single.table}` in a one-off query result: {e}") from None
        info = tables.get(single.table)
        decoded: list[Any] | None = None
        if whole and info is not None:
            try:
                decoded = [info.codec.from_bytes(r) for r in raw]
            except BsatnError:
                decoded = None
        out.append(QueryTable(single.table, raw, decoded))
    return QueryResult(sql, out)
