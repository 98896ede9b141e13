"""The client cache: the rows of this client's subscriptions, one :class:`TableCache` per
table, keyed by each row's BSATN bytes with a reference count.

The server sends bags, not sets: a row matched by two query sets arrives twice. A row
enters the cache (firing ``on_insert``) when its count goes from 0 to 1 and leaves it
(firing ``on_delete``) when the count returns to 0. A whole message is applied first and
reported afterwards as one net diff per table, so callbacks always see the message fully
applied, and a row that leaves and comes back within one message fires nothing. With a
primary key, a delete and an insert of the same key in one message become one update.
The cache also remembers which rows each query set holds, so a query set that ends
without the server listing its rows (an error, or a reconnect) still lets go of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .bsatn import BsatnError, Codec
from .errors import SpacetimeError
from .protocol import EventTableRows, QueryRows, TransactionUpdate, table_updates

R = TypeVar("R")

log = logging.getLogger("spacetime_sdk")


class CacheError(SpacetimeError):
    """The server sent rows this client cannot store: an unknown table, or rows that do not
    decode as the table's row type (the bindings are out of date)."""


@dataclass(frozen=True, slots=True)
class ColumnKey:
    """A column the cache indexes: its field name and its value's codec."""

    field: str
    codec: Codec[Any]

    def of(self, row: Any) -> bytes:
        """The BSATN of this column's value in ``row``."""
        return self.codec.to_bytes(getattr(row, self.field))


@dataclass(frozen=True, slots=True)
class TableInfo:
    """What the cache needs to know of one table: given by the generated bindings."""

    name: str
    codec: Codec[Any]
    primary_key: ColumnKey | None = None
    unique_columns: tuple[ColumnKey, ...] = ()
    is_event: bool = False


@dataclass(slots=True)
class RawChange:
    """The rows one message inserts and deletes in one table, still encoded."""

    inserts: list[bytes] = field(default_factory=list)
    deletes: list[bytes] = field(default_factory=list)
    events: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class TableDiff(Generic[R]):
    """The net change to one table in one message, ready to fire callbacks."""

    table: str
    inserts: list[R] = field(default_factory=list)
    deletes: list[R] = field(default_factory=list)
    updates: list[tuple[R, R]] = field(default_factory=list)

    def is_empty(self) -> bool:
        """Whether nothing changed."""
        return not (self.inserts or self.deletes or self.updates)


@dataclass(slots=True)
class PairedRows(Generic[R]):
    """Inserts, deletes and primary-key updates, each row with its BSATN key."""

    inserts: list[tuple[bytes, R]]
    deletes: list[tuple[bytes, R]]
    updates: list[tuple[tuple[bytes, R], tuple[bytes, R]]]

    def diff(self, table: str) -> TableDiff[R]:
        """The rows alone."""
        return TableDiff(
            table,
            inserts=[r for _, r in self.inserts],
            deletes=[r for _, r in self.deletes],
            updates=[(old[1], new[1]) for old, new in self.updates],
        )


class TableCache(Generic[R]):
    """The cached rows of one table."""

    def __init__(self, info: TableInfo) -> None:
        self.info = info
        self._rows: dict[bytes, list[Any]] = {}  # key -> [row, count]
        self._uniques: dict[str, dict[bytes, bytes]] = {c.field: {} for c in info.unique_columns}

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self) -> Iterator[R]:
        """The cached rows, in no particular order."""
        return (entry[0] for entry in list(self._rows.values()))

    def contains_key(self, key: bytes) -> bool:
        """Whether the row with these BSATN bytes is cached."""
        return key in self._rows

    def find(self, column: str, value_bsatn: bytes) -> R | None:
        """The cached row whose unique ``column`` has the value with these BSATN bytes."""
        index = self._uniques.get(column)
        if index is None:
            raise KeyError(f"table `{self.info.name}` has no unique column `{column}`")
        key = index.get(value_bsatn)
        if key is None:
            return None
        entry = self._rows.get(key)
        return None if entry is None else entry[0]

    def decode(self, data: bytes) -> R:
        """Decodes one row of this table.

        Raises:
            CacheError: if the bytes are not a row of the bindings' row type.
        """
        try:
            row: R = self.info.codec.from_bytes(data)
        except BsatnError as e:
            raise CacheError(
                f"cannot decode a row of table `{self.info.name}`: {e}; the bindings are probably out of date: "
                "re-run `spacetime generate`"
            ) from None
        return row

    def apply(self, change: RawChange) -> TableDiff[R]:
        """Applies one message's inserts and deletes and returns the net diff."""
        if self.info.is_event:
            return TableDiff(self.info.name, inserts=[self.decode(b) for b in change.events])
        before: dict[bytes, bool] = {}
        removed: dict[bytes, R] = {}
        # Inserts first, so a delete and an insert of the same row in one message never
        # sees the row missing.
        for key in change.inserts:
            before.setdefault(key, key in self._rows)
            entry = self._rows.get(key)
            if entry is None:
                self._rows[key] = [self.decode(key), 1]
            else:
                entry[1] += 1
        for key in change.deletes:
            before.setdefault(key, key in self._rows)
            entry = self._rows.get(key)
            if entry is None:
                log.warning("table `%s`: the server deleted a row this client does not have; ignoring it", self.info.name)
            elif entry[1] > 1:
                entry[1] -= 1
            else:
                del self._rows[key]
                removed[key] = entry[0]
        inserts: list[tuple[bytes, R]] = []
        deletes: list[tuple[bytes, R]] = []
        for key, was in before.items():
            now = self._rows.get(key)
            if not was and now is not None:
                inserts.append((key, now[0]))
            elif was and now is None:
                deletes.append((key, removed[key]))
        return self._finish(inserts, deletes)

    def pair(self, inserts: list[tuple[bytes, R]], deletes: list[tuple[bytes, R]]) -> PairedRows[R]:
        """Turns each delete and insert with the same primary key into an update."""
        pk = self.info.primary_key
        if pk is None or not inserts or not deletes:
            return PairedRows(inserts, deletes, [])
        deleted_by_pk = {pk.of(row): i for i, (_, row) in enumerate(deletes)}
        paired: set[int] = set()
        remaining: list[tuple[bytes, R]] = []
        updates: list[tuple[tuple[bytes, R], tuple[bytes, R]]] = []
        for ins in inserts:
            i = deleted_by_pk.pop(pk.of(ins[1]), None)
            if i is None:
                remaining.append(ins)
            else:
                paired.add(i)
                updates.append((deletes[i], ins))
        return PairedRows(remaining, [d for i, d in enumerate(deletes) if i not in paired], updates)

    def _finish(self, inserts: list[tuple[bytes, R]], deletes: list[tuple[bytes, R]]) -> TableDiff[R]:
        rows = self.pair(inserts, deletes)
        for column in self.info.unique_columns:
            index = self._uniques[column.field]
            for _, row in rows.deletes + [old for old, _ in rows.updates]:
                index.pop(column.of(row), None)
            for key, row in rows.inserts + [new for _, new in rows.updates]:
                if index.setdefault(column.of(row), key) != key:
                    log.warning("table `%s`: two cached rows share a value of unique column `%s`", self.info.name, column.field)
                    index[column.of(row)] = key
        return rows.diff(self.info.name)

    def diff_to(self, newer: TableCache[R]) -> TableDiff[R]:
        """The diff that turns this table's rows into ``newer``'s (after a reconnect);
        ``newer``'s indexes are already right, so nothing here changes."""
        deletes = [(k, e[0]) for k, e in self._rows.items() if k not in newer._rows]
        inserts = [(k, e[0]) for k, e in newer._rows.items() if k not in self._rows]
        return self.pair(inserts, deletes).diff(self.info.name)


class Changes:
    """A message's changes, grouped by table in first-mention order."""

    def __init__(self) -> None:
        self.tables: dict[str, RawChange] = {}

    def table(self, name: str) -> RawChange:
        """The change to table ``name``, created empty on first use."""
        change = self.tables.get(name)
        if change is None:
            change = self.tables[name] = RawChange()
        return change


class ClientCache:
    """The local replica of the subscribed rows of every table."""

    def __init__(self, tables: list[TableInfo]) -> None:
        self._tables: dict[str, TableCache[Any]] = {t.name: TableCache(t) for t in tables}
        self._query_sets: dict[int, dict[str, dict[bytes, int]]] = {}

    def table(self, name: str) -> TableCache[Any]:
        """The cache of table ``name``.

        Raises:
            CacheError: if the bindings have no such table.
        """
        table = self._tables.get(name)
        if table is None:
            raise CacheError(
                f"the server sent rows of table `{name}`, which these bindings do not know; re-run `spacetime generate`"
            )
        return table

    def table_names(self) -> list[str]:
        """Every table, in registration order."""
        return list(self._tables)

    def _record(self, qs: int, table: str, key: bytes, insert: bool) -> None:
        rows = self._query_sets.setdefault(qs, {}).setdefault(table, {})
        if insert:
            rows[key] = rows.get(key, 0) + 1
        elif key in rows:
            rows[key] -= 1
            if rows[key] == 0:
                del rows[key]

    def changes_of_update(self, update: TransactionUpdate) -> Changes:
        """The changes of a transaction update, recording each query set's rows."""
        changes = Changes()
        for qs, table_update in table_updates(update):
            name = self.table(table_update.table_name).info.name
            change = changes.table(name)
            for chunk in table_update.rows:
                if isinstance(chunk, EventTableRows):
                    change.events.extend(chunk.events.rows())
                    continue
                for key in chunk.inserts.rows():
                    self._record(qs, name, key, True)
                    change.inserts.append(key)
                for key in chunk.deletes.rows():
                    self._record(qs, name, key, False)
                    change.deletes.append(key)
        return changes

    def changes_of_applied(self, qs: int, rows: QueryRows) -> Changes:
        """The initial rows of a query set, as inserts."""
        changes = Changes()
        self._query_sets.setdefault(qs, {})
        for table_rows in rows.tables:
            name = self.table(table_rows.table).info.name
            change = changes.table(name)
            for key in table_rows.rows.rows():
                self._record(qs, name, key, True)
                change.inserts.append(key)
        return changes

    def changes_of_removed(self, qs: int) -> Changes:
        """Forgets a query set and returns the rows it held, as deletes."""
        changes = Changes()
        for name, rows in self._query_sets.pop(qs, {}).items():
            change = changes.table(name)
            for key, count in rows.items():
                change.deletes.extend([key] * count)
        return changes

    def query_set_rows(self, qs: int) -> dict[str, dict[bytes, int]]:
        """The rows (by bytes, with multiplicity) query set ``qs`` holds in each table."""
        return self._query_sets.get(qs, {})

    def apply(self, changes: Changes) -> list[TableDiff[Any]]:
        """Applies ``changes`` and returns the net diff of each changed table."""
        diffs = []
        for name, change in changes.tables.items():
            diff = self._tables[name].apply(change)
            if not diff.is_empty():
                diffs.append(diff)
        return diffs

    def diff_to(self, newer: ClientCache) -> list[TableDiff[Any]]:
        """The diffs that turn this cache's rows into ``newer``'s, table by table."""
        diffs = []
        for name, table in self._tables.items():
            other = newer._tables.get(name)
            if other is not None:
                diff = table.diff_to(other)
                if not diff.is_empty():
                    diffs.append(diff)
        return diffs


def net_diff(table: TableCache[R], inserted: dict[bytes, int], deleted: dict[bytes, int]) -> TableDiff[R]:
    """The net change of rows gained (``inserted``) and lost (``deleted``), each counted by
    BSATN key, paired into updates by primary key; the cache itself is not touched."""
    net: dict[bytes, int] = {}
    for key, n in inserted.items():
        net[key] = net.get(key, 0) + n
    for key, n in deleted.items():
        net[key] = net.get(key, 0) - n
    if table.info.is_event:
        return TableDiff(table.info.name, inserts=[table.decode(k) for k, n in net.items() for _ in range(n)])
    inserts = [(k, table.decode(k)) for k, n in net.items() if n > 0]
    deletes = [(k, table.decode(k)) for k, n in net.items() if n < 0]
    return table.pair(inserts, deletes).diff(table.info.name)
