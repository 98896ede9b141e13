"""The shared behaviour vectors of ``protocol/tests/vectors/``, which every SDK reads:
``reconnect.json`` (the default backoff policy and its delays), ``subscribe_url.json``
(the WebSocket URL built from a base URI, a database, compression and confirmed reads)
and ``cache.json`` (server messages played through the connection engine over a
recording transport, with the row callbacks each must fire and the cache content after
it)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from spacetime_sdk import (
    DbConnectionBase,
    ReconnectPolicy,
    SubscriptionHandle,
    TableHandle,
    TableWithPrimaryKeyHandle,
    bsatn,
)
from spacetime_sdk import protocol as p
from spacetime_sdk.bsatn import BsatnError, Codec, Reader, Writer
from spacetime_sdk.cache import ColumnKey, TableInfo
from spacetime_sdk.connection import ConnectionCallbacks, ConnectionImpl, ModuleInfo
from spacetime_sdk.errors import ConfigError
from spacetime_sdk.special import ConnectionId, Identity
from spacetime_sdk.transport import Transport, subscribe_url

VECTORS = Path(__file__).resolve().parents[3] / "protocol/tests/vectors"
RECONNECT = json.loads((VECTORS / "reconnect.json").read_text())
SUBSCRIBE_URL = json.loads((VECTORS / "subscribe_url.json").read_text())
CACHE = json.loads((VECTORS / "cache.json").read_text())

#: The query set the vectors' transaction updates are attributed to: one no case
#: subscribes (a transaction update in the vectors names no query set).
UNSUBSCRIBED_QUERY_SET = 0xFFFF_FFFF


def names(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


# --- reconnect ----------------------------------------------------------------------------


def policy_of(spec: dict[str, Any]) -> ReconnectPolicy:
    return ReconnectPolicy(spec["initial_delay_ms"] / 1000, spec["max_delay_ms"] / 1000, spec["max_attempts"])


def test_the_default_reconnect_policy_is_the_shared_one() -> None:
    assert ReconnectPolicy() == policy_of(RECONNECT["policy"])


@pytest.mark.parametrize("case", RECONNECT["cases"], ids=names(RECONNECT["cases"]))
def test_reconnect_delay(case: dict[str, Any]) -> None:
    policy = policy_of(case["policy"]) if "policy" in case else ReconnectPolicy()
    assert round(policy.delay(case["failures"]) * 1000, 6) == case["delay_ms"]


# --- subscribe URL --------------------------------------------------------------------------

#: The compressions this SDK can ask for: the standard library cannot read brotli, so
#: ``Compression`` has no brotli member and those cases cannot be expressed here.
COMPRESSIONS = {c.value: c for c in p.Compression}


@pytest.mark.parametrize("case", SUBSCRIBE_URL["cases"], ids=names(SUBSCRIBE_URL["cases"]))
def test_subscribe_url(case: dict[str, Any]) -> None:
    compression = COMPRESSIONS.get(case["compression"])
    if compression is None:
        assert case["compression"] == "Brotli", f"unknown compression {case['compression']}"
        pytest.skip("this SDK never asks for brotli: Python's standard library cannot decompress it")
    if case.get("error"):
        with pytest.raises(ConfigError):
            subscribe_url(case["uri"], case["database"], compression, case["confirmed"])
    else:
        assert subscribe_url(case["uri"], case["database"], compression, case["confirmed"]) == case["url"]


# --- cache ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """A vector row: opaque BSATN whose first four bytes are its ``u32`` key."""

    key: int
    data: bytes


class RowCodec(Codec[Row]):
    """Takes a whole row as it is; the key is read from its first four bytes."""

    name = "vector row"

    def encode(self, w: Writer, value: Row) -> None:
        w.write_raw(value.data)

    def decode(self, r: Reader) -> Row:
        data = bytes(r.take(r.remaining))
        if len(data) < 4:
            raise BsatnError(f"a vector row needs a 4-byte key, got {len(data)} bytes")
        return Row(int.from_bytes(data[:4], "little"), data)


ROW = RowCodec()


class Tables:
    """One handle per vector table, recording every row callback it fires."""

    def __init__(self, imp: ConnectionImpl, spec: dict[str, dict[str, Any]], events: list[dict[str, Any]]) -> None:
        self.handles: dict[str, TableHandle[Row, Any]] = {}
        self._events = events
        for name, table in spec.items():
            handle: TableHandle[Row, Any]
            if table["primary_key"] is None:
                handle = TableHandle(imp, name)
            else:
                pk_handle: TableWithPrimaryKeyHandle[Row, Any] = TableWithPrimaryKeyHandle(imp, name)
                pk_handle.on_update(self._recorder(name, "update"))
                handle = pk_handle
            handle.on_insert(self._recorder(name, "insert"))
            handle.on_delete(self._recorder(name, "delete"))
            self.handles[name] = handle

    def _recorder(self, table: str, event: str) -> Callable[..., None]:
        def record(_ctx: Any, row: Row, new: Row | None = None) -> None:
            if new is None:
                self._events.append({"event": event, "table": table, "row": row.data.hex()})
            else:
                self._events.append({"event": event, "table": table, "old": row.data.hex(), "new": new.data.hex()})

        return record


class VectorConnection(DbConnectionBase[Tables, None, None]):
    def __init__(self, imp: ConnectionImpl, tables: Tables) -> None:
        super().__init__(imp, tables, None, None)


def module_of(spec: dict[str, dict[str, Any]]) -> ModuleInfo:
    infos = []
    for name, table in spec.items():
        pk = table["primary_key"]
        assert pk in (None, 0), "vector tables key on their first column"
        infos.append(TableInfo(name, ROW, primary_key=None if pk is None else ColumnKey("key", bsatn.U32)))
    return ModuleInfo(tuple(infos))


def row_list(rows: list[str]) -> p.BsatnRowList:
    return p.BsatnRowList.from_rows([bytes.fromhex(r) for r in rows])


def query_rows(rows: dict[str, list[str]]) -> p.QueryRows:
    return p.QueryRows([p.SingleTableRows(table, row_list(table_rows)) for table, table_rows in rows.items()])


class RecordingTransport(Transport):
    """Stands in for the socket: keeps what the connection sends."""

    def __init__(self, sink: ConnectionImpl) -> None:
        super().__init__("ws://vectors.invalid", None, None, sink)
        self.sent: list[p.ClientMessage] = []

    def send(self, message: p.ClientMessage) -> None:
        self.sent.append(message)


class Player:
    """Plays a case's messages through a connection engine. A vector query set stands for
    a real subscription: it is subscribed (or unsubscribed) first, so the server's answer
    matches a live query set."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.imp = ConnectionImpl(module_of(case["tables"]), "ws://vectors.invalid", None, None, ConnectionCallbacks())
        self.transport = RecordingTransport(self.imp)
        self.imp.transport = self.transport
        self.events: list[dict[str, Any]] = []
        self.tables = Tables(self.imp, case["tables"], self.events)
        self.conn = VectorConnection(self.imp, self.tables)
        self.imp.conn = self.conn
        self.subscriptions: dict[int, SubscriptionHandle[Any]] = {}
        self.imp.on_message(p.InitialConnection(Identity(1), ConnectionId(2), "token"))

    def play(self, message: dict[str, Any]) -> None:
        kind = message["kind"]
        if kind == "subscribe_applied":
            handle = self.conn.subscription_builder().subscribe("SELECT * FROM t")
            self.subscriptions[message["query_set"]] = handle
            sent = self.transport.sent[-1]
            assert isinstance(sent, p.Subscribe) and sent.query_set_id == handle.query_set_id
            self.imp.on_message(p.SubscribeApplied(sent.request_id, sent.query_set_id, query_rows(message["rows"])))
        elif kind == "unsubscribe_applied":
            self.subscriptions[message["query_set"]].unsubscribe()
            unsent = self.transport.sent[-1]
            assert isinstance(unsent, p.Unsubscribe)
            self.imp.on_message(p.UnsubscribeApplied(unsent.request_id, unsent.query_set_id, query_rows(message["rows"])))
        elif kind == "transaction_update":
            tables = [
                p.TableUpdate(name, [p.PersistentTableRows(row_list(change["inserts"]), row_list(change["deletes"]))])
                for name, change in message["tables"].items()
            ]
            self.imp.on_message(p.TransactionUpdate([p.QuerySetUpdate(UNSUBSCRIBED_QUERY_SET, tables)]))
        else:
            raise AssertionError(f"unknown vector message kind `{kind}`")


def run_cache_case(case: dict[str, Any]) -> None:
    player = Player(case)
    for i, step in enumerate(case["steps"]):
        player.events.clear()
        player.play(step["message"])
        what = f"step {i} ({step['message']['kind']})"
        if step.get("ordered"):
            assert player.events == step["events"], what
        else:
            key = lambda e: json.dumps(e, sort_keys=True)  # noqa: E731 - a multiset key
            assert Counter(map(key, player.events)) == Counter(map(key, step["events"])), what
        cache = {name: sorted(row.data.hex() for row in handle.iter()) for name, handle in player.tables.handles.items()}
        assert cache == step["cache"], what


@pytest.mark.parametrize("case", CACHE["cases"], ids=names(CACHE["cases"]))
def test_cache(case: dict[str, Any]) -> None:
    async def run() -> None:
        run_cache_case(case)

    asyncio.run(run())


def test_every_vector_file_has_cases() -> None:
    # A vector file that lost its cases must not pass as "nothing failed".
    assert len(RECONNECT["cases"]) > 0 and len(SUBSCRIBE_URL["cases"]) > 0 and len(CACHE["cases"]) > 0
