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
    ConnectionLostError,
    Insert,
    InternalError,
    ProcedureError,
    QueryError,
    ModuleInfo,
    ReconnectPolicy,
    ReducerError,
    ReducerEvent,
    SubscribeAppliedEvent,
    SubscriptionError,
    TableWithPrimaryKeyHandle,
    TimeDuration,
    Timestamp,
    Update,
)
from spacetime_sdk import bsatn, protocol as p
from spacetime_sdk.cache import ColumnKey, TableInfo
from spacetime_sdk.special import ConnectionId, Err, Ok

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


class Conn(DbConnectionBase[Db, None, None]):
    def __init__(self, imp: Any) -> None:
        super().__init__(imp, Db(imp), None, None)


def rows(*kvs: tuple[int, int]) -> p.BsatnRowList:
    return p.BsatnRowList.from_rows([KV.to_bytes(Kv(k, v)) for k, v in kvs])


@dataclass
class FakeServer:
    """A v2 server that answers subscriptions with ``table`` and runs scripted reducers."""

    table: dict[int, int] = field(default_factory=lambda: {1: 10, 2: 20})
    sessions: int = 0
    auth_headers: list[str | None] = field(default_factory=list)
    reducers: dict[str, Callable[[FakeServer, ServerConnection, p.CallReducer], Any]] = field(default_factory=dict)
    procedures: dict[str, Callable[[FakeServer, ServerConnection, p.CallProcedure], Any]] = field(default_factory=dict)
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
            elif isinstance(message, p.CallProcedure):
                await self.procedures[message.procedure](self, ws, message)
            elif isinstance(message, p.OneOffQuery):
                await self.send(ws, p.OneOffQueryResult(message.request_id, self.one_off(message.query_string)))

    def one_off(self, sql: str) -> Ok[p.QueryRows] | Err[str]:
        """Whole rows of `kv` for `SELECT *`, its keys alone for a projection, rows of a
        table the client does not know, or an error."""
        if sql == "SELECT * FROM kv":
            return Ok(p.QueryRows([p.SingleTableRows("kv", rows(*self.table.items()))]))
        if sql == "SELECT key FROM kv":
            keys = p.BsatnRowList.from_rows([bytes([k]) for k in self.table])
            return Ok(p.QueryRows([p.SingleTableRows("kv", keys)]))
        if sql == "SELECT * FROM other":
            return Ok(p.QueryRows([p.SingleTableRows("other", p.BsatnRowList.from_rows([b"\x01\x02\x03"]))]))
        return Err(f"no such table in `{sql}`")


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


async def add(server: FakeServer, ws: ServerConnection, call: p.CallProcedure) -> None:
    """Sums its two u8 arguments into a u16, after committing (as `with_tx` would) a new
    row 3 whose update reaches the client before the result."""
    a, b = call.args[0], call.args[1]
    update = p.TransactionUpdate([p.QuerySetUpdate(1, [p.TableUpdate("kv", [p.PersistentTableRows(rows((3, a)), rows())])])])
    await server.send(ws, update)
    status = p.ProcedureReturned(bsatn.U16.to_bytes(a + b))
    await server.send(ws, p.ProcedureResult(status, Timestamp(9), TimeDuration(1), call.request_id))


async def panics(server: FakeServer, ws: ServerConnection, call: p.CallProcedure) -> None:
    status = p.ProcedureInternalError("the procedure panicked: boom")
    await server.send(ws, p.ProcedureResult(status, Timestamp(9), TimeDuration(1), call.request_id))


async def drops(server: FakeServer, ws: ServerConnection, call: p.CallProcedure) -> None:
    await ws.close()


class _PairCodec(bsatn.Codec[tuple[int, int]]):
    """Two u8 arguments."""

    name = "Pair"

    def encode(self, w: bsatn.Writer, value: tuple[int, int]) -> None:
        w.write_u8(value[0])
        w.write_u8(value[1])

    def decode(self, r: bsatn.Reader) -> tuple[int, int]:
        return (r.read_u8(), r.read_u8())


def test_a_procedure_returns_its_value_after_its_transactions_row_callbacks() -> None:
    async def body() -> None:
        server = FakeServer(procedures={"add": add, "panics": panics})
        async with running(server):
            conn = await builder(server).build()
            await conn.subscription_builder().subscribe("SELECT * FROM kv").applied()
            inserted: list[int] = []
            conn.db.kv.on_insert(lambda ctx, row: inserted.append(row.key))
            total = await conn._imp.call_procedure("add", (2, 40), _PairCodec(), bsatn.U16)
            assert total == 42
            assert inserted == [3], "the row its transaction inserted was reported before the value"

            with pytest.raises(ProcedureError, match="procedure `panics` failed: the procedure panicked: boom") as e:
                await conn._imp.call_procedure("panics", (0, 0), _PairCodec(), bsatn.U16)
            assert e.value.procedure == "panics" and e.value.message == "the procedure panicked: boom"

            # A return value of another type than the bindings expect is an error, not garbage.
            with pytest.raises(ProcedureError, match="does not decode"):
                await conn._imp.call_procedure("add", (1, 1), _PairCodec(), bsatn.STRING)
            with pytest.raises(bsatn.BsatnError, match="the arguments of procedure `add` do not encode"):
                await conn._imp.call_procedure("add", (1, 300), _PairCodec(), bsatn.U16)
            await conn.disconnect()
            with pytest.raises(DisconnectedError, match="cannot call procedure `add`"):
                await conn._imp.call_procedure("add", (1, 1), _PairCodec(), bsatn.U16)

    run(body())


def test_a_procedure_waiting_when_the_connection_drops_fails() -> None:
    async def body() -> None:
        server = FakeServer(procedures={"add": add, "drops": drops})
        async with running(server):
            conn, reconnected = await connect_reconnecting(server)
            with pytest.raises(ConnectionLostError, match="before the result of procedure `drops` arrived"):
                await conn._imp.call_procedure("drops", (0, 0), _PairCodec(), bsatn.U16)
            # The connection itself goes on: a call made while it reconnects waits, then
            # goes out on the new socket.
            assert not reconnected.is_set()
            assert await conn._imp.call_procedure("add", (1, 2), _PairCodec(), bsatn.U16) == 3
            assert reconnected.is_set() and server.sessions == 2
            await conn.disconnect()

            # Without a reconnect policy the connection ends, and the call with it.
            plain = await builder(server).build()
            with pytest.raises(ConnectionLostError, match="the connection ended before the result"):
                await plain._imp.call_procedure("drops", (0, 0), _PairCodec(), bsatn.U16)
            assert await plain.wait_closed() is not None, "the server closed it: an error, not a disconnect"

    run(body())


def test_one_off_queries_give_typed_rows_for_known_tables_and_raw_rows_otherwise() -> None:
    async def body() -> None:
        server = FakeServer()
        async with running(server):
            conn = await builder(server).build()
            whole = await conn.query("SELECT * FROM kv")
            assert whole.rows_of(conn.db.kv) == [Kv(1, 10), Kv(2, 20)]
            assert conn.db.kv.count() == 0, "a one-off query does not fill the cache"

            keys = await conn.query("SELECT key FROM kv")
            table = keys.table("kv")
            assert table is not None and table.rows is None and table.raw_rows == [b"\x01", b"\x02"]
            with pytest.raises(QueryError, match="not whole rows"):
                keys.rows_of(conn.db.kv)

            other = await conn.query("SELECT * FROM other")
            assert other.raw_rows() == [b"\x01\x02\x03"] and other.tables[0].rows is None
            assert other.rows_of(conn.db.kv) == []

            with pytest.raises(QueryError, match="query `SELECT nope` failed: no such table in `SELECT nope`"):
                await conn.query("SELECT nope")
            await conn.disconnect()
            with pytest.raises(DisconnectedError):
                await conn.query("SELECT * FROM kv")

    run(body())
