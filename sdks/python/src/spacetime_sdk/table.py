"""Table handles: the typed view of one table of the client cache (``conn.db.<table>``),
with its row callbacks, and :class:`UniqueIndex` for ``find`` by a unique column.

Generated bindings subclass these per table, fixing the row type and adding a property
per unique column."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .bsatn import Codec

if TYPE_CHECKING:
    from .connection import ConnectionImpl

R = TypeVar("R")
K = TypeVar("K")
CtxT = TypeVar("CtxT")


class CallbackId(int):
    """Identifies a registered callback, to remove it later."""


class EventTableHandle(Generic[R, CtxT]):
    """An event table: rows arrive through ``on_insert`` and are never stored."""

    def __init__(self, imp: ConnectionImpl, table: str) -> None:
        self._imp = imp
        self._table = table

    @property
    def table_name(self) -> str:
        """The table's wire name."""
        return self._table

    def count(self) -> int:
        """The number of cached rows (always 0 for an event table)."""
        return len(self._imp.cache.table(self._table))

    def iter(self) -> Iterator[R]:
        """The cached rows, in no particular order."""
        rows: Iterator[R] = self._imp.cache.table(self._table).rows()
        return rows

    def __iter__(self) -> Iterator[R]:
        return self.iter()

    def __len__(self) -> int:
        return self.count()

    def on_insert(self, callback: Callable[[CtxT, R], None]) -> CallbackId:
        """Runs ``callback(ctx, row)`` for each row that enters the cache (or event that
        arrives), after the whole message is applied."""
        return self._imp.add_row_callback(self._table, "insert", callback)

    def remove_on_insert(self, callback_id: CallbackId) -> None:
        """Unregisters an ``on_insert`` callback."""
        self._imp.remove_row_callback(self._table, "insert", callback_id)


class TableHandle(EventTableHandle[R, CtxT]):
    """A stored table: rows enter and leave the cache as subscriptions and transactions
    say."""

    def on_delete(self, callback: Callable[[CtxT, R], None]) -> CallbackId:
        """Runs ``callback(ctx, row)`` for each row that leaves the cache."""
        return self._imp.add_row_callback(self._table, "delete", callback)

    def remove_on_delete(self, callback_id: CallbackId) -> None:
        """Unregisters an ``on_delete`` callback."""
        self._imp.remove_row_callback(self._table, "delete", callback_id)


class TableWithPrimaryKeyHandle(TableHandle[R, CtxT]):
    """A stored table with a primary key: a row replaced by one with the same key is
    reported as an update, not a delete and an insert."""

    def on_update(self, callback: Callable[[CtxT, R, R], None]) -> CallbackId:
        """Runs ``callback(ctx, old, new)`` for each row replaced by a row with the same
        primary key."""
        return self._imp.add_row_callback(self._table, "update", callback)

    def remove_on_update(self, callback_id: CallbackId) -> None:
        """Unregisters an ``on_update`` callback."""
        self._imp.remove_row_callback(self._table, "update", callback_id)


class UniqueIndex(Generic[R, K]):
    """Finds cached rows by a unique column."""

    def __init__(self, imp: ConnectionImpl, table: str, column: str, codec: Codec[K]) -> None:
        self._imp = imp
        self._table = table
        self._column = column
        self._codec = codec

    def find(self, value: K) -> R | None:
        """The cached row whose column equals ``value``, or ``None``."""
        row: Any = self._imp.cache.table(self._table).find(self._column, self._codec.to_bytes(value))
        found: R | None = row
        return found
