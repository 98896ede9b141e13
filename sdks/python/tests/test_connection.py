"""The connection against a scripted v2 server on loopback: connect and identity, row
callbacks before a reducer call returns, reducer errors as exceptions, subscription
handles and streams, and reconnect with resubscription that reports only the rows that
changed while the connection was down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from spacetime_sdk import (
    DbConnectionBase,
    DbConnectionBuilder,
    DisconnectedError,
    Identity,
    Insert,
    InternalError,
    ModuleInfo,
    ReconnectPolicy,
    ReducerError,
    ReducerEvent,
    SubscribeAppliedEvent,
    SubscriptionError,
    TableWithPrimaryKeyHandle,
    Timestamp,
    Update,
)
from spacetime_sdk import bsatn, protocol as p
from spacetime_sdk.cache import ColumnKey, TableInfo
from spacetime_sdk.special import ConnectionId

TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Kv:
    key: int
    value: int


KV = bsatn.StructCodec(Kv, "Kv", lambda: (("key", bsatn.U8), ("value", bsatn.U8)))
MODULE = ModuleInfo((TableInfo("kv", KV, primary_key=ColumnKey("key", bsatn.U8)),))


class Db:
    def __init__(self, imp: Any) -> None:
        self.kv: TableWithPrimaryKeyHandle[Kv, Any] = TableWithPrimaryKeyHandle(imp, "kv")


class Conn(DbConnectionBase[Db, None]):
    def __init__(self, imp: Any) -> None:
        super().__init__(imp, Db(imp), None)


def rows(*kvs: tuple[int, int]) -> p.BsatnRowList:
    return p.BsatnRowList.from_rows([KV.to_bytes(Kv(k, v)) for k, v in kvs])


@dataclass
class FakeServer:
    """A v2 server that answers subscriptions with ``table`` and runs scripted reducers."""

    table: dict[int, int] = field(default_factory=lambda: {1: 10, 2: 20})
    sessions: int = 0
    auth_headers: list[str | None] = field(default_factory=list)
    reducers: dict[str, Callable[[FakeServer, ServerConnection, p.CallReducer], Any]] = field(default_factory=dict)
    url: str = ""

    async def send(self, ws: ServerConnection, message: p.ServerMessage) -> None:
        await ws.send(b"\x00" + p.SERVER_MESSAGE.to_bytes(message))

    async def handler(self, ws: ServerConnection) -> None:
        self.sessions += 1
        self.auth_headers.append(ws.request.headers.get("Authorization") if ws.request else None)
        await self.send(ws, p.InitialConnection(Identity(7), ConnectionId(self.sessions), "tok"))
        async for frame in ws:
            assert isinstance(frame, bytes)
            message = p.CLIENT_MESSAGE.from_bytes(frame)
            if isinstance(message, p.Subscribe):
                if message.query_strings == ["bad"]:
                    await self.send(ws, p.SubscriptionError(message.request_id, message.query_set_id, "no such table: bad"))
                    continue
                applied = p.QueryRows([p.SingleTableRows("kv", rows(*self.table.items()))])
                await self.send(ws, p.SubscribeApplied(message.request_id, message.query_set_id, applied))
            elif isinstance(message, p.Unsubscribe):
                dropped = p.QueryRows([p.SingleTableRows("kv", rows(*self.table.items()))])
                await self.send(ws, p.UnsubscribeApplied(message.request_id, message.query_set_id, dropped))
            elif isinstance(message, p.CallReducer):
                await self.reducers[message.reducer](self, ws, message)


@asynccontextmanager
async def running(server: FakeServer) -> AsyncIterator[FakeServer]:
    async with serve(server.handler, "127.0.0.1", 0, subprotocols=[p.BIN_PROTOCOL]) as ws_server:  # type: ignore[list-item]
        port = next(iter(ws_server.sockets)).getsockname()[1]
        server.url = f"http://127.0.0.1:{port}"
        yield server


def builder(server: FakeServer) -> DbConnectionBuilder[Conn]:
    return DbConnectionBuilder(Conn, MODULE).with_uri(server.url).with_database_name("db")


async def set_one(server: FakeServer, ws: ServerConnection, call: p.CallReducer) -> None:
    """Replaces key 1's value with the argument byte, as a reducer would."""
    new = call.args[0]
    update = p.TransactionUpdate(
        [p.QuerySetUpdate(1, [p.TableUpdate("kv", [p.PersistentTableRows(rows((1, new)), rows((1, server.table[1])))])])]
    )
    server.table[1] = new
    await server.send(ws, p.ReducerResult(call.request_id, Timestamp(5), p.ReducerOk(b"", update)))


async def fail(server: FakeServer, ws: ServerConnection, call: p.CallReducer) -> None:
    await server.send(ws, p.ReducerResult(call.request_id, Timestamp(5), p.ReducerErr(bsatn.STRING.to_bytes("nope"))))


def run(coro: Any) -> None:
    asyncio.run(asyncio.wait_for(coro, TIMEOUT))


def test_row_callbacks_run_before_the_reducer_call_returns() -> None:
    async def body() -> None:
        server = FakeServer(reducers={"set_one": set_one, "fail": fail})
        async with running(server):
            connected: list[Identity] = []
            conn = await builder(server).on_connect(lambda c, identity, token: connected.append(identity)).build()
            assert connected == [Identity(7)] and conn.identity == Identity(7) and conn.token == "tok"
            seen: list[str] = []
            conn.db.kv.on_insert(lambda ctx, row: seen.append(f"insert {row.key} {type(ctx.event).__name__}"))
            conn.db.kv.on_update(lambda ctx, old, new: seen.append(f"update {old.value}->{new.value}"))
            handle = conn.subscription_builder().on_applied(lambda ctx: seen.append("applied")).subscribe("SELECT * FROM kv")
            await handle.applied()
            assert seen == ["insert 1 SubscribeAppliedEvent", "insert 2 SubscribeAppliedEvent", "applied"]
            assert conn.db.kv.count() == 2 and handle.is_active()

            event = await conn._imp.call_reducer("set_one", 11, bsatn.U8)
            assert seen[-1] == "update 10->11", "the row callback ran before the call returned"
            assert isinstance(event, ReducerEvent) and event.timestamp == Timestamp(5)

            with pytest.raises(ReducerError, match="reducer `fail` failed: nope") as failure:
                await conn._imp.call_reducer("fail", 0, bsatn.U8)
            assert failure.value.message == "nope"

            bad = conn.subscription_builder().subscribe(["bad"])
            with pytest.raises(SubscriptionError, match="no such table: bad"):
                await bad.applied()
            assert bad.is_ended()

            handle.unsubscribe()
            await handle.ended()
            assert conn.db.kv.count() == 0
            await conn.disconnect()
            assert await conn.wait_closed() is None
            with pytest.raises(DisconnectedError):
                await conn._imp.call_reducer("set_one", 1, bsatn.U8)

    run(body())


def test_a_refused_connection_raises_connect_error() -> None:
    async def body() -> None:
        from spacetime_sdk import ConnectError

        errors: list[str] = []
        b = DbConnectionBuilder(Conn, MODULE).with_uri("http://127.0.0.1:1").with_database_name("db")
        with pytest.raises(ConnectError, match="cannot open a WebSocket"):
            await b.on_connect_error(lambda ctx, e: errors.append(str(e))).build()
        assert len(errors) == 1

    run(body())


async def change_then_drop(server: FakeServer, ws: ServerConnection, call: p.CallReducer) -> None:
    """The server changes rows while the client is away (key 2 updated, key 3 new), then
    drops it."""
    server.table = {1: 10, 2: 25, 3: 30}
    await ws.close()


async def connect_reconnecting(server: FakeServer) -> tuple[Conn, asyncio.Event]:
    """A connection that reconnects quickly, and an event set once it has."""
    reconnected = asyncio.Event()
    conn = await (
        builder(server)
        .with_reconnect(ReconnectPolicy(initial_delay=0.01, max_delay=0.05))
        .on_reconnect(lambda c, identity, token: reconnected.set())
        .build()
    )
    return conn, reconnected


def test_reconnect_resubscribes_and_reports_only_real_changes() -> None:
    async def body() -> None:
        server = FakeServer(reducers={"drop": change_then_drop})
        async with running(server):
            conn, reconnected = await connect_reconnecting(server)
            handle = conn.subscription_builder().subscribe("SELECT * FROM kv")
            stream = handle.changes()
            await handle.applied()
            changes: list[str] = []
            conn.db.kv.on_insert(lambda ctx, row: changes.append(f"insert {row}"))
            conn.db.kv.on_delete(lambda ctx, row: changes.append(f"delete {row}"))
            conn.db.kv.on_update(lambda ctx, old, new: changes.append(f"update {old.value}->{new.value}"))

            with pytest.raises(InternalError, match="connection was lost"):
                await conn._imp.call_reducer("drop", 0, bsatn.U8)
            await reconnected.wait()
            assert server.sessions == 2
            assert server.auth_headers == [None, "Bearer tok"], "the reconnect uses the token the server gave"
            assert sorted(changes) == ["insert Kv(key=3, value=30)", "update 20->25"]
            assert sorted((r.key, r.value) for r in conn.db.kv.iter()) == [(1, 10), (2, 25), (3, 30)]
            assert handle.is_active()

            first = [await anext(stream) for _ in range(2)]
            assert all(isinstance(c, Insert) and isinstance(c.event, SubscribeAppliedEvent) for c in first)
            await conn.disconnect()

    run(body())


def test_a_stream_sees_the_changes_a_reconnect_catches_up() -> None:
    """The ``async for`` stream gets the same net changes across a reconnect as the row
    callbacks, then the rows its unsubscribe drops, then ends."""

    async def body() -> None:
        server = FakeServer(reducers={"drop": change_then_drop})
        async with running(server):
            conn, reconnected = await connect_reconnecting(server)
            handle = conn.subscription_builder().subscribe("SELECT * FROM kv")
            seen: list[str] = []

            async def collect() -> None:
                async for change in handle:
                    if isinstance(change, Update):
                        seen.append(f"update {change.old.value}->{change.new.value} {type(change.event).__name__}")
                    else:
                        seen.append(f"{type(change).__name__.lower()} {change.row.key} {type(change.event).__name__}")

            reader = asyncio.create_task(collect())
            await handle.applied()
            with pytest.raises(InternalError, match="connection was lost"):
                await conn._imp.call_reducer("drop", 0, bsatn.U8)
            await reconnected.wait()
            handle.unsubscribe()
            await handle.ended()
            await reader
            assert seen == [
                "insert 1 SubscribeAppliedEvent",
                "insert 2 SubscribeAppliedEvent",
                "insert 3 SubscribeAppliedEvent",
                "update 20->25 SubscribeAppliedEvent",
                "delete 1 UnsubscribeAppliedEvent",
                "delete 2 UnsubscribeAppliedEvent",
                "delete 3 UnsubscribeAppliedEvent",
            ]
            await conn.disconnect()

    run(body())


def test_blocking_connection_drives_the_loop_from_a_thread() -> None:
    import threading

    from spacetime_sdk import BlockingConnection

    ready = threading.Event()
    stop: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
    server = FakeServer(reducers={"set_one": set_one})

    async def serve_until_stopped() -> None:
        async with running(server):
            stopped = asyncio.Event()
            stop.append((asyncio.get_running_loop(), stopped))
            ready.set()
            await stopped.wait()

    thread = threading.Thread(target=lambda: asyncio.run(serve_until_stopped()), daemon=True)
    thread.start()
    assert ready.wait(TIMEOUT)
    with BlockingConnection.connect(builder(server)) as blocking:
        handle = blocking.call(lambda conn: conn.subscription_builder().subscribe("SELECT * FROM kv"))
        blocking.run(handle.applied(), TIMEOUT)
        assert blocking.call(lambda conn: conn.db.kv.count()) == 2
        blocking.run(blocking.conn._imp.call_reducer("set_one", 12, bsatn.U8), TIMEOUT)
        assert blocking.call(lambda conn: sorted(r.value for r in conn.db.kv.iter())) == [12, 20]
    loop, stopped = stop[0]
    loop.call_soon_threadsafe(stopped.set)
    thread.join(TIMEOUT)
    assert not thread.is_alive()
