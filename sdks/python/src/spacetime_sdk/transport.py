"""The socket side of a connection: :class:`Transport` opens the WebSocket
(``v2.bsatn.spacetimedb``) to the URL :func:`subscribe_url` builds, sends queued client
messages in order, decodes server frames and hands each to its :class:`TransportSink`
(the connection engine), and, when a :class:`ReconnectPolicy` allows, re-opens a dropped
socket with exponential backoff.

The transport never touches the cache or runs application callbacks: it only reports
messages, drops and the end of the connection, all on the event loop it runs on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
from dataclasses import dataclass
from typing import Any, Protocol

from . import protocol as p
from .errors import ConfigError, ConnectError, DisconnectedError, SpacetimeError

log = logging.getLogger("spacetime_sdk")


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How a dropped connection is re-established: after ``n`` failed attempts in a row
    the next one waits ``initial_delay * 2**n`` seconds, at most ``max_delay`` (so the
    first attempt after a drop waits ``initial_delay``)."""

    initial_delay: float = 0.5
    max_delay: float = 30.0
    #: Give up (and run ``on_disconnect`` with the error) after this many failed attempts
    #: in a row; ``None`` retries forever.
    max_attempts: int | None = None

    def delay(self, failures: int) -> float:
        """Seconds to wait before the next attempt, after ``failures`` failed ones."""
        delay = self.initial_delay
        # Doubling stops at the cap (or at a zero delay), so a huge failure count costs a
        # few steps and never builds a huge power of two.
        for _ in range(failures):
            if delay >= self.max_delay or delay <= 0:
                break
            delay *= 2
        return float(min(delay, self.max_delay))


def subscribe_url(uri: str, database: str, compression: p.Compression, confirmed: bool | None) -> str:
    """The WebSocket URL of a database's subscribe endpoint: ``http`` and a bare
    ``host:port`` become ``ws``, ``https`` becomes ``wss``; a path prefix on ``uri`` is
    kept (without its trailing slash), and the database is percent-encoded.

    Raises:
        ConfigError: for a scheme other than http, https, ws or wss, a URI without a
            host, one with a query string, or an empty database name.
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
    if not database:
        raise ConfigError("no database name: call `with_database_name`")
    path = parts.path.rstrip("/")
    url = f"{scheme}://{parts.netloc}{path}/v1/database/{_percent_encode(database)}/subscribe?compression={compression.value}"
    if confirmed is not None:
        url += "&confirmed=true" if confirmed else "&confirmed=false"
    return url


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def _percent_encode(text: str) -> str:
    """``text`` as UTF-8 with every byte but ``A-Z a-z 0-9 - _ .`` written ``%XX``: the
    same bytes every SDK sends (``urllib.parse.quote`` would keep ``~``)."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode())


class TransportSink(Protocol):
    """What a transport reports to its connection, on the event loop."""

    def on_message(self, message: p.ServerMessage) -> None:
        """A server message arrived."""

    def on_reconnecting(self, error: SpacetimeError) -> None:
        """An accepted socket dropped and the transport is re-opening it."""

    def on_ended(self, error: SpacetimeError | None) -> None:
        """The transport stopped for good: ``None`` after :meth:`Transport.close`; a
        :class:`ConnectError` if the server never accepted the connection."""


class _Dropped(SpacetimeError):
    """The socket dropped: reconnecting may help."""


class _Ended(Exception):
    """Raised inside the supervisor to stop it, with the error to report."""


class Transport:
    """A WebSocket to one database, re-opened as its :class:`ReconnectPolicy` says."""

    def __init__(self, url: str, token: str | None, reconnect: ReconnectPolicy | None, sink: TransportSink) -> None:
        self.url = url
        #: The token presented when the socket is (re-)opened; the connection updates it
        #: to the one the server confirmed, so a reconnect keeps the identity.
        self.token = token
        self.reconnect = reconnect
        self._sink = sink
        self._outgoing: asyncio.Queue[bytes | None] | None = None
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts the supervisor task."""
        self._task = self._loop.create_task(self._supervise(), name=f"spacetime connection {self.url}")

    @property
    def closing(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._stop.is_set()

    def send(self, message: p.ClientMessage) -> None:
        """Queues ``message`` for the open socket; without one it is dropped (requests made
        while reconnecting wait in the connection, not here)."""
        if self._outgoing is None:
            log.warning("dropping a message to the server: the connection is closed")
            return
        self._outgoing.put_nowait(p.encode_client_message(message))

    def close(self) -> None:
        """Closes the socket politely and stops reconnecting."""
        self._stop.set()
        if self._outgoing is not None:
            self._outgoing.put_nowait(None)

    async def wait_stopped(self) -> None:
        """Waits until the supervisor has stopped (and reported ``on_ended``)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)

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
        ever_opened = False
        # Whether any message ever arrived: the first is the server's acceptance.
        accepted = False
        failures = 0
        last_error = ""
        try:
            while True:
                if self._stop.is_set():
                    raise _Ended(None)
                try:
                    ws = await self._open()
                except Exception as e:  # noqa: BLE001 - any failure to open is reported
                    if not ever_opened:
                        raise _Ended(ConnectError(f"cannot open a WebSocket to {self.url}: {e}")) from None
                    failures += 1
                    last_error = f"cannot reopen the WebSocket: {e}"
                else:
                    first = not ever_opened
                    ever_opened = True
                    got_message, error = await self._session(ws)
                    accepted = accepted or got_message
                    if self._stop.is_set():
                        raise _Ended(None)
                    if isinstance(error, p.ProtocolError | SpacetimeError) and not isinstance(error, _Dropped):
                        raise _Ended(error)
                    # A first socket that closed before any message was refused (for
                    # example by the module's client_connected): retrying cannot help.
                    retry = self.reconnect is not None and (got_message or not first)
                    if not retry:
                        if not accepted:
                            raise _Ended(ConnectError(f"the server closed the connection before accepting it: {error}"))
                        raise _Ended(error)
                    if got_message:
                        failures = 0
                        self._sink.on_reconnecting(_public(error) or DisconnectedError("the connection dropped"))
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
            self._sink.on_ended(_public(end.args[0]))
        except Exception as e:  # noqa: BLE001 - a bug must still end the connection visibly
            log.exception("the connection failed")
            self._sink.on_ended(SpacetimeError(f"the connection failed: {e!r}"))

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
                self._sink.on_message(message)
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


def _public(error: SpacetimeError | p.ProtocolError | None) -> SpacetimeError | None:
    """The error as the application sees it: a protocol error is a :class:`SpacetimeError`
    and a dropped socket a :class:`DisconnectedError`."""
    if isinstance(error, p.ProtocolError):
        return SpacetimeError(f"protocol error: {error}")
    if isinstance(error, _Dropped):
        return DisconnectedError(str(error))
    return error
