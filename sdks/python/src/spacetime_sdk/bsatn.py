"""BSATN, the binary encoding of every value on the wire: a :class:`Writer` and a
:class:`Reader` of the primitive forms, and :class:`Codec` objects that encode and decode
whole values of one type.

Products are their fields back to back, sums a ``u8`` tag then the payload, strings,
byte strings and arrays a ``u32`` length then the contents, everything little-endian.
Generated bindings describe each of their types as a codec built from the ones here
(``StructCodec``, ``SumCodec``, ``EnumCodec``); they hold no encoding logic of their own.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from .special import (
    ConnectionId,
    Err,
    Identity,
    Ok,
    ScheduleAt,
    ScheduleAtInterval,
    ScheduleAtTime,
    Some,
    TimeDuration,
    Timestamp,
    Uuid,
)

T = TypeVar("T")
E = TypeVar("E")
EnumT = TypeVar("EnumT", bound=enum.Enum)


class BsatnError(ValueError):
    """A value cannot be encoded as its type, or bytes do not decode as the expected type."""


_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")


class Writer:
    """Appends BSATN to a growing buffer; :meth:`getvalue` returns what was written."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def getvalue(self) -> bytes:
        """The bytes written so far."""
        return bytes(self._buf)

    def write_raw(self, data: bytes | bytearray | memoryview) -> None:
        """Appends ``data`` as it is, with no length prefix."""
        self._buf += data

    def write_int(self, value: int, size: int, signed: bool, type_name: str) -> None:
        """Appends ``value`` as a ``size``-byte little-endian integer.

        Raises:
            BsatnError: if ``value`` is not an ``int`` or does not fit in ``type_name``.
        """
        if not isinstance(value, int) or isinstance(value, bool):
            raise BsatnError(f"expected an int for {type_name}, got {type(value).__name__} {value!r}")
        try:
            self._buf += value.to_bytes(size, "little", signed=signed)
        except OverflowError:
            bits = size * 8
            low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
            raise BsatnError(f"{value} does not fit in {type_name} (its range is {low}..={high})") from None

    def write_bool(self, value: bool) -> None:
        """Appends a bool as one byte, 0 or 1."""
        if not isinstance(value, bool):
            raise BsatnError(f"expected a bool, got {type(value).__name__} {value!r}")
        self._buf.append(1 if value else 0)

    def write_u8(self, value: int) -> None:
        """Appends a ``u8`` (also the tag of a sum)."""
        self.write_int(value, 1, False, "u8")

    def write_u32(self, value: int) -> None:
        """Appends a ``u32`` (also a length)."""
        self.write_int(value, 4, False, "u32")

    def write_f32(self, value: float) -> None:
        """Appends an IEEE single."""
        try:
            self._buf += _F32.pack(value)
        except (struct.error, OverflowError) as e:
            raise BsatnError(f"{value!r} is not representable as f32: {e}") from None

    def write_f64(self, value: float) -> None:
        """Appends an IEEE double."""
        try:
            self._buf += _F64.pack(value)
        except struct.error as e:
            raise BsatnError(f"{value!r} is not an f64: {e}") from None

    def write_len(self, length: int) -> None:
        """Appends the ``u32`` length of a string, byte string or array."""
        if length > 0xFFFF_FFFF:
            raise BsatnError(f"a length of {length} does not fit in the u32 length prefix")
        self._buf += length.to_bytes(4, "little")

    def write_bytes(self, value: bytes | bytearray | memoryview) -> None:
        """Appends a byte string: its length, then its bytes."""
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise BsatnError(f"expected bytes, got {type(value).__name__}")
        self.write_len(len(value))
        self._buf += value

    def write_string(self, value: str) -> None:
        """Appends a string as UTF-8: its length in bytes, then the bytes."""
        if not isinstance(value, str):
            raise BsatnError(f"expected a str, got {type(value).__name__} {value!r}")
        self.write_bytes(value.encode("utf-8"))


class Reader:
    """Reads BSATN from ``data``, front to back."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
        self._pos = 0

    @property
    def remaining(self) -> int:
        """How many bytes are left."""
        return len(self._data) - self._pos

    def take(self, n: int) -> memoryview:
        """The next ``n`` bytes.

        Raises:
            BsatnError: if fewer than ``n`` are left.
        """
        end = self._pos + n
        if end > len(self._data):
            raise BsatnError(f"unexpected end of input: needed {n} bytes at offset {self._pos}, {self.remaining} left")
        view = self._data[self._pos : end]
        self._pos = end
        return view

    def read_int(self, size: int, signed: bool) -> int:
        """A ``size``-byte little-endian integer."""
        return int.from_bytes(self.take(size), "little", signed=signed)

    def read_bool(self) -> bool:
        """A bool; a byte other than 0 or 1 is an error."""
        b = self.take(1)[0]
        if b > 1:
            raise BsatnError(f"invalid bool byte {b:#04x} at offset {self._pos - 1}: expected 0 or 1")
        return b == 1

    def read_u8(self) -> int:
        """A ``u8``."""
        return self.take(1)[0]

    def read_u32(self) -> int:
        """A ``u32``."""
        return self.read_int(4, False)

    def read_f32(self) -> float:
        """An IEEE single, widened to a Python float."""
        value: float = _F32.unpack(self.take(4))[0]
        return value

    def read_f64(self) -> float:
        """An IEEE double."""
        value: float = _F64.unpack(self.take(8))[0]
        return value

    def read_len(self) -> int:
        """A length prefix, checked against the bytes left when each item takes at least one."""
        return self.read_u32()

    def read_bytes(self) -> bytes:
        """A byte string."""
        return bytes(self.take(self.read_len()))

    def read_string(self) -> str:
        """A UTF-8 string."""
        start = self._pos
        raw = self.take(self.read_len())
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError as e:
            raise BsatnError(f"the string at offset {start} is not valid UTF-8: {e.reason}") from None

    def finish(self, what: str) -> None:
        """Checks that every byte was read.

        Raises:
            BsatnError: naming ``what`` and how many bytes were left over.
        """
        if self.remaining:
            raise BsatnError(f"{self.remaining} bytes left over after decoding {what}")


class Codec(ABC, Generic[T]):
    """Encodes and decodes values of one type."""

    __slots__ = ()

    #: The type's name, for error messages.
    name: str = "value"

    @abstractmethod
    def encode(self, w: Writer, value: T) -> None:
        """Appends ``value`` to ``w``.

        Raises:
            BsatnError: if ``value`` is not a value of this type.
        """

    @abstractmethod
    def decode(self, r: Reader) -> T:
        """Reads one value from ``r``.

        Raises:
            BsatnError: if the bytes are not a value of this type.
        """

    def to_bytes(self, value: T) -> bytes:
        """``value``'s BSATN."""
        w = Writer()
        self.encode(w, value)
        return w.getvalue()

    def from_bytes(self, data: bytes | bytearray | memoryview) -> T:
        """The value ``data`` holds, which must be exactly one value.

        Raises:
            BsatnError: if ``data`` is not one value of this type.
        """
        r = Reader(data)
        value = self.decode(r)
        r.finish(self.name)
        return value


class IntCodec(Codec[int]):
    """A fixed-width integer: ``u8`` … ``u256``, ``i8`` … ``i256``, all Python ``int``."""

    __slots__ = ("name", "size", "signed")

    def __init__(self, name: str, size: int, signed: bool) -> None:
        self.name = name
        self.size = size
        self.signed = signed

    def encode(self, w: Writer, value: int) -> None:
        w.write_int(value, self.size, self.signed, self.name)

    def decode(self, r: Reader) -> int:
        return r.read_int(self.size, self.signed)


class _Bool(Codec[bool]):
    __slots__ = ()
    name = "bool"

    def encode(self, w: Writer, value: bool) -> None:
        w.write_bool(value)

    def decode(self, r: Reader) -> bool:
        return r.read_bool()


class _F32Codec(Codec[float]):
    __slots__ = ()
    name = "f32"

    def encode(self, w: Writer, value: float) -> None:
        w.write_f32(value)

    def decode(self, r: Reader) -> float:
        return r.read_f32()


class _F64Codec(Codec[float]):
    __slots__ = ()
    name = "f64"

    def encode(self, w: Writer, value: float) -> None:
        w.write_f64(value)

    def decode(self, r: Reader) -> float:
        return r.read_f64()


class _String(Codec[str]):
    __slots__ = ()
    name = "string"

    def encode(self, w: Writer, value: str) -> None:
        w.write_string(value)

    def decode(self, r: Reader) -> str:
        return r.read_string()


class _Bytes(Codec[bytes]):
    __slots__ = ()
    name = "bytes"

    def encode(self, w: Writer, value: bytes) -> None:
        w.write_bytes(value)

    def decode(self, r: Reader) -> bytes:
        return r.read_bytes()


class _Unit(Codec[None]):
    __slots__ = ()
    name = "()"

    def encode(self, w: Writer, value: None) -> None:
        pass

    def decode(self, r: Reader) -> None:
        return None


BOOL: Codec[bool] = _Bool()
"""``bool``."""
U8: Codec[int] = IntCodec("u8", 1, False)
U16: Codec[int] = IntCodec("u16", 2, False)
U32: Codec[int] = IntCodec("u32", 4, False)
U64: Codec[int] = IntCodec("u64", 8, False)
U128: Codec[int] = IntCodec("u128", 16, False)
U256: Codec[int] = IntCodec("u256", 32, False)
I8: Codec[int] = IntCodec("i8", 1, True)
I16: Codec[int] = IntCodec("i16", 2, True)
I32: Codec[int] = IntCodec("i32", 4, True)
I64: Codec[int] = IntCodec("i64", 8, True)
I128: Codec[int] = IntCodec("i128", 16, True)
I256: Codec[int] = IntCodec("i256", 32, True)
F32: Codec[float] = _F32Codec()
F64: Codec[float] = _F64Codec()
STRING: Codec[str] = _String()
BYTES: Codec[bytes] = _Bytes()
"""``Vec<u8>``: a byte string."""
UNIT: Codec[None] = _Unit()
"""The empty product ``()``."""


class ArrayCodec(Codec[list[T]]):
    """``Vec<T>`` as a Python ``list``."""

    __slots__ = ("elem",)

    def __init__(self, elem: Codec[T]) -> None:
        self.elem = elem

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"array of {self.elem.name}"

    def encode(self, w: Writer, value: list[T]) -> None:
        if not isinstance(value, (list, tuple)):
            raise BsatnError(f"expected a list for an {self.name}, got {type(value).__name__}")
        w.write_len(len(value))
        for item in value:
            self.elem.encode(w, item)

    def decode(self, r: Reader) -> list[T]:
        n = r.read_len()
        if n > r.remaining and not isinstance(self.elem, _Unit):
            raise BsatnError(f"an {self.name} claims {n} elements but only {r.remaining} bytes are left")
        return [self.elem.decode(r) for _ in range(n)]


def _option_tag(r: Reader, name: str) -> bool:
    """Reads an option's tag: whether the value is present."""
    tag = r.read_u8()
    if tag > 1:
        raise BsatnError(f"invalid tag {tag} for an {name}: expected 0 (some) or 1 (none)")
    return tag == 0


class OptionCodec(Codec[T | None]):
    """``Option<T>`` as ``T | None`` (tag 0 ``some``, 1 ``none``), for a ``T`` that is not
    itself an option; an option of an option is a :class:`NestedOptionCodec`.

    Raises:
        BsatnError: if ``elem`` is an option codec, whose ``None`` would be lost.
    """

    __slots__ = ("elem",)

    def __init__(self, elem: Codec[T]) -> None:
        if isinstance(elem, OptionCodec | NestedOptionCodec):
            raise BsatnError(
                f"an option of an {elem.name} cannot be `T | None`: `Some(None)` would read back as `None`; "
                "use NestedOptionCodec, whose present values are `Some(...)`"
            )
        self.elem = elem

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"option of {self.elem.name}"

    def encode(self, w: Writer, value: T | None) -> None:
        if value is None:
            w.write_u8(1)
        else:
            w.write_u8(0)
            self.elem.encode(w, value)

    def decode(self, r: Reader) -> T | None:
        return self.elem.decode(r) if _option_tag(r, self.name) else None


class NestedOptionCodec(Codec[Some[T] | None]):
    """``Option<U>`` where ``U`` is itself an option, as ``Some[U] | None``: ``None`` is
    this level's ``none`` and ``Some(v)`` its ``some``, so ``Some(None)`` survives a round
    trip. ``elem`` is ``U``'s codec (an :class:`OptionCodec` or another nested one)."""

    __slots__ = ("elem",)

    def __init__(self, elem: Codec[T]) -> None:
        self.elem = elem

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"option of {self.elem.name}"

    def encode(self, w: Writer, value: Some[T] | None) -> None:
        if value is None:
            w.write_u8(1)
        elif isinstance(value, Some):
            w.write_u8(0)
            self.elem.encode(w, value.value)
        else:
            raise BsatnError(
                f"expected Some(...) or None for an {self.name}, got {type(value).__name__} {value!r}: "
                "wrap a present value in spacetime_sdk.Some"
            )

    def decode(self, r: Reader) -> Some[T] | None:
        return Some(self.elem.decode(r)) if _option_tag(r, self.name) else None


class ResultCodec(Codec[Ok[T] | Err[E]]):
    """``Result<T, E>`` as :class:`Ok` or :class:`Err` (tag 0 ``ok``, 1 ``err``)."""

    __slots__ = ("ok", "err")

    def __init__(self, ok: Codec[T], err: Codec[E]) -> None:
        self.ok = ok
        self.err = err

    def encode(self, w: Writer, value: Ok[T] | Err[E]) -> None:
        if isinstance(value, Ok):
            w.write_u8(0)
            self.ok.encode(w, value.value)
        elif isinstance(value, Err):
            w.write_u8(1)
            self.err.encode(w, value.error)
        else:
            raise BsatnError(f"expected Ok(...) or Err(...) for a result, got {type(value).__name__}")

    def decode(self, r: Reader) -> Ok[T] | Err[E]:
        tag = r.read_u8()
        if tag == 0:
            return Ok(self.ok.decode(r))
        if tag == 1:
            return Err(self.err.decode(r))
        raise BsatnError(f"invalid tag {tag} for a result: expected 0 (ok) or 1 (err)")


class StructCodec(Codec[T]):
    """A product type as a class (usually a dataclass) built from its fields in order.

    ``fields`` is called once, on first use, so codecs of types that refer to each other
    can be declared in any order.
    """

    __slots__ = ("cls", "name", "_thunk", "_fields")

    def __init__(self, cls: Callable[..., T], name: str, fields: Callable[[], Sequence[tuple[str, Codec[Any]]]]) -> None:
        self.cls = cls
        self.name = name
        self._thunk = fields
        self._fields: Sequence[tuple[str, Codec[Any]]] | None = None

    def fields(self) -> Sequence[tuple[str, Codec[Any]]]:
        """The fields' names and codecs, in wire order."""
        if self._fields is None:
            self._fields = tuple(self._thunk())
        return self._fields

    def encode(self, w: Writer, value: T) -> None:
        if not isinstance(value, self.cls):  # type: ignore[arg-type]
            raise BsatnError(f"expected a {self.name}, got {type(value).__name__}")
        for field, codec in self.fields():
            try:
                codec.encode(w, getattr(value, field))
            except BsatnError as e:
                raise BsatnError(f"{self.name}.{field}: {e}") from None

    def decode(self, r: Reader) -> T:
        values = []
        for field, codec in self.fields():
            try:
                values.append(codec.decode(r))
            except BsatnError as e:
                raise BsatnError(f"{self.name}.{field}: {e}") from None
        return self.cls(*values)


class SumCodec(Codec[T]):
    """A sum type whose variants are classes: variant ``i`` (tag ``i``) is a class with one
    field ``value`` holding the payload, or with no fields for a unit variant (``None``
    codec). ``variants`` is called once, on first use. A dataclass variant's payload is its
    one field, whatever its name."""

    __slots__ = ("name", "_thunk", "_variants", "_tags", "_attrs")

    def __init__(self, name: str, variants: Callable[[], Sequence[tuple[type[Any], Codec[Any] | None]]]) -> None:
        self.name = name
        self._thunk = variants
        self._variants: Sequence[tuple[type[Any], Codec[Any] | None]] | None = None
        self._tags: dict[type[Any], int] = {}
        self._attrs: list[str] = []

    def variants(self) -> Sequence[tuple[type[Any], Codec[Any] | None]]:
        """The variant classes and payload codecs, in tag order."""
        if self._variants is None:
            self._variants = tuple(self._thunk())
            self._tags = {cls: tag for tag, (cls, _) in enumerate(self._variants)}
            self._attrs = [
                dataclasses.fields(cls)[0].name if dataclasses.is_dataclass(cls) and dataclasses.fields(cls) else "value"
                for cls, _ in self._variants
            ]
        return self._variants

    def encode(self, w: Writer, value: T) -> None:
        variants = self.variants()
        tag = self._tags.get(type(value))
        if tag is None:
            names = ", ".join(cls.__name__ for cls, _ in variants)
            raise BsatnError(f"expected a {self.name} (one of {names}), got {type(value).__name__}")
        w.write_u8(tag)
        payload = variants[tag][1]
        if payload is not None:
            try:
                payload.encode(w, getattr(value, self._attrs[tag]))
            except BsatnError as e:
                raise BsatnError(f"{type(value).__name__}: {e}") from None

    def decode(self, r: Reader) -> T:
        variants = self.variants()
        tag = r.read_u8()
        if tag >= len(variants):
            raise BsatnError(f"invalid tag {tag} for {self.name}, which has {len(variants)} variants")
        cls, payload = variants[tag]
        value: T = cls() if payload is None else cls(payload.decode(r))
        return value


class EnumCodec(Codec[EnumT]):
    """A sum type whose variants all lack payloads, as an :class:`enum.Enum` whose member
    values are the tags."""

    __slots__ = ("cls", "name", "_members")

    def __init__(self, cls: type[EnumT]) -> None:
        self.cls = cls
        self.name = cls.__name__
        self._members = {m.value: m for m in cls}

    def encode(self, w: Writer, value: EnumT) -> None:
        if not isinstance(value, self.cls):
            raise BsatnError(f"expected a {self.name} member, got {type(value).__name__} {value!r}")
        w.write_u8(value.value)

    def decode(self, r: Reader) -> EnumT:
        tag = r.read_u8()
        member = self._members.get(tag)
        if member is None:
            raise BsatnError(f"invalid tag {tag} for {self.name}, which has {len(self._members)} variants")
        return member


class _Identity(Codec[Identity]):
    __slots__ = ()
    name = "Identity"

    def encode(self, w: Writer, value: Identity) -> None:
        if not isinstance(value, Identity):
            raise BsatnError(f"expected an Identity, got {type(value).__name__}")
        w.write_int(value.value, 32, False, "Identity")

    def decode(self, r: Reader) -> Identity:
        return Identity(r.read_int(32, False))


class _ConnectionId(Codec[ConnectionId]):
    __slots__ = ()
    name = "ConnectionId"

    def encode(self, w: Writer, value: ConnectionId) -> None:
        if not isinstance(value, ConnectionId):
            raise BsatnError(f"expected a ConnectionId, got {type(value).__name__}")
        w.write_int(value.value, 16, False, "ConnectionId")

    def decode(self, r: Reader) -> ConnectionId:
        return ConnectionId(r.read_int(16, False))


class _Timestamp(Codec[Timestamp]):
    __slots__ = ()
    name = "Timestamp"

    def encode(self, w: Writer, value: Timestamp) -> None:
        if not isinstance(value, Timestamp):
            raise BsatnError(f"expected a Timestamp, got {type(value).__name__}")
        w.write_int(value.micros_since_unix_epoch, 8, True, "Timestamp")

    def decode(self, r: Reader) -> Timestamp:
        return Timestamp(r.read_int(8, True))


class _TimeDuration(Codec[TimeDuration]):
    __slots__ = ()
    name = "TimeDuration"

    def encode(self, w: Writer, value: TimeDuration) -> None:
        if not isinstance(value, TimeDuration):
            raise BsatnError(f"expected a TimeDuration, got {type(value).__name__}")
        w.write_int(value.micros, 8, True, "TimeDuration")

    def decode(self, r: Reader) -> TimeDuration:
        return TimeDuration(r.read_int(8, True))


class _Uuid(Codec[Uuid]):
    __slots__ = ()
    name = "Uuid"

    def encode(self, w: Writer, value: Uuid) -> None:
        if not isinstance(value, Uuid):
            raise BsatnError(f"expected a Uuid, got {type(value).__name__}")
        w.write_int(value.value, 16, False, "Uuid")

    def decode(self, r: Reader) -> Uuid:
        return Uuid(r.read_int(16, False))


IDENTITY: Codec[Identity] = _Identity()
CONNECTION_ID: Codec[ConnectionId] = _ConnectionId()
TIMESTAMP: Codec[Timestamp] = _Timestamp()
TIME_DURATION: Codec[TimeDuration] = _TimeDuration()
UUID: Codec[Uuid] = _Uuid()
SCHEDULE_AT: Codec[ScheduleAt] = SumCodec(
    "ScheduleAt", lambda: ((ScheduleAtInterval, TIME_DURATION), (ScheduleAtTime, TIMESTAMP))
)
"""``ScheduleAt``: ``Interval(TimeDuration)`` (tag 0) or ``Time(Timestamp)`` (tag 1)."""
