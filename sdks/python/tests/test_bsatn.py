"""BSATN codecs beyond the shared vectors: clear errors for values and bytes of the wrong
shape, tagged classes and enums, and the special types' conversions."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass

import pytest

from spacetime_sdk import bsatn
from spacetime_sdk.bsatn import BsatnError
from spacetime_sdk.special import ConnectionId, Identity, TimeDuration, Timestamp, Uuid


def test_integers_out_of_range_name_the_type_and_range() -> None:
    with pytest.raises(BsatnError, match=r"256 does not fit in u8 \(its range is 0..=255\)"):
        bsatn.U8.to_bytes(256)
    with pytest.raises(BsatnError, match=r"-1 does not fit in u64"):
        bsatn.U64.to_bytes(-1)
    with pytest.raises(BsatnError, match="expected an int for i32, got str"):
        bsatn.I32.to_bytes("1")  # type: ignore[arg-type]
    with pytest.raises(BsatnError, match="expected an int for i32, got bool"):
        bsatn.I32.to_bytes(True)
    assert bsatn.I256.from_bytes(bsatn.I256.to_bytes(-(1 << 255))) == -(1 << 255)
    assert bsatn.U256.from_bytes(bsatn.U256.to_bytes((1 << 256) - 1)) == (1 << 256) - 1


def test_bad_input_bytes_are_clear_errors() -> None:
    with pytest.raises(BsatnError, match="unexpected end of input: needed 4 bytes"):
        bsatn.U32.from_bytes(b"\x01")
    with pytest.raises(BsatnError, match="2 bytes left over after decoding u8"):
        bsatn.U8.from_bytes(b"\x01\x02\x03")
    with pytest.raises(BsatnError, match="invalid bool byte 0x02"):
        bsatn.BOOL.from_bytes(b"\x02")
    with pytest.raises(BsatnError, match="not valid UTF-8"):
        bsatn.STRING.from_bytes(b"\x01\x00\x00\x00\xff")
    with pytest.raises(BsatnError, match="invalid tag 2 for an option of u8"):
        bsatn.OptionCodec(bsatn.U8).from_bytes(b"\x02")
    with pytest.raises(BsatnError, match="claims 1000 elements"):
        bsatn.ArrayCodec(bsatn.U32).from_bytes(b"\xe8\x03\x00\x00")
    with pytest.raises(BsatnError, match="is not representable as f32"):
        bsatn.F32.to_bytes(1e300)


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class ShapeCircle:
    value: float


@dataclass(frozen=True, slots=True)
class ShapePoints:
    value: list[Point]


@dataclass(frozen=True, slots=True)
class ShapeEmpty:
    pass


class Color(enum.Enum):
    RED = 0
    GREEN = 1


POINT = bsatn.StructCodec(Point, "Point", lambda: (("x", bsatn.F64), ("y", bsatn.F64)))
SHAPE: bsatn.Codec[ShapeCircle | ShapePoints | ShapeEmpty] = bsatn.SumCodec(
    "Shape", lambda: ((ShapeCircle, bsatn.F32), (ShapePoints, bsatn.ArrayCodec(POINT)), (ShapeEmpty, None))
)
COLOR = bsatn.EnumCodec(Color)


def test_structs_sums_and_enums_round_trip() -> None:
    for shape in (ShapeCircle(1.5), ShapePoints([Point(1, 2), Point(-3, 0.5)]), ShapeEmpty()):
        assert SHAPE.from_bytes(SHAPE.to_bytes(shape)) == shape
    assert SHAPE.to_bytes(ShapeEmpty()) == b"\x02"
    assert COLOR.to_bytes(Color.GREEN) == b"\x01"
    assert COLOR.from_bytes(b"\x00") is Color.RED


def test_wrong_values_name_the_field() -> None:
    with pytest.raises(BsatnError, match="Point.y: expected an f64|Point.y: .* is not an f64"):
        POINT.to_bytes(Point(1.0, "no"))  # type: ignore[arg-type]
    with pytest.raises(BsatnError, match=r"expected a Shape \(one of ShapeCircle, ShapePoints, ShapeEmpty\), got Point"):
        SHAPE.to_bytes(Point(0, 0))  # type: ignore[arg-type]
    with pytest.raises(BsatnError, match="invalid tag 3 for Shape, which has 3 variants"):
        SHAPE.from_bytes(b"\x03")
    with pytest.raises(BsatnError, match="invalid tag 7 for Color"):
        COLOR.from_bytes(b"\x07")


def test_special_types_convert() -> None:
    ident = Identity.from_hex("0x" + "ab" * 32)
    assert ident.to_hex() == "ab" * 32 and ident.to_abbreviated_hex() == "ab" * 8
    assert Identity.from_hex(str(ident)) == ident
    with pytest.raises(ValueError, match="must have 64 digits"):
        Identity.from_hex("abc")
    assert ConnectionId.from_hex("00" * 15 + "01") == ConnectionId(1)
    when = dt.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=dt.timezone.utc)
    assert Timestamp.from_datetime(when) == Timestamp(1_700_000_000_123_456)
    assert Timestamp(1_700_000_000_123_456).to_datetime() == when
    assert Timestamp(-1).to_datetime() == dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)
    with pytest.raises(ValueError, match="naive datetime"):
        Timestamp.from_datetime(dt.datetime(2020, 1, 1))
    assert TimeDuration.from_timedelta(dt.timedelta(seconds=-1.5)) == TimeDuration(-1_500_000)
    assert str(TimeDuration(-1_500_000)) == "-1.500000"
    u = uuid.UUID("01020304-0506-0708-090a-0b0c0d0e0f10")
    assert Uuid.from_uuid(u).value == 0x0102030405060708090A0B0C0D0E0F10
    assert str(Uuid.from_uuid(u)) == str(u)
    assert bsatn.UUID.to_bytes(Uuid.from_uuid(u))[0] == 0x10, "u128 is little-endian on the wire"


def test_nested_options_round_trip_losslessly() -> None:
    from spacetime_sdk import Some

    twice = bsatn.NestedOptionCodec(bsatn.OptionCodec(bsatn.STRING))
    cases: list[tuple[Some[str | None] | None, bytes]] = [
        (None, b"\x01"),
        (Some(None), b"\x00\x01"),
        (Some("x"), b"\x00\x00\x01\x00\x00\x00x"),
    ]
    for value, encoded in cases:
        assert twice.to_bytes(value) == encoded
        assert twice.from_bytes(encoded) == value
    thrice = bsatn.NestedOptionCodec(bsatn.NestedOptionCodec(bsatn.OptionCodec(bsatn.I32)))
    values: list[Some[Some[int | None] | None] | None] = [None, Some(None), Some(Some(None)), Some(Some(-7))]
    encodings = [thrice.to_bytes(v) for v in values]
    assert encodings == [b"\x01", b"\x00\x01", b"\x00\x00\x01", b"\x00\x00\x00\xf9\xff\xff\xff"]
    assert [thrice.from_bytes(e) for e in encodings] == values
    listed = bsatn.ArrayCodec(bsatn.NestedOptionCodec(bsatn.OptionCodec(bsatn.U8)))
    assert listed.from_bytes(listed.to_bytes([Some(None), None, Some(3)])) == [Some(None), None, Some(3)]


def test_nested_option_mistakes_are_clear_errors() -> None:
    twice = bsatn.NestedOptionCodec(bsatn.OptionCodec(bsatn.STRING))
    with pytest.raises(BsatnError, match=r"expected Some\(...\) or None for an option of option of string, got str"):
        twice.to_bytes("x")  # type: ignore[arg-type]
    with pytest.raises(BsatnError, match="invalid tag 2 for an option of option of string"):
        twice.from_bytes(b"\x02")
    with pytest.raises(BsatnError, match="use NestedOptionCodec"):
        bsatn.OptionCodec(bsatn.OptionCodec(bsatn.STRING))
