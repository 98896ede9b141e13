"""The connection's engine, :class:`ConnectionImpl`, shared by the connection object,
every context and every handle; and :class:`DbConnectionBuilder`.

Everything runs on one asyncio event loop: a supervisor task opens the WebSocket
(``v2.bsatn.spacetimedb``), a reader applies each server message to the cache and then
runs callbacks, and a writer sends queued client messages in order. Callbacks run on the
loop between messages, so they always see a whole message applied and may read the
cache, subscribe or call reducers.

With a :class:`ReconnectPolicy`, a dropped connection is re-opened with backoff as the
same identity; requests made meanwhile wait; every live query set is resubscribed into
a fresh cache, and once all have answered the fresh cache replaces the old one and only
the rows that really changed fire callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import protocol as p
from .bsatn import STRING, BsatnError, Codec
from .cache import ClientCache, TableDiff, TableInfo
from .errors import (
    ConfigError,
    ConnectError,
    DisconnectedError,
    InternalError,
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
from .special import ConnectionId, Identity, Timestamp
from .table import CallbackId

if TYPE_CHECKING:
    from .context import DbConnectionBase
    from .subscription import SubscriptionState

log = logging.getLogger("spacetime_sdk")

ConnT = TypeVar("ConnT", bound="DbConnectionBase[Any, Any]")
ArgsT = TypeVar("ArgsT")


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """What the runtime needs to know of a module: its tables. Given by the generated
    bindings."""

    tables: tuple[TableInfo, ...]


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How a dropped connection is re-established: the delay before attempt ``n`` (after
    ``n`` failures in a row) is ``initial_delay * 2**n`` seconds, at most ``max_delay``."""

    initial_delay: float = 0.5
    max_delay: float = 30.0
    #: Give up (and run ``on_disconnect`` with the error) after this many failed attempts
    #: in a row; ``None`` retries forever.
    max_attempts: int | None = None

    def delay(self, failures: int) -> float:
        """Seconds to wait before the next attempt, after ``failures`` failed ones."""
        return float(min(self.initial_delay * (2 ** min(failures, 16)), self.max_delay))


def subscribe_url(uri: str, database: str, compression: p.Compression, confirmed: bool | None) -> str:
    """The WebSocket URL of a database's subscribe endpoint.

    Raises:
        ConfigError: for a scheme other than http, https, ws or wss, a URI without a
            host, or one with a query string.
    """
    if "://" not in uri:
        uri = "ws://" + uri
    parts = urllib.parse.urlsplit(uri)
    schemes = {"ws": "ws", "http": "ws", "wss": "wss", "https": "wss"}
    scheme = schemes.get(parts.scheme.lower())
    if scheme is None:
        raise ConfigError(f"unsupported URI scheme `{parts.scheme}`: use http, https, ws or wss")
    if not parts.netloc:
        raise ConfigError(f"the URI `{uri}` has no host")
    if parts.query:
        raise ConfigError(f"the URI `{uri}` has a query string; give the server's base URI only")
    path = parts.path.rstrip("/")
    db = urllib.parse.quote(database, safe="-_.")
    url = f"{scheme}://{parts.netloc}{path}/v1/database/{db}/subscribe?compression={compression.value}"
    if confirmed is not None:
        url += "&confirmed=true" if confirmed else "&confirmed=false"
    return url


@dataclass(slots=True)
class _PendingCall:
    reducer: str
    args: Any
    future: asyncio.Future[ReducerEvent[Any]]


class _Ended(Exception):
    """Raised inside the supervisor to stop it."""


class ConnectionImpl:
    """The shared engine behind a connection and its contexts."""

    def __init__(
        self,
        module: ModuleInfo,
        url: str,
        token: str | None,
        reconnect: ReconnectPolicy | None,
        callbacks: _ConnectionCallbacks,
    ) -> None:
        self.module = module
        self.url = url
        self.token = token
        self.reconnect = reconnect
        self.callbacks = callbacks
        self.cache = ClientCache(list(module.tables))
        self.identity: Identity | None = None
        self.connection_id: ConnectionId | None = None
        self.lifecycle = "connecting"
        self.conn: DbConnectionBase[Any, Any] | None = None
        self.subscriptions: dict[int, SubscriptionState] = {}
        self._row_callbacks: dict[tuple[str, str], dict[CallbackId, Callable[..., None]]] = {}
        self._next_callback = 1
        self._next_request = 1
        self._next_query_set = 1
        self._calls: dict[int, _PendingCall] = {}
        self._outgoing: asyncio.Queue[bytes | None] | None = None
        self._deferred: list[Callable[[], None]] = []
        self._resync: _Resync | None = None
        self._loop = asyncio.get_running_loop()
        self._connected: asyncio.Future[None] = self._loop.create_future()
        self._closed: asyncio.Future[SpacetimeError | None] = self._loop.create_future()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Starts the supervisor task."""
        self._task = self._loop.create_task(self._supervise(), name=f"spacetime connection {self.url}")

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
        return self.lifecycle != "ended" and not self._stop.is_set()

    async def disconnect(self) -> None:
        """Closes the connection and waits for ``on_disconnect`` to have run. Calling it on
        an ended connection does nothing."""
        self._stop.set()
        if self._outgoing is not None:
            self._outgoing.put_nowait(None)
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)

    # --- the socket ---------------------------------------------------------------------

    async def _open(self) -> Any:
        from websockets.asyncio.client import connect

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        return await connect(
            self.url,
            subprotocols=[p.BIN_PROTOCOL],  # type: ignore[list-item]
            additional_headers=headers,
            max_size=None,
            compression=None,
            open_timeout=30,
        )

    async def _supervise(self) -> None:
        ever_connected = False
        failures = 0
        last_error = ""
        try:
            while True:
                if self._stop.is_set():
                    raise _Ended(None)
                try:
                    ws = await self._open()
                except Exception as e:  # noqa: BLE001 - any failure to open is reported
                    if not ever_connected:
                        raise _Ended(ConnectError(f"cannot open a WebSocket to {self.url}: {e}")) from None
                    failures += 1
                    last_error = f"cannot reopen the WebSocket: {e}"
                else:
                    first = not ever_connected
                    ever_connected = True
                    got_message, error = await self._session(ws)
                    if self._stop.is_set():
                        raise _Ended(None)
                    if isinstance(error, p.ProtocolError | SpacetimeError) and not isinstance(error, _Dropped):
                        raise _Ended(error)
                    retry = self.reconnect is not None and (got_message or not first)
                    if not retry:
                        if self.lifecycle == "connecting":
                            raise _Ended(ConnectError(f"the server closed the connection before accepting it: {error}"))
                        raise _Ended(error)
                    if got_message:
                        failures = 0
                        self._begin_reconnect(error)
                    else:
                        failures += 1
                    last_error = str(error)
                policy = self.reconnect
                if policy is None:
                    raise _Ended(SpacetimeError(last_error))
                if policy.max_attempts is not None and failures >= policy.max_attempts:
                    raise _Ended(DisconnectedError(f"gave up reconnecting after {failures} failed attempts; last error: {last_error}"))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), policy.delay(failures))
        except _Ended as end:
            self._end(end.args[0])
        except Exception as e:  # noqa: BLE001 - a bug must still end the connection visibly
            log.exception("the connection failed")
            self._end(SpacetimeError(f"the connection failed: {e!r}"))

    async def _session(self, ws: Any) -> tuple[bool, SpacetimeError | p.ProtocolError | None]:
        """Runs one socket until it closes; returns whether any message arrived and why it
        ended."""
        from websockets.exceptions import ConnectionClosed

        outgoing: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._outgoing = outgoing
        got_message = False

        async def write() -> None:
            while True:
                frame = await outgoing.get()
                if frame is None:
                    await ws.close()
                    return
                await ws.send(frame)

        writer = self._loop.create_task(write())
        error: SpacetimeError | p.ProtocolError | None = None
        try:
            reader = self._loop.create_task(self._read(ws))
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                got_message, error = reader.result()
            else:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    got_message, error = await reader
                exc = writer.exception()
                if exc is not None:
                    error = _Dropped(f"cannot send to the server: {exc}")
        finally:
            writer.cancel()
            self._outgoing = None
            with contextlib.suppress(Exception):
                await ws.close()
        return got_message, error

    async def _read(self, ws: Any) -> tuple[bool, SpacetimeError | p.ProtocolError | None]:
        from websockets.exceptions import ConnectionClosed

        got_message = False
        try:
            async for frame in ws:
                if isinstance(frame, str):
                    return got_message, p.ProtocolError("the server sent a text frame, but protocol v2 is binary only")
                message = p.decode_server_payload(frame)
                got_message = True
                self._handle(message)
                if self._stop.is_set():
                    return got_message, None
        except ConnectionClosed as e:
            reason = f" ({e.rcvd.code} {e.rcvd.reason})" if e.rcvd is not None else ""
            return got_message, _Dropped(f"the server closed the connection{reason}")
        except (p.ProtocolError, SpacetimeError) as e:
            return got_message, e
        except (OSError, asyncio.IncompleteReadError) as e:
            return got_message, _Dropped(f"the connection dropped: {e}")
        return got_message, _Dropped("the server closed the connection")

    def _send(self, message: p.ClientMessage) -> None:
        if self._outgoing is None:
            log.warning("dropping a message to the server: the connection is closed")
            return
        self._outgoing.put_nowait(p.encode_client_message(message))

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

    async def call_reducer(self, reducer: str, args: ArgsT, codec: Codec[ArgsT]) -> ReducerEvent[ArgsT]:
        """Calls ``reducer`` with ``args`` (its arguments object) and waits for the result;
        the row callbacks of its transaction run first. Returns the committed call's event.

        Raises:
            BsatnError: if ``args`` do not encode (a value of the wrong type or range).
            ReducerError: if the reducer returned an error.
            InternalError: if it failed in the host or the connection dropped first.
            DisconnectedError: if the connection has ended.
        """
        if not self.is_active:
            raise DisconnectedError(f"cannot call reducer `{reducer}`: the connection has ended")
        try:
            args_bsatn = codec.to_bytes(args)
        except BsatnError as e:
            raise BsatnError(f"the arguments of reducer `{reducer}` do not encode: {e}") from None
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
        else:
            log.warning("ignoring a one-off query or procedure result: this SDK never sends those requests")

    def _on_initial_connection(self, message: p.InitialConnection) -> None:
        if self.identity is not None and self.identity != message.identity:
            log.warning("the server assigned a different identity after reconnecting: %s", message.identity)
        self.identity = message.identity
        self.connection_id = message.connection_id
        self.token = message.token
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

    def _fail_calls(self, message: str) -> None:
        calls, self._calls = self._calls, {}
        for rid in sorted(calls):
            call = calls[rid]
            if not call.future.done():
                event = ReducerEvent(Timestamp.now(), Panic(message), call.args)
                call.future.set_result(event)

    def _begin_reconnect(self, error: SpacetimeError | p.ProtocolError | None) -> None:
        log.warning("connection lost (%s); reconnecting", error)
        self.lifecycle = "reconnecting"
        self._resync = None
        self._fail_calls("the connection was lost before the reducer's result arrived; it may or may not have run")

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

    def _end(self, error: SpacetimeError | p.ProtocolError | None) -> None:
        """Marks the connection ended and runs the connect-error or disconnect callback."""
        was = self.lifecycle
        if was == "ended":
            return
        self.lifecycle = "ended"
        self._resync = None
        self._outgoing = None
        if isinstance(error, p.ProtocolError):
            error = SpacetimeError(f"protocol error: {error}")
        if isinstance(error, _Dropped):
            error = DisconnectedError(str(error))
        self._fail_calls("the connection ended before the reducer's result arrived; it may or may not have run")
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


class _Dropped(SpacetimeError):
    """The socket dropped: reconnecting may help."""


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
class _ConnectionCallbacks:
    on_connect: Callable[..., None] | None = None
    on_connect_error: Callable[..., None] | None = None
    on_disconnect: Callable[..., None] | None = None
    on_reconnect: Callable[..., None] | None = None


class DbConnectionBuilder(Generic[ConnT]):
    """Configures and opens a connection: ``DbConnection.builder()`` in generated
    bindings. Every ``with_``/``on_`` method returns the builder."""

    def __init__(self, factory: Callable[[ConnectionImpl], ConnT], module: ModuleInfo) -> None:
        self._factory = factory
        self._module = module
        self._uri: str | None = None
        self._database: str | None = None
        self._token: str | None = None
        self._compression = p.Compression.GZIP
        self._confirmed: bool | None = None
        self._reconnect: ReconnectPolicy | None = None
        self._callbacks = _ConnectionCallbacks()

    def with_uri(self, uri: str) -> DbConnectionBuilder[ConnT]:
        """The server's base URI (``http``, ``https``, ``ws`` or ``wss``; no scheme means
        ``ws``). Required."""
        self._uri = uri
        return self

    def with_database_name(self, name_or_identity: str) -> DbConnectionBuilder[ConnT]:
        """The database's name or identity. Required."""
        self._database = name_or_identity
        return self

    def with_token(self, token: str | None) -> DbConnectionBuilder[ConnT]:
        """The token to authenticate with; ``None`` connects anonymously and the server
        mints a new identity, whose token ``on_connect`` receives."""
        self._token = token
        return self

    def with_compression(self, compression: p.Compression) -> DbConnectionBuilder[ConnT]:
        """How the server should compress large messages (default gzip)."""
        self._compression = compression
        return self

    def with_confirmed_reads(self, confirmed: bool) -> DbConnectionBuilder[ConnT]:
        """Whether updates should wait until they are durable (the server's default: yes)."""
        self._confirmed = confirmed
        return self

    def with_reconnect(self, policy: ReconnectPolicy | None = None) -> DbConnectionBuilder[ConnT]:
        """Re-opens a dropped connection as ``policy`` says (default backoff if ``None``),
        as the same identity, and resubscribes; callbacks see only rows that changed
        meanwhile. A connection closed by ``disconnect()`` or refused by the server is never
        re-opened."""
        self._reconnect = policy or ReconnectPolicy()
        return self

    def on_connect(self, callback: Callable[[ConnT, Identity, str], None]) -> DbConnectionBuilder[ConnT]:
        """Runs once the server accepts the connection, with this client's identity and the
        token to save for reconnecting as it."""
        self._callbacks.on_connect = callback
        return self

    def on_connect_error(self, callback: Callable[[Any, SpacetimeError], None]) -> DbConnectionBuilder[ConnT]:
        """Runs if the connection fails before the server accepts it (``build`` raises the
        same error)."""
        self._callbacks.on_connect_error = callback
        return self

    def on_disconnect(self, callback: Callable[[Any, SpacetimeError | None], None]) -> DbConnectionBuilder[ConnT]:
        """Runs when an accepted connection ends: with ``None`` after ``disconnect()``."""
        self._callbacks.on_disconnect = callback
        return self

    def on_reconnect(self, callback: Callable[[ConnT, Identity, str], None]) -> DbConnectionBuilder[ConnT]:
        """Runs each time a dropped connection has been re-opened and resubscribed."""
        self._callbacks.on_reconnect = callback
        return self

    async def build(self) -> ConnT:
        """Connects and waits until the server accepts the connection.

        Raises:
            ConfigError: if the URI or database name is missing or invalid.
            ConnectError: if the server cannot be reached or refuses the connection.
        """
        if not self._uri:
            raise ConfigError("no server URI: call `with_uri`")
        if not self._database:
            raise ConfigError("no database name: call `with_database_name`")
        url = subscribe_url(self._uri, self._database, self._compression, self._confirmed)
        imp = ConnectionImpl(self._module, url, self._token, self._reconnect, self._callbacks)
        conn = self._factory(imp)
        imp.conn = conn
        imp.start()
        await imp.wait_connected()
        return conn


def all_table_queries(tables: Iterable[TableInfo]) -> list[str]:
    """``SELECT * FROM <t>`` for every table."""
    return [f"SELECT * FROM {t.name}" for t in tables]
