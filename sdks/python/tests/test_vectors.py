"""The shared test vectors: every case of ``sats/tests/vectors/bsatn.json`` encodes to its
bytes and decodes back to its value through the SDK's codecs, and every message of
``protocol/tests/vectors/messages.json`` decodes and re-encodes byte for byte.

A vector's type is SATS-JSON; :func:`codec_for` maps it onto the SDK's codecs (the special
types, options, results and ScheduleAt onto the dedicated ones), and :func:`to_py` turns
the SATS-JSON value into the Python value those codecs use."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest

from spacetime_sdk import bsatn, protocol as p
from spacetime_sdk.bsatn import Codec, Reader, Writer
from spacetime_sdk.special import (
    ConnectionId,
    Err,
    Identity,
    Ok,
    ScheduleAtInterval,
    ScheduleAtTime,
    TimeDuration,
    Timestamp,
    Uuid,
)

REPO = Path(__file__).resolve().parents[3]
BSATN_CASES = json.loads((REPO / "sats/tests/vectors/bsatn.json").read_text())
MESSAGE_CASES = json.loads((REPO / "protocol/tests/vectors/messages.json").read_text())

PRIMITIVES: dict[str, Codec[Any]] = {
    "Bool": bsatn.BOOL,
    "U8": bsatn.U8,
    "U16": bsatn.U16,
    "U32": bsatn.U32,
    "U64": bsatn.U64,
    "U128": bsatn.U128,
    "U256": bsatn.U256,
    "I8": bsatn.I8,
    "I16": bsatn.I16,
    "I32": bsatn.I32,
    "I64": bsatn.I64,
    "I128": bsatn.I128,
    "I256": bsatn.I256,
    "F32": bsatn.F32,
    "F64": bsatn.F64,
    "String": bsatn.STRING,
}

SPECIAL_PRODUCTS: dict[str, Codec[Any]] = {
    "__identity__": bsatn.IDENTITY,
    "__connection_id__": bsatn.CONNECTION_ID,
    "__timestamp_micros_since_unix_epoch__": bsatn.TIMESTAMP,
    "__time_duration_micros__": bsatn.TIME_DURATION,
    "__uuid__": bsatn.UUID,
}


def _name(element: dict[str, Any]) -> str:
    name: str = element["name"]["some"]
    return name


class DictProduct(Codec[dict[str, Any]]):
    """A product as a dict of its fields (the vectors' products have no class)."""

    def __init__(self, fields: list[tuple[str, Codec[Any]]]) -> None:
        self.fields = fields

    def encode(self, w: Writer, value: dict[str, Any]) -> None:
        for name, codec in self.fields:
            codec.encode(w, value[name])

    def decode(self, r: Reader) -> dict[str, Any]:
        return {name: codec.decode(r) for name, codec in self.fields}


class DictSum(Codec[tuple[str, Any]]):
    """A sum as ``(variant name, payload)``."""

    def __init__(self, variants: list[tuple[str, Codec[Any]]]) -> None:
        self.variants = variants

    def encode(self, w: Writer, value: tuple[str, Any]) -> None:
        tag = [n for n, _ in self.variants].index(value[0])
        w.write_u8(tag)
        self.variants[tag][1].encode(w, value[1])

    def decode(self, r: Reader) -> tuple[str, Any]:
        name, codec = self.variants[r.read_u8()]
        return name, codec.decode(r)


def _is_option(ty: dict[str, Any]) -> bool:
    variants = ty.get("Sum", {}).get("variants", [])
    return [_name(v) for v in variants] == ["some", "none"]


def codec_for(ty: dict[str, Any]) -> Codec[Any]:
    """The SDK codec for a SATS-JSON type."""
    (kind, body), = ty.items()
    if kind in PRIMITIVES:
        return PRIMITIVES[kind]
    if kind == "Array":
        if body == {"U8": []}:
            return bsatn.BYTES
        return bsatn.ArrayCodec(codec_for(body))
    if kind == "Product":
        elements = body["elements"]
        if len(elements) == 1 and _name(elements[0]) in SPECIAL_PRODUCTS:
            return SPECIAL_PRODUCTS[_name(elements[0])]
        if not elements:
            return bsatn.UNIT
        return DictProduct([(_name(e), codec_for(e["algebraic_type"])) for e in elements])
    if kind == "Sum":
        variants = body["variants"]
        names = [_name(v) for v in variants]
        if _is_option(ty) and not _is_option(variants[0]["algebraic_type"]):
            return bsatn.OptionCodec(codec_for(variants[0]["algebraic_type"]))
        if names == ["ok", "err"]:
            return bsatn.ResultCodec(codec_for(variants[0]["algebraic_type"]), codec_for(variants[1]["algebraic_type"]))
        if names == ["Interval", "Time"]:
            return bsatn.SCHEDULE_AT
        return DictSum([(_name(v), codec_for(v["algebraic_type"])) for v in variants])
    raise AssertionError(f"the vectors use a type this test does not map: {kind}")


def _int(value: Any) -> int:
    if isinstance(value, str):
        return int(value, 16)
    assert isinstance(value, int)
    return value


def to_py(ty: dict[str, Any], value: Any) -> Any:
    """The Python value :func:`codec_for`'s codec uses for a SATS-JSON value."""
    (kind, body), = ty.items()
    if kind in ("U128", "U256", "I128", "I256") or kind.startswith(("U", "I")):
        return _int(value)
    if kind in ("Bool", "String", "F32", "F64"):
        return value
    if kind == "Array":
        if body == {"U8": []}:
            return bytes.fromhex(value)
        return [to_py(body, v) for v in value]
    if kind == "Product":
        elements = body["elements"]
        if len(elements) == 1 and _name(elements[0]) in SPECIAL_PRODUCTS:
            raw = _int(value[_name(elements[0])])
            special = {
                "__identity__": Identity,
                "__connection_id__": ConnectionId,
                "__timestamp_micros_since_unix_epoch__": Timestamp,
                "__time_duration_micros__": TimeDuration,
                "__uuid__": Uuid,
            }[_name(elements[0])]
            return special(raw)
        if not elements:
            return None
        return {_name(e): to_py(e["algebraic_type"], value[_name(e)]) for e in elements}
    variants = body["variants"]
    (name, payload), = value.items()
    (variant,) = [v for v in variants if _name(v) == name]
    inner = to_py(variant["algebraic_type"], payload)
    codec = codec_for(ty)
    if isinstance(codec, bsatn.OptionCodec):
        return inner if name == "some" else None
    if isinstance(codec, bsatn.ResultCodec):
        return Ok(inner) if name == "ok" else Err(inner)
    if codec is bsatn.SCHEDULE_AT:
        return ScheduleAtInterval(inner) if name == "Interval" else ScheduleAtTime(inner)
    return (name, inner)


def _same(ty: dict[str, Any], got: Any, want: Any) -> bool:
    if ty == {"F32": []}:
        rounded: float = struct.unpack("<f", struct.pack("<f", want))[0]
        return bool(got == rounded and math.copysign(1, got) == math.copysign(1, rounded))
    if ty == {"F64": []}:
        return bool(got == want and math.copysign(1, got) == math.copysign(1, want))
    return bool(got == want)


def test_the_vector_file_has_every_case() -> None:
    assert len(BSATN_CASES) >= 65
    assert len({c["name"] for c in BSATN_CASES}) == len(BSATN_CASES), "case names are unique"


@pytest.mark.parametrize("case", BSATN_CASES, ids=[c["name"] for c in BSATN_CASES])
def test_bsatn_vector(case: dict[str, Any]) -> None:
    codec = codec_for(case["type"])
    value = to_py(case["type"], case["value"])
    expected = bytes.fromhex(case["bsatn_hex"])
    assert codec.to_bytes(value).hex() == expected.hex(), "encoding"
    assert _same(case["type"], codec.from_bytes(expected), value), "decoding"


def _rows_fixed() -> p.BsatnRowList:
    return p.BsatnRowList(p.RowSizeFixed(4), bytes([1, 0, 0, 0, 2, 0, 0, 0]))


def _rows_offsets() -> p.BsatnRowList:
    return p.BsatnRowList(p.RowOffsets([0, 3]), b"\x01\x00\x00\x02\x00")


def _transaction_update() -> p.TransactionUpdate:
    return p.TransactionUpdate(
        [
            p.QuerySetUpdate(
                7,
                [
                    p.TableUpdate("user", [p.PersistentTableRows(_rows_fixed(), _rows_offsets())]),
                    p.TableUpdate("ev", [p.EventTableRows(_rows_fixed())]),
                ],
            )
        ]
    )


def _query_rows() -> p.QueryRows:
    return p.QueryRows([p.SingleTableRows("message", _rows_offsets())])


IDENTITY = Identity((0x0102030405060708090A0B0C0D0E0F10 << 128) | 0x1112131415161718191A1B1C1D1E1F20)
TIMESTAMP = Timestamp(1_700_000_000_123_456)


def _reducer(result: p.ReducerOutcome) -> p.ServerMessage:
    return p.ReducerResult(6, TIMESTAMP, result)


MESSAGES: dict[str, Any] = {
    "client_subscribe": p.Subscribe(1, 2, ["SELECT * FROM user", "SELECT * FROM message"]),
    "client_unsubscribe_default": p.Unsubscribe(3, 2, p.UnsubscribeFlags.DEFAULT),
    "client_unsubscribe_send_dropped": p.Unsubscribe(4, 2, p.UnsubscribeFlags.SEND_DROPPED_ROWS),
    "client_one_off_query": p.OneOffQuery(5, "SELECT 1"),
    "client_call_reducer": p.CallReducer(6, "set_name", b"\x03\x00\x00\x00bob"),
    "client_call_procedure": p.CallProcedure(7, "p", b""),
    "server_initial_connection": p.InitialConnection(IDENTITY, ConnectionId(0xA1A2A3A4A5A6A7A8A9AAABACADAEAFB0), "tok"),
    "server_subscribe_applied": p.SubscribeApplied(1, 2, _query_rows()),
    "server_unsubscribe_applied_rows": p.UnsubscribeApplied(4, 2, _query_rows()),
    "server_unsubscribe_applied_none": p.UnsubscribeApplied(3, 2, None),
    "server_subscription_error_request": p.SubscriptionError(1, 2, "no such table"),
    "server_subscription_error_live": p.SubscriptionError(None, 2, "bad"),
    "server_transaction_update": _transaction_update(),
    "server_one_off_ok": p.OneOffQueryResult(5, Ok(_query_rows())),
    "server_one_off_err": p.OneOffQueryResult(5, Err("oops")),
    "server_reducer_ok": _reducer(p.ReducerOk(b"", _transaction_update())),
    "server_reducer_ok_empty": _reducer(p.ReducerOkEmpty()),
    "server_reducer_err": _reducer(p.ReducerErr(bsatn.STRING.to_bytes("Names must not be empty"))),
    "server_reducer_internal_error": _reducer(p.ReducerInternalError("reducer ran out of energy")),
    "server_procedure_returned": p.ProcedureResult(p.ProcedureReturned(bytes([42])), TIMESTAMP, TimeDuration(1500), 7),
    "server_procedure_internal_error": p.ProcedureResult(
        p.ProcedureInternalError("no such procedure"), TIMESTAMP, TimeDuration(0), 7
    ),
}


def test_every_message_vector_has_a_message() -> None:
    assert sorted(MESSAGES) == sorted(c["name"] for c in MESSAGE_CASES)


@pytest.mark.parametrize("case", MESSAGE_CASES, ids=[c["name"] for c in MESSAGE_CASES])
def test_message_vector(case: dict[str, Any]) -> None:
    expected = bytes.fromhex(case["bsatn_hex"])
    message = MESSAGES[case["name"]]
    codec: Codec[Any] = p.CLIENT_MESSAGE if case["name"].startswith("client") else p.SERVER_MESSAGE
    assert codec.to_bytes(message).hex() == expected.hex(), "encoding"
    assert codec.from_bytes(expected) == message, "decoding"


def test_row_lists_split_into_rows() -> None:
    assert _rows_fixed().rows() == [b"\x01\x00\x00\x00", b"\x02\x00\x00\x00"]
    assert _rows_offsets().rows() == [b"\x01\x00\x00", b"\x02\x00"]
    assert p.BsatnRowList().rows() == []
    assert p.BsatnRowList.from_rows([b"ab", b"cd"]) == p.BsatnRowList(p.RowSizeFixed(2), b"abcd")
    assert p.BsatnRowList.from_rows([b"a", b"cd"]).rows() == [b"a", b"cd"]
    with pytest.raises(p.ProtocolError, match="do not split into rows of 3 bytes"):
        p.BsatnRowList(p.RowSizeFixed(3), b"abcd").rows()
    with pytest.raises(p.ProtocolError, match="must start at 0"):
        p.BsatnRowList(p.RowOffsets([1]), b"ab").rows()


def test_compression_envelope() -> None:
    import gzip

    body = p.SERVER_MESSAGE.to_bytes(MESSAGES["server_initial_connection"])
    assert p.decode_server_payload(b"\x00" + body) == MESSAGES["server_initial_connection"]
    assert p.decode_server_payload(b"\x02" + gzip.compress(body)) == MESSAGES["server_initial_connection"]
    with pytest.raises(p.ProtocolError, match="brotli"):
        p.decode_server_payload(b"\x01abc")
    with pytest.raises(p.ProtocolError, match="unknown compression tag 9"):
        p.decode_server_payload(b"\x09abc")
    with pytest.raises(p.ProtocolError, match="malformed server message"):
        p.decode_server_payload(b"\x00\x63")
