"""Subscriptions: :class:`SubscriptionBuilder` (``conn.subscription_builder()``), the
:class:`SubscriptionHandle` it returns, and the ``async for`` stream of a subscription's
row changes (:meth:`SubscriptionHandle.changes`).

A subscription is one query set on the server. Its rows enter the shared client cache
(reference-counted with other subscriptions' rows); its stream reports only the changes
of its own queries, as :data:`RowChange` values.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from .cache import TableDiff
from .errors import DisconnectedError, SpacetimeError, SubscriptionError, run_callback
from .event import Event

if TYPE_CHECKING:
    from .connection import ConnectionImpl

log = logging.getLogger("spacetime_sdk")

SubCtxT = TypeVar("SubCtxT")
ErrCtxT = TypeVar("ErrCtxT")


@dataclass(frozen=True, slots=True)
class Insert:
    """A row entered the subscription."""

    table: str
    row: Any
    event: Event


@dataclass(frozen=True, slots=True)
class Delete:
    """A row left the subscription."""

    table: str
    row: Any
    event: Event


@dataclass(frozen=True, slots=True)
class Update:
    """A row was replaced by one with the same primary key."""

    table: str
    old: Any
    new: Any
    event: Event


RowChange: TypeAlias = Insert | Delete | Update
"""One change to a subscription's rows."""


class SubscriptionState:
    """The runtime's record of one query set."""

    def __init__(self, imp: ConnectionImpl, queries: Sequence[str], on_applied: Any, on_error: Any) -> None:
        self.imp = imp
        self.query_set_id = imp.next_query_set_id()
        self.queries = tuple(queries)
        self.status = "pending"  # pending, sent, applied, ended, errored
        self.unsubscribe_called = False
        self.on_applied: Callable[[Any], None] | None = on_applied
        self.on_error: Callable[[Any, SpacetimeError], None] | None = on_error
        self.on_ended: list[Callable[[Any], None]] = []
        self.streams: list[asyncio.Queue[RowChange | SpacetimeError | None]] = []
        loop = asyncio.get_running_loop()
        self.applied_future: asyncio.Future[None] = loop.create_future()
        self.ended_future: asyncio.Future[None] = loop.create_future()

    def mark_applied(self) -> bool:
        """Records that the server applied the set; whether ``on_applied`` should run."""
        if self.status != "sent":
            return False
        self.status = "applied"
        return not self.unsubscribe_called

    def applied(self, ctx: Any) -> None:
        """Runs ``on_applied`` and wakes ``applied()`` waiters."""
        if not self.applied_future.done():
            self.applied_future.set_result(None)
        cb, self.on_applied = self.on_applied, None
        if cb is not None:
            run_callback("subscription on_applied", cb, ctx)

    def end(self, ctx: Any) -> None:
        """The set ended normally: runs the ``on_ended`` callbacks and ends the streams."""
        self.status = "ended"
        if not self.applied_future.done():
            self.applied_future.set_exception(SubscriptionError("the subscription ended before it was applied"))
            self.applied_future.exception()
        if not self.ended_future.done():
            self.ended_future.set_result(None)
        callbacks, self.on_ended = self.on_ended, []
        for cb in callbacks:
            run_callback("subscription on_ended", cb, ctx)
        for stream in self.streams:
            stream.put_nowait(None)

    def error(self, ctx: Any, error: SpacetimeError) -> None:
        """The set failed: runs ``on_error`` (or logs) and fails waiters and streams."""
        self.status = "errored"
        cb, self.on_error = self.on_error, None
        if cb is not None:
            run_callback("subscription on_error", cb, ctx, error)
        elif not self.streams and not self.applied_future.done():
            log.warning("subscription %d failed and has no on_error callback: %s", self.query_set_id, error)
        self.close(error)

    def close(self, error: SpacetimeError | None) -> None:
        """Ends waiters and streams because the set or the connection is gone."""
        failure = error if error is not None else DisconnectedError("the connection ended")
        for future in (self.applied_future, self.ended_future):
            if not future.done():
                future.set_exception(failure)
                future.exception()
        for stream in self.streams:
            stream.put_nowait(failure if error is not None else None)

    def push(self, diffs: list[TableDiff[Any]], event: Event) -> None:
        """Hands this set's changes of one message to its streams."""
        if not self.streams:
            return
        changes: list[RowChange] = []
        for diff in diffs:
            changes.extend(Delete(diff.table, row, event) for row in diff.deletes)
            changes.extend(Insert(diff.table, row, event) for row in diff.inserts)
            changes.extend(Update(diff.table, old, new, event) for old, new in diff.updates)
        for stream in self.streams:
            for change in changes:
                stream.put_nowait(change)

    def fail(self, error: SpacetimeError) -> None:
        """The set could not even be sent."""
        self.status = "errored"
        self.close(error)


class SubscriptionHandle(Generic[SubCtxT]):
    """A started subscription."""

    def __init__(self, state: SubscriptionState) -> None:
        self._state = state

    @property
    def query_set_id(self) -> int:
        """The query set's id on this connection."""
        return self._state.query_set_id

    @property
    def queries(self) -> tuple[str, ...]:
        """The SQL queries."""
        return self._state.queries

    def is_active(self) -> bool:
        """Whether the rows are applied and the subscription has not ended."""
        return self._state.status == "applied" and not self._state.unsubscribe_called

    def is_ended(self) -> bool:
        """Whether the subscription has ended (unsubscribed or failed)."""
        return self._state.status in ("ended", "errored")

    async def applied(self) -> None:
        """Waits until the initial rows are in the cache.

        Raises:
            SubscriptionError: if the server rejected the queries.
            DisconnectedError: if the connection ended first.
        """
        await asyncio.shield(self._state.applied_future)

    def unsubscribe(self) -> None:
        """Ends the subscription; its rows leave the cache (unless other subscriptions
        hold them). Cancelling one not yet sent needs no server round trip.

        Raises:
            SubscriptionError: if it was already ended or unsubscribed.
        """
        state = self._state
        if state.unsubscribe_called or self.is_ended():
            raise SubscriptionError(f"subscription {state.query_set_id} is already ended or unsubscribed")
        state.unsubscribe_called = True
        state.imp.unsubscribe(state)

    def unsubscribe_then(self, on_ended: Callable[[SubCtxT], None]) -> None:
        """Like :meth:`unsubscribe`, then runs ``on_ended`` once the rows have left."""
        self._state.on_ended.append(on_ended)
        self.unsubscribe()

    async def ended(self) -> None:
        """Waits until the subscription has ended and its rows have left the cache."""
        await asyncio.shield(self._state.ended_future)

    def changes(self) -> AsyncIterator[RowChange]:
        """The subscription's row changes from now on, as an ``async for`` stream: its
        initial rows as inserts (if not yet applied), then each transaction's changes to
        its queries' rows (after a reconnect: the net change across the gap, as the row
        callbacks see it), then the rows it drops when it ends. The stream stops when the
        subscription ends.

        Raises (while iterating):
            SubscriptionError: if the subscription fails.
            DisconnectedError: if the connection drops.
        """
        queue: asyncio.Queue[RowChange | SpacetimeError | None] = asyncio.Queue()
        if self.is_ended():
            queue.put_nowait(None)
        else:
            self._state.streams.append(queue)
        return _stream(queue)

    def __aiter__(self) -> AsyncIterator[RowChange]:
        return self.changes()


async def _stream(queue: asyncio.Queue[RowChange | SpacetimeError | None]) -> AsyncIterator[RowChange]:
    while True:
        item = await queue.get()
        if item is None:
            return
        if isinstance(item, SpacetimeError):
            raise item
        yield item


class SubscriptionBuilder(Generic[SubCtxT, ErrCtxT]):
    """Starts a subscription: ``conn.subscription_builder()``."""

    def __init__(self, imp: ConnectionImpl) -> None:
        self._imp = imp
        self._on_applied: Callable[[SubCtxT], None] | None = None
        self._on_error: Callable[[ErrCtxT, SpacetimeError], None] | None = None

    def on_applied(self, callback: Callable[[SubCtxT], None]) -> SubscriptionBuilder[SubCtxT, ErrCtxT]:
        """Runs once the initial rows are in the cache (after their ``on_insert``s)."""
        self._on_applied = callback
        return self

    def on_error(self, callback: Callable[[ErrCtxT, SpacetimeError], None]) -> SubscriptionBuilder[SubCtxT, ErrCtxT]:
        """Runs if the server rejects the queries or the subscription fails later."""
        self._on_error = callback
        return self

    def subscribe(self, queries: str | Sequence[str]) -> SubscriptionHandle[SubCtxT]:
        """Subscribes to the SQL ``queries`` (one string or several) as one query set."""
        if isinstance(queries, str):
            queries = [queries]
        state = SubscriptionState(self._imp, queries, self._on_applied, self._on_error)
        self._imp.subscribe(state)
        return SubscriptionHandle(state)

    def subscribe_to_all_tables(self) -> SubscriptionHandle[SubCtxT]:
        """Subscribes to every row of every table the bindings know."""
        return self.subscribe([f"SELECT * FROM {t.name}" for t in self._imp.module.tables])
