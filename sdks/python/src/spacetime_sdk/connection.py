"""The connection's engine, :class:`ConnectionImpl`, shared by the connection object,
every context and every handle: it applies each server message to the client cache, then
runs the callbacks; it sends reducer and procedure calls and one-off queries, and keeps the
books of subscriptions.

Everything runs on one asyncio event loop. The socket is the :class:`Transport`'s
(:mod:`spacetime_sdk.transport`): it hands each server message to :meth:`on_message`, so
callbacks run on the loop between messages, always see a whole message applied, and may
read the cache, subscribe or call reducers.

With a :class:`ReconnectPolicy`, the transport re-opens a dropped connection with backoff
as the same identity; requests made meanwhile wait here; every live query set is
resubscribed into a fresh cache, and once all have answered the fresh cache replaces the
old one and only the rows that really changed fire callbacks. Procedure calls and one-off
queries waiting for an answer when the socket drops fail with :class:`ConnectionLostError`:
the server may or may not have run them, and a procedure is not a transaction to retry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from . import protocol as p
from .bsatn import STRING, BsatnError, Codec
from .cache import ClientCache, TableDiff, TableInfo
from .errors import (
    ConnectError,
    ConnectionLostError,
    DisconnectedError,
    InternalError,
    ProcedureError,
    QueryError,
    ReducerError,
    SpacetimeError,
    SubscriptionError,
    run_callback,
)
from .event import (
    Committed,
    Event,
    Failed,
    Panic,
    ReducerEvent,
    Status,
    SubscribeAppliedEvent,
    SubscribeErrorEvent,
    TransactionEvent,
    UnsubscribeAppliedEvent,
)
from .query import QueryResult, decode_query_rows
from .special import ConnectionId, Err, Identity, Timestamp
from .table import CallbackId
from .transport import ReconnectPolicy, Transport

if TYPE_CHECKING:
    from .context import DbConnectionBase
    from .subscription import SubscriptionState

log = logging.getLogger("spacetime_sdk")

ArgsT = TypeVar("ArgsT")
RetT = TypeVar("RetT")
PendingT = TypeVar("PendingT", "_PendingProcedure", "_PendingQuery")


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """What the runtime needs to know of a module: its tables. Given by the generated
    bindings."""

    tables: tuple[TableInfo, ...]


@dataclass(slots=True)
class _PendingCall:
    reducer: str
    args: Any
    future: asyncio.Future[ReducerEvent[Any]]


@dataclass(slots=True)
class _PendingProcedure:
    procedure: str
    future: asyncio.Future[bytes]


@dataclass(slots=True)
class _PendingQuery:
    sql: str
    future: asyncio.Future[QueryResult]


class ConnectionImpl:
    """The shared engine behind a connection and its contexts."""

    def __init__(
        self,
        module: ModuleInfo,
        url: str,
        token: str | None,
        reconnect: ReconnectPolicy | None,
        callbacks: ConnectionCallbacks,
    ) -> None:
        self.module = module
        self.token = token
        self.callbacks = callbacks
        self.cache = ClientCache(list(module.tables))
        self.identity: Identity | None = None
        self.connection_id: ConnectionId | None = None
        self.lifecycle = "connecting"
        self.conn: DbConnectionBase[Any, Any, Any] | None = None
        self.subscriptions: dict[int, SubscriptionState] = {}
        self._row_callbacks: dict[tuple[str, str], dict[CallbackId, Callable[..., None]]] = {}
        self._next_callback = 1
        self._next_request = 1
        self._next_query_set = 1
        self._calls: dict[int, _PendingCall] = {}
        self._procedure_calls: dict[int, _PendingProcedure] = {}
        self._queries: dict[int, _PendingQuery] = {}
        self._table_infos = {t.name: t for t in module.tables}
        self._deferred: list[Callable[[], None]] = []
        self._resync: _Resync | None = None
        self._loop = asyncio.get_running_loop()
        self._connected: asyncio.Future[None] = self._loop.create_future()
        self._closed: asyncio.Future[SpacetimeError | None] = self._loop.create_future()
        self.transport = Transport(url, token, reconnect, self)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Starts the transport."""
        self.transport.start()

    async def wait_connected(self) -> None:
        """Waits for the server's initial message.

        Raises:
            ConnectError: if the connection failed first.
        """
        await asyncio.shield(self._connected)

    async def wait_closed(self) -> SpacetimeError | None:
        """Waits for the connection to end; returns the error it ended with, if any."""
        return await asyncio.shield(self._closed)

    @property
    def is_active(self) -> bool:
        """Whether the connection is open (or reconnecting) and not disconnected."""
        return self.lifecycle != "ended" and not self.transport.closing

    async def disconnect(self) -> None:
        """Closes the connection and waits for ``on_disconnect`` to have run. Calling it on
        an ended connection does nothing."""
        self.transport.close()
        await self.transport.wait_stopped()

    # --- what the transport reports ------------------------------------------------------

    def on_message(self, message: p.ServerMessage) -> None:
        """Applies one server message and runs its callbacks."""
        self._handle(message)

    def on_reconnecting(self, error: SpacetimeError) -> None:
        """The socket dropped and is being re-opened: requests wait, calls in flight fail."""
        self._begin_reconnect(error)

    def on_ended(self, error: SpacetimeError | None) -> None:
        """The transport stopped for good."""
        self._end(error)

    def _send(self, message: p.ClientMessage) -> None:
        self.transport.send(message)

    def _requests_wait(self) -> bool:
        return self.lifecycle == "reconnecting" or self._resync is not None

    def _request(self, action: Callable[[], None]) -> None:
        """Runs ``action`` now, or once a reconnect has finished resubscribing."""
        if self._requests_wait():
            self._deferred.append(action)
        else:
            action()

    def request_id(self) -> int:
        """A fresh request id."""
        rid = self._next_request
        self._next_request = (self._next_request + 1) & 0xFFFF_FFFF
        return rid

    # --- application requests -----------------------------------------------------------

    def add_row_callback(self, table: str, kind: str, callback: Callable[..., None]) -> CallbackId:
        """Registers a row callback of ``kind`` (insert, delete, update) on ``table``."""
        cid = CallbackId(self._next_callback)
        self._next_callback += 1
        self._row_callbacks.setdefault((table, kind), {})[cid] = callback
        return cid

    def remove_row_callback(self, table: str, kind: str, callback_id: CallbackId) -> None:
        """Unregisters a row callback; an unknown id is ignored."""
        self._row_callbacks.get((table, kind), {}).pop(callback_id, None)

    def next_query_set_id(self) -> int:
        """A fresh query set id."""
        qs = self._next_query_set
        self._next_query_set += 1
        return qs

    def subscribe(self, state: SubscriptionState) -> None:
        """Sends a new query set."""
        if not self.is_active:
            state.fail(DisconnectedError("cannot subscribe: the connection has ended"))
            return
        self.subscriptions[state.query_set_id] = state

        def send() -> None:
            if state.unsubscribe_called or state.status != "pending":
                return
            state.status = "sent"
            self._send(p.Subscribe(self.request_id(), state.query_set_id, list(state.queries)))

        self._request(send)

    def unsubscribe(self, state: SubscriptionState) -> None:
        """Ends a query set: locally if it was never sent, else by asking the server."""

        def send() -> None:
            if state.status == "pending":
                self.subscriptions.pop(state.query_set_id, None)
                state.end(self._subscription_ctx())
            elif state.status in ("sent", "applied"):
                self._send(p.Unsubscribe(self.request_id(), state.query_set_id, p.UnsubscribeFlags.SEND_DROPPED_ROWS))

        self._request(send)

    def _call_args(self, kind: str, name: str, args: ArgsT, codec: Codec[ArgsT]) -> bytes:
        """The BSATN of a call's arguments, checking first that the connection can take it.

        Raises:
            DisconnectedError: if the connection has ended.
            BsatnError: if ``args`` do not encode.
        """
        if not self.is_active:
            raise DisconnectedError(f"cannot call {kind} `{name}`: the connection has ended")
        try:
            return codec.to_bytes(args)
        except BsatnError as e:
            raise BsatnError(f"the arguments of {kind} `{name}` do not encode: {e}") from None

    async def call_reducer(self, reducer: str, args: ArgsT, codec: Codec[ArgsT]) -> ReducerEvent[ArgsT]:
        """Calls ``reducer`` with ``args`` (its arguments object) and waits for the result;
        the row callbacks of its transaction run first. Returns the committed call's event.

        Raises:
            BsatnError: if ``args`` do not encode (a value of the wrong type or range).
            ReducerError: if the reducer returned an error.
            InternalError: if it failed in the host or the connection dropped first.
            DisconnectedError: if the connection has ended.
        """
        args_bsatn = self._call_args("reducer", reducer, args, codec)
        future: asyncio.Future[ReducerEvent[Any]] = self._loop.create_future()

        def send() -> None:
            if self.lifecycle == "ended":
                future.set_exception(InternalError(reducer, "the connection ended before the call was sent"))
                return
            rid = self.request_id()
            self._calls[rid] = _PendingCall(reducer, args, future)
            self._send(p.CallReducer(rid, reducer, args_bsatn))

        self._request(send)
        event = await future
        if isinstance(event.status, Failed):
            raise ReducerError(reducer, event.status.message)
        if isinstance(event.status, Panic):
            raise InternalError(reducer, event.status.message)
        return event

    async def call_procedure(self, procedure: str, args: ArgsT, args_codec: Codec[ArgsT], returns: Codec[RetT]) -> RetT:
        """Calls ``procedure`` with ``args`` (its arguments object) and waits for its return
        value, decoded with ``returns``. Row callbacks of the transactions it committed
        (``with_tx``) run before this returns.

        Raises:
            BsatnError: if ``args`` do not encode (a value of the wrong type or range).
            ProcedureError: if the procedure failed (panicked, returned an error, does not
                exist) or its return value does not decode as ``returns``.
            ConnectionLostError: if the connection dropped before the result arrived.
            DisconnectedError: if the connection has ended.
        """
        args_bsatn = self._call_args("procedure", procedure, args, args_codec)
        future: asyncio.Future[bytes] = self._loop.create_future()
        self._send_awaited(
            self._procedure_calls,
            _PendingProcedure(procedure, future),
            lambda rid: p.CallProcedure(rid, procedure, args_bsatn),
            f"the connection ended before procedure `{procedure}` was called",
        )
        value = await future
        try:
            return returns.from_bytes(value)
        except BsatnError as e:
            raise ProcedureError(
                procedure, f"its return value does not decode as the bindings expect (regenerate them?): {e}"
            ) from None

    async def query(self, sql: str) -> QueryResult:
        """Runs one SQL ``SELECT`` once on the server, outside any subscription, and waits
        for its rows (the cache is not touched).

        Raises:
            QueryError: if the server refused or failed the query.
            ConnectionLostError: if the connection dropped before the rows arrived.
            DisconnectedError: if the connection has ended.
        """
        if not self.is_active:
            raise DisconnectedError(f"cannot run query `{sql}`: the connection has ended")
        future: asyncio.Future[QueryResult] = self._loop.create_future()
        self._send_awaited(
            self._queries,
            _PendingQuery(sql, future),
            lambda rid: p.OneOffQuery(rid, sql),
            f"the connection ended before query `{sql}` was sent",
        )
        return await future

    def _send_awaited(
        self,
        waiting: dict[int, PendingT],
        pending: PendingT,
        message: Callable[[int], p.ClientMessage],
        not_sent: str,
    ) -> None:
        """Sends a request whose answer resolves ``pending.future``: now, or after a
        reconnect, filed in ``waiting`` under its request id; if the connection ends before
        it was sent, the future fails with ``not_sent``."""

        def send() -> None:
            if self.lifecycle == "ended":
                pending.future.set_exception(ConnectionLostError(not_sent))
                return
            rid = self.request_id()
            waiting[rid] = pending
            self._send(message(rid))

        self._request(send)

    # --- messages -----------------------------------------------------------------------

    def _handle(self, message: p.ServerMessage) -> None:
        if self.lifecycle == "ended":
            return
        if isinstance(message, p.InitialConnection):
            self._on_initial_connection(message)
        elif isinstance(message, p.SubscribeApplied):
            self._on_subscribe_applied(message)
        elif isinstance(message, p.UnsubscribeApplied):
            qs = message.query_set_id
            state = self.subscriptions.pop(qs, None)
            stream_diffs = self._removed_diffs(qs) if state is not None and state.streams else []
            diffs = self.cache.apply(self.cache.changes_of_removed(qs))
            self._run_row_callbacks(diffs, UnsubscribeAppliedEvent())
            if state is not None:
                state.push(stream_diffs, UnsubscribeAppliedEvent())
                state.end(self._subscription_ctx())
        elif isinstance(message, p.SubscriptionError):
            self._on_subscription_error(message)
        elif isinstance(message, p.TransactionUpdate):
            if self._resync is not None:
                self._resync.cache.apply(self._resync.cache.changes_of_update(message))
                return
            self._apply_update(message, TransactionEvent())
        elif isinstance(message, p.ReducerResult):
            self._on_reducer_result(message)
        elif isinstance(message, p.ProcedureResult):
            self._on_procedure_result(message)
        else:
            self._on_query_result(message)

    def _on_initial_connection(self, message: p.InitialConnection) -> None:
        if self.identity is not None and self.identity != message.identity:
            log.warning("the server assigned a different identity after reconnecting: %s", message.identity)
        self.identity = message.identity
        self.connection_id = message.connection_id
        self.token = message.token
        # A reconnect presents the confirmed token, so it comes back as the same identity.
        self.transport.token = message.token
        if self.lifecycle == "connecting":
            self.lifecycle = "connected"
            if not self._connected.done():
                self._connected.set_result(None)
            cb = self.callbacks.on_connect
            if cb is not None and self.conn is not None:
                run_callback("on_connect", cb, self.conn, message.identity, message.token)
        elif self.lifecycle == "reconnecting":
            self.lifecycle = "connected"
            self._begin_resync()
        else:
            log.warning("ignoring an unexpected second initial connection message")

    def _on_subscribe_applied(self, message: p.SubscribeApplied) -> None:
        qs = message.query_set_id
        state = self.subscriptions.get(qs)
        resync = self._resync
        if resync is not None and qs in resync.awaiting:
            resync.cache.apply(resync.cache.changes_of_applied(qs, message.rows))
            resync.awaiting.discard(qs)
            if state is not None and state.mark_applied():
                resync.newly_applied.append(state)
            if not resync.awaiting:
                self._finish_resync()
            return
        diffs = self.cache.apply(self.cache.changes_of_applied(qs, message.rows))
        self._run_row_callbacks(diffs, SubscribeAppliedEvent())
        if state is None:
            log.warning("the server applied query set %d that this client does not know", qs)
            return
        if state.streams:
            state.push(self._query_set_diffs(self.cache.query_set_rows(qs), {}), SubscribeAppliedEvent())
        if state.mark_applied():
            state.applied(self._subscription_ctx())

    def _on_subscription_error(self, message: p.SubscriptionError) -> None:
        qs = message.query_set_id
        error = SubscriptionError(message.error)
        in_resync = self._resync is not None and qs in self._resync.awaiting
        if in_resync and self._resync is not None:
            self._resync.awaiting.discard(qs)
        else:
            # A live set that failed holds rows no one else may; drop them.
            diffs = self.cache.apply(self.cache.changes_of_removed(qs))
            self._run_row_callbacks(diffs, SubscribeErrorEvent(message.error))
        state = self.subscriptions.pop(qs, None)
        if state is not None:
            state.error(self._error_ctx(error), error)
        else:
            log.warning("query set %d failed: %s", qs, message.error)
        if in_resync and self._resync is not None and not self._resync.awaiting:
            self._finish_resync()

    def _apply_update(self, update: p.TransactionUpdate, event: Event) -> None:
        streams = self._stream_diffs(update)
        diffs = self.cache.apply(self.cache.changes_of_update(update))
        self._run_row_callbacks(diffs, event)
        for qs, qs_diffs in streams.items():
            state = self.subscriptions.get(qs)
            if state is not None:
                state.push(qs_diffs, event)

    def _on_reducer_result(self, message: p.ReducerResult) -> None:
        call = self._calls.pop(message.request_id, None)
        if call is None:
            log.warning("reducer result for unknown request %d", message.request_id)
        outcome = message.result
        status: Status
        if isinstance(outcome, p.ReducerOk | p.ReducerOkEmpty):
            status = Committed()
        elif isinstance(outcome, p.ReducerErr):
            try:
                text = STRING.from_bytes(outcome.value)
            except BsatnError:
                text = f"the reducer failed with an error value that is not a string ({len(outcome.value)} bytes of BSATN)"
            status = Failed(text)
        else:
            status = Panic(outcome.message)
        event = ReducerEvent(message.timestamp, status, call.args if call is not None else None)
        if isinstance(outcome, p.ReducerOk):
            self._apply_update(outcome.transaction_update, event if call is not None else TransactionEvent())
        if call is not None and not call.future.done():
            call.future.set_result(event)

    def _on_procedure_result(self, message: p.ProcedureResult) -> None:
        call = self._procedure_calls.pop(message.request_id, None)
        if call is None:
            log.warning("procedure result for unknown request %d", message.request_id)
            return
        if call.future.done():
            return
        status = message.status
        if isinstance(status, p.ProcedureReturned):
            call.future.set_result(status.value)
        else:
            call.future.set_exception(ProcedureError(call.procedure, status.value))

    def _on_query_result(self, message: p.OneOffQueryResult) -> None:
        query = self._queries.pop(message.request_id, None)
        if query is None:
            log.warning("one-off query result for unknown request %d", message.request_id)
            return
        if query.future.done():
            return
        result = message.result
        if isinstance(result, Err):
            query.future.set_exception(QueryError(query.sql, result.error))
            return
        try:
            query.future.set_result(decode_query_rows(query.sql, result.value, self._table_infos))
        except p.ProtocolError as e:
            query.future.set_exception(QueryError(query.sql, str(e)))

    # --- callbacks ----------------------------------------------------------------------

    def _run_row_callbacks(self, diffs: list[TableDiff[Any]], event: Event) -> None:
        if not diffs or self.conn is None:
            return
        from .context import EventContext

        ctx = EventContext(self.conn, event)
        for diff in diffs:
            for kind, rows in (("delete", diff.deletes), ("insert", diff.inserts)):
                callbacks = list(self._row_callbacks.get((diff.table, kind), {}).values())
                for row in rows:
                    for cb in callbacks:
                        run_callback(f"{diff.table} on_{kind}", cb, ctx, row)
            callbacks = list(self._row_callbacks.get((diff.table, "update"), {}).values())
            for old, new in diff.updates:
                for cb in callbacks:
                    run_callback(f"{diff.table} on_update", cb, ctx, old, new)

    def _subscription_ctx(self) -> Any:
        from .context import SubscriptionEventContext

        return SubscriptionEventContext(self.conn) if self.conn is not None else None

    def _error_ctx(self, error: SpacetimeError | None) -> Any:
        from .context import ErrorContext

        return ErrorContext(self.conn, error) if self.conn is not None else None

    # --- subscription streams -----------------------------------------------------------

    def _query_set_diffs(
        self, inserted: dict[str, dict[bytes, int]], deleted: dict[str, dict[bytes, int]]
    ) -> list[TableDiff[Any]]:
        """The changes of one query set: rows (with multiplicity) it gained and lost."""
        from .cache import net_diff

        diffs = []
        for name in dict.fromkeys([*inserted, *deleted]):
            diff = net_diff(self.cache.table(name), inserted.get(name, {}), deleted.get(name, {}))
            if not diff.is_empty():
                diffs.append(diff)
        return diffs

    def _removed_diffs(self, qs: int) -> list[TableDiff[Any]]:
        return self._query_set_diffs({}, self.cache.query_set_rows(qs))

    def _stream_diffs(self, update: p.TransactionUpdate) -> dict[int, list[TableDiff[Any]]]:
        out: dict[int, list[TableDiff[Any]]] = {}
        for qsu in update.query_sets:
            state = self.subscriptions.get(qsu.query_set_id)
            if state is None or not state.streams:
                continue
            inserted: dict[str, dict[bytes, int]] = {}
            deleted: dict[str, dict[bytes, int]] = {}
            for t in qsu.tables:
                for chunk in t.rows:
                    if isinstance(chunk, p.EventTableRows):
                        rows = inserted.setdefault(t.table_name, {})
                        for key in chunk.events.rows():
                            rows[key] = rows.get(key, 0) + 1
                        continue
                    for target, row_list in ((inserted, chunk.inserts), (deleted, chunk.deletes)):
                        rows = target.setdefault(t.table_name, {})
                        for key in row_list.rows():
                            rows[key] = rows.get(key, 0) + 1
            out[qsu.query_set_id] = self._query_set_diffs(inserted, deleted)
        return out

    # --- reconnect ----------------------------------------------------------------------

    def _fail_calls(self, how: str) -> None:
        """Gives up every request waiting for an answer; ``how`` says what became of the
        connection ("was lost", "ended")."""
        calls, self._calls = self._calls, {}
        for rid in sorted(calls):
            call = calls[rid]
            if not call.future.done():
                message = f"the connection {how} before the reducer's result arrived; it may or may not have run"
                call.future.set_result(ReducerEvent(Timestamp.now(), Panic(message), call.args))
        procedures, self._procedure_calls = self._procedure_calls, {}
        for rid in sorted(procedures):
            proc = procedures[rid]
            if not proc.future.done():
                proc.future.set_exception(
                    ConnectionLostError(
                        f"the connection {how} before the result of procedure `{proc.procedure}` arrived; "
                        "it may or may not have run"
                    )
                )
        queries, self._queries = self._queries, {}
        for rid in sorted(queries):
            query = queries[rid]
            if not query.future.done():
                query.future.set_exception(
                    ConnectionLostError(f"the connection {how} before the rows of query `{query.sql}` arrived")
                )

    def _begin_reconnect(self, error: SpacetimeError) -> None:
        log.warning("connection lost (%s); reconnecting", error)
        self.lifecycle = "reconnecting"
        self._resync = None
        self._fail_calls("was lost")

    def _begin_resync(self) -> None:
        resync = _Resync(ClientCache(list(self.module.tables)))
        for qs in sorted(self.subscriptions):
            state = self.subscriptions[qs]
            if state.status in ("sent", "applied") and not state.unsubscribe_called:
                self._send(p.Subscribe(self.request_id(), qs, list(state.queries)))
                resync.awaiting.add(qs)
            elif state.status in ("sent", "applied"):
                # Its unsubscribe died with the old connection; the new one never had it.
                del self.subscriptions[qs]
                resync.ended.append(state)
        self._resync = resync
        if not resync.awaiting:
            self._finish_resync()

    def _finish_resync(self) -> None:
        resync, self._resync = self._resync, None
        if resync is None:
            return
        # Each stream gets its own query set's net change across the gap, which is not
        # the cache-wide diff: rows shared with other query sets may have stayed.
        streamed = [state for state in [*self.subscriptions.values(), *resync.ended] if state.streams]
        stream_diffs = [
            (
                state,
                self._query_set_diffs(
                    resync.cache.query_set_rows(state.query_set_id), self.cache.query_set_rows(state.query_set_id)
                ),
            )
            for state in streamed
        ]
        diffs = self.cache.diff_to(resync.cache)
        self.cache = resync.cache
        self._run_row_callbacks(diffs, SubscribeAppliedEvent())
        for state, qs_diffs in stream_diffs:
            state.push(qs_diffs, SubscribeAppliedEvent())
        for state in resync.newly_applied:
            state.applied(self._subscription_ctx())
        for state in resync.ended:
            state.end(self._subscription_ctx())
        cb = self.callbacks.on_reconnect
        if cb is not None and self.conn is not None and self.identity is not None:
            run_callback("on_reconnect", cb, self.conn, self.identity, self.token or "")
        deferred, self._deferred = self._deferred, []
        for action in deferred:
            action()

    def _end(self, error: SpacetimeError | None) -> None:
        """Marks the connection ended and runs the connect-error or disconnect callback."""
        was = self.lifecycle
        if was == "ended":
            return
        self.lifecycle = "ended"
        self._resync = None
        self._fail_calls("ended")
        deferred, self._deferred = self._deferred, []
        for action in deferred:
            action()
        for state in list(self.subscriptions.values()):
            state.close(error)
        if was == "connecting":
            failure = error if isinstance(error, ConnectError) else ConnectError(
                str(error) if error is not None else "the connection was closed before the server accepted it"
            )
            if not self._connected.done():
                self._connected.set_exception(failure)
                # The builder reports it; mark it seen so asyncio does not warn.
                self._connected.exception()
            cb = self.callbacks.on_connect_error
            if cb is not None:
                run_callback("on_connect_error", cb, self._error_ctx(failure), failure)
            error = failure
        else:
            cb_d = self.callbacks.on_disconnect
            if cb_d is not None:
                run_callback("on_disconnect", cb_d, self._error_ctx(error), error)
        if not self._closed.done():
            self._closed.set_result(error)


@dataclass(slots=True)
class _Resync:
    cache: ClientCache
    awaiting: set[int] = None  # type: ignore[assignment]
    newly_applied: list[SubscriptionState] = None  # type: ignore[assignment]
    ended: list[SubscriptionState] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.awaiting = set()
        self.newly_applied = []
        self.ended = []


@dataclass(slots=True)
class ConnectionCallbacks:
    """The connection callbacks the builder collected."""

    on_connect: Callable[..., None] | None = None
    on_connect_error: Callable[..., None] | None = None
    on_disconnect: Callable[..., None] | None = None
    on_reconnect: Callable[..., None] | None = None

