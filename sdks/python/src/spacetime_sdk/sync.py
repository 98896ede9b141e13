"""A thin synchronous wrapper: :class:`BlockingConnection` runs the asyncio connection on
an event loop in a background thread, so plain (non-async) programs can use the SDK.

Callbacks still run on that loop's thread; :meth:`BlockingConnection.run` runs a
coroutine there and waits for its result, and :meth:`BlockingConnection.call` runs a plain
function there (to read the cache without racing the connection)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

from .builder import ConnT, DbConnectionBuilder

T = TypeVar("T")


class BlockingConnection(Generic[ConnT]):
    """A connection driven by a background thread's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread, conn: ConnT) -> None:
        self._loop = loop
        self._thread = thread
        self.conn = conn
        """The asyncio connection; touch it only through :meth:`run` and :meth:`call`."""

    @classmethod
    def connect(cls, builder: DbConnectionBuilder[ConnT], timeout: float | None = 30.0) -> BlockingConnection[ConnT]:
        """Starts a loop thread and builds the connection on it.

        Raises:
            ConnectError: as :meth:`DbConnectionBuilder.build`.
            TimeoutError: if the server has not accepted the connection within ``timeout``.
        """
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="spacetime-sdk-loop", daemon=True)
        thread.start()
        try:
            conn = asyncio.run_coroutine_threadsafe(builder.build(), loop).result(timeout)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
            raise
        return cls(loop, thread, conn)

    def run(self, coro: Coroutine[Any, Any, T] | Awaitable[T], timeout: float | None = None) -> T:
        """Runs ``coro`` (e.g. ``conn.reducers.send_message("hi")``) on the loop and
        returns its result, raising what it raises."""

        async def wrap() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), self._loop).result(timeout)

    def call(self, fn: Callable[[ConnT], T], timeout: float | None = None) -> T:
        """Runs ``fn(conn)`` on the loop's thread and returns its result."""

        async def wrap() -> T:
            return fn(self.conn)

        return asyncio.run_coroutine_threadsafe(wrap(), self._loop).result(timeout)

    def disconnect(self, timeout: float | None = 30.0) -> None:
        """Closes the connection and stops the loop thread."""
        if self._loop.is_closed():
            return
        try:
            self.run(self.conn.disconnect(), timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> BlockingConnection[ConnT]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()
