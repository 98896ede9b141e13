"""The v2 WebSocket protocol (``v2.bsatn.spacetimedb``): the messages a client sends
(:data:`ClientMessage`) and a server sends (:data:`ServerMessage`), their BSATN codecs,
packed row lists, and the compression envelope of server payloads.

Field order is wire order; a union's tag is the index of its variant. Row data stays
opaque bytes here: only the generated bindings know how to decode a table's rows. No I/O
happens in this module.
"""

from __future__ import annotations

import enum
import gzip
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from . import bsatn
from .bsatn import BsatnError, Codec, Reader, Writer
from .special import ConnectionId, Err, Identity, Ok, TimeDuration, Timestamp

T = TypeVar("T")

BIN_PROTOCOL = "v2.bsatn.spacetimedb"
"""The WebSocket subprotocol this SDK speaks."""


class ProtocolError(Exception):
    """The server sent something this client cannot read."""


class Compression(enum.Enum):
    """What the server may compress large messages with. Brotli is not offered: the
    standard library cannot read it."""

    NONE = "None"
    GZIP = "Gzip"


def decompress(payload: bytes) -> bytes:
    """The message body of a server payload: its first byte names the compression.

    Raises:
        ProtocolError: for an empty payload, an unknown tag, a body that does not
            decompress, or brotli (which this client never asks for).
    """
    if not payload:
        raise ProtocolError("the server sent an empty message")
    tag, body = payload[0], payload[1:]
    if tag == 0:
        return body
    if tag == 2:
        try:
            return gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as e:
            raise ProtocolError(f"a gzip-compressed message does not decompress: {e}") from None
    if tag == 1:
        raise ProtocolError("the server sent a brotli-compressed message, but this client asked for gzip or none")
    raise ProtocolError(f"unknown compression tag {tag} (0 none, 1 brotli, 2 gzip)")


class _Union(Codec[Any]):
    """A sum whose variants are message classes, each encoded whole after its tag."""

    __slots__ = ("name", "_thunk", "_variants", "_tags")

    def __init__(self, name: str, variants: Callable[[], Sequence[tuple[type[Any], Codec[Any]]]]) -> None:
        self.name = name
        self._thunk = variants
        self._variants: Sequence[tuple[type[Any], Codec[Any]]] = ()
        self._tags: dict[type[Any], int] = {}

    def _load(self) -> Sequence[tuple[type[Any], Codec[Any]]]:
        if not self._variants:
            self._variants = tuple(self._thunk())
            self._tags = {cls: i for i, (cls, _) in enumerate(self._variants)}
        return self._variants

    def encode(self, w: Writer, value: Any) -> None:
        variants = self._load()
        tag = self._tags.get(type(value))
        if tag is None:
            raise BsatnError(f"{type(value).__name__} is not a {self.name}")
        w.write_u8(tag)
        variants[tag][1].encode(w, value)

    def decode(self, r: Reader) -> Any:
        variants = self._load()
        tag = r.read_u8()
        if tag >= len(variants):
            raise BsatnError(f"unknown {self.name} tag {tag}: this client knows {len(variants)} kinds")
        return variants[tag][1].decode(r)


def _struct(cls: Callable[..., T], fields: Callable[[], Sequence[tuple[str, Codec[Any]]]]) -> Codec[T]:
    return bsatn.StructCodec(cls, getattr(cls, "__name__", "message"), fields)


class _Unit(Codec[Any]):
    """A variant without payload, read back as a fresh instance of its class."""

    __slots__ = ("cls",)

    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls

    def encode(self, w: Writer, value: Any) -> None:
        pass

    def decode(self, r: Reader) -> Any:
        return self.cls()


# --- packed rows ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowSizeFixed:
    """Every row has ``size`` bytes."""

    size: int


@dataclass(frozen=True, slots=True)
class RowOffsets:
    """Row ``i`` starts at ``offsets[i]`` and ends where the next starts (or at the end)."""

    offsets: list[int]


RowSizeHint: TypeAlias = RowSizeFixed | RowOffsets


@dataclass(frozen=True, slots=True)
class BsatnRowList:
    """Rows packed back to back, with how to split them."""

    size_hint: RowSizeHint = field(default_factory=lambda: RowOffsets([]))
    rows_data: bytes = b""

    @classmethod
    def from_rows(cls, rows: Sequence[bytes]) -> BsatnRowList:
        """Packs ``rows``: fixed-size when they all have the same nonzero length."""
        lengths = {len(r) for r in rows}
        data = b"".join(rows)
        if len(lengths) == 1 and 0 < (size := next(iter(lengths))) <= 0xFFFF:
            return cls(RowSizeFixed(size), data)
        offsets, pos = [], 0
        for r in rows:
            offsets.append(pos)
            pos += len(r)
        return cls(RowOffsets(offsets), data)

    def rows(self) -> list[bytes]:
        """The rows, split.

        Raises:
            ProtocolError: if the size hint does not fit the data.
        """
        data, n = self.rows_data, len(self.rows_data)
        hint = self.size_hint
        if isinstance(hint, RowSizeFixed):
            if hint.size == 0:
                if n:
                    raise ProtocolError(f"{n} bytes of row data with a fixed row size of 0")
                return []
            if n % hint.size:
                raise ProtocolError(f"{n} bytes of row data do not split into rows of {hint.size} bytes")
            return [data[i : i + hint.size] for i in range(0, n, hint.size)]
        offsets = hint.offsets
        if not offsets:
            if n:
                raise ProtocolError(f"{n} bytes of row data with no row offsets")
            return []
        ends = [*offsets[1:], n]
        if offsets[0] != 0 or any(s > e for s, e in zip(offsets, ends)) or ends[-1] > n or offsets[-1] > n:
            raise ProtocolError(f"row offsets must start at 0, never decrease and stay within the {n} bytes of data")
        return [data[s:e] for s, e in zip(offsets, ends)]

    def __len__(self) -> int:
        hint = self.size_hint
        if isinstance(hint, RowSizeFixed):
            return len(self.rows_data) // hint.size if hint.size else 0
        return len(hint.offsets)


_ROW_SIZE_HINT: Codec[RowSizeHint] = bsatn.SumCodec(
    "RowSizeHint", lambda: ((RowSizeFixed, bsatn.U16), (RowOffsets, bsatn.ArrayCodec(bsatn.U64)))
)
_ROW_LIST: Codec[BsatnRowList] = _struct(BsatnRowList, lambda: (("size_hint", _ROW_SIZE_HINT), ("rows_data", bsatn.BYTES)))


# --- client messages --------------------------------------------------------------------


class UnsubscribeFlags(enum.Enum):
    """Whether ``UnsubscribeApplied`` should list the rows the query set held."""

    DEFAULT = 0
    SEND_DROPPED_ROWS = 1


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Adds a query set: ``query_strings`` are SQL ``SELECT``s."""

    request_id: int
    query_set_id: int
    query_strings: list[str]


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """Ends a query set."""

    request_id: int
    query_set_id: int
    flags: UnsubscribeFlags = UnsubscribeFlags.SEND_DROPPED_ROWS


@dataclass(frozen=True, slots=True)
class OneOffQuery:
    """Runs one SQL query once."""

    request_id: int
    query_string: str


@dataclass(frozen=True, slots=True)
class CallReducer:
    """Calls a reducer with its BSATN-encoded argument product. ``flags`` must be 0."""

    request_id: int
    reducer: str
    args: bytes
    flags: int = 0


@dataclass(frozen=True, slots=True)
class CallProcedure:
    """Calls a procedure with its BSATN-encoded arguments. ``flags`` must be 0."""

    request_id: int
    procedure: str
    args: bytes
    flags: int = 0


ClientMessage: TypeAlias = Subscribe | Unsubscribe | OneOffQuery | CallReducer | CallProcedure


class _CallFlags(Codec[int]):
    __slots__ = ()
    name = "call flags"

    def encode(self, w: Writer, value: int) -> None:
        if value != 0:
            raise BsatnError(f"invalid call flags {value}: the only defined value is 0")
        w.write_u8(0)

    def decode(self, r: Reader) -> int:
        value = r.read_u8()
        if value != 0:
            raise BsatnError(f"invalid call flags {value}: the only defined value is 0")
        return value


_FLAGS = _CallFlags()
_STRINGS = bsatn.ArrayCodec(bsatn.STRING)

_CALL_REDUCER_FIELDS = (("request_id", bsatn.U32), ("flags", _FLAGS), ("reducer", bsatn.STRING), ("args", bsatn.BYTES))
_CALL_PROCEDURE_FIELDS = (("request_id", bsatn.U32), ("flags", _FLAGS), ("procedure", bsatn.STRING), ("args", bsatn.BYTES))


class _Call(Codec[Any]):
    """Call messages put ``flags`` second on the wire but last in the constructor."""

    __slots__ = ("cls", "fields")

    def __init__(self, cls: type[Any], fields: Sequence[tuple[str, Codec[Any]]]) -> None:
        self.cls = cls
        self.fields = fields

    def encode(self, w: Writer, value: Any) -> None:
        for name, codec in self.fields:
            codec.encode(w, getattr(value, name))

    def decode(self, r: Reader) -> Any:
        return self.cls(**{name: codec.decode(r) for name, codec in self.fields})


CLIENT_MESSAGE: Codec[ClientMessage] = _Union(
    "client message",
    lambda: (
        (Subscribe, _struct(Subscribe, lambda: (("request_id", bsatn.U32), ("query_set_id", bsatn.U32), ("query_strings", _STRINGS)))),
        (
            Unsubscribe,
            _struct(
                Unsubscribe,
                lambda: (("request_id", bsatn.U32), ("query_set_id", bsatn.U32), ("flags", bsatn.EnumCodec(UnsubscribeFlags))),
            ),
        ),
        (OneOffQuery, _struct(OneOffQuery, lambda: (("request_id", bsatn.U32), ("query_string", bsatn.STRING)))),
        (CallReducer, _Call(CallReducer, _CALL_REDUCER_FIELDS)),
        (CallProcedure, _Call(CallProcedure, _CALL_PROCEDURE_FIELDS)),
    ),
)
"""Encodes and decodes :data:`ClientMessage`."""


# --- server messages --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SingleTableRows:
    """Rows of one table, named by its wire name."""

    table: str
    rows: BsatnRowList


@dataclass(frozen=True, slots=True)
class QueryRows:
    """Rows grouped by table."""

    tables: list[SingleTableRows]


@dataclass(frozen=True, slots=True)
class InitialConnection:
    """The server's first message: who this client is, and its token."""

    identity: Identity
    connection_id: ConnectionId
    token: str


@dataclass(frozen=True, slots=True)
class SubscribeApplied:
    """A query set's initial rows."""

    request_id: int
    query_set_id: int
    rows: QueryRows


@dataclass(frozen=True, slots=True)
class UnsubscribeApplied:
    """A query set ended; ``rows`` lists what it held when asked for."""

    request_id: int
    query_set_id: int
    rows: QueryRows | None


@dataclass(frozen=True, slots=True)
class SubscriptionError:
    """A query set failed: at subscribe time (``request_id`` set) or later (``None``)."""

    request_id: int | None
    query_set_id: int
    error: str


@dataclass(frozen=True, slots=True)
class PersistentTableRows:
    """Rows inserted into and deleted from a stored table."""

    inserts: BsatnRowList
    deletes: BsatnRowList


@dataclass(frozen=True, slots=True)
class EventTableRows:
    """Rows of an event table: delivered once, never stored."""

    events: BsatnRowList


TableUpdateRows: TypeAlias = PersistentTableRows | EventTableRows


@dataclass(frozen=True, slots=True)
class TableUpdate:
    """One table's changes within one query set."""

    table_name: str
    rows: list[TableUpdateRows]


@dataclass(frozen=True, slots=True)
class QuerySetUpdate:
    """One query set's changes."""

    query_set_id: int
    tables: list[TableUpdate]


@dataclass(frozen=True, slots=True)
class TransactionUpdate:
    """The changes one transaction made to this client's query sets."""

    query_sets: list[QuerySetUpdate]


@dataclass(frozen=True, slots=True)
class OneOffQueryResult:
    """The answer to a :class:`OneOffQuery`."""

    request_id: int
    result: Ok[QueryRows] | Err[str]


@dataclass(frozen=True, slots=True)
class ReducerOk:
    """The reducer committed; its changes to this client's query sets ride along."""

    ret_value: bytes
    transaction_update: TransactionUpdate


@dataclass(frozen=True, slots=True)
class ReducerOkEmpty:
    """The reducer committed and changed nothing this client sees."""


@dataclass(frozen=True, slots=True)
class ReducerErr:
    """The reducer returned an error: ``value`` is its BSATN (a string today)."""

    value: bytes


@dataclass(frozen=True, slots=True)
class ReducerInternalError:
    """The reducer panicked, did not exist, got bad arguments or ran out of energy."""

    message: str


ReducerOutcome: TypeAlias = ReducerOk | ReducerOkEmpty | ReducerErr | ReducerInternalError


@dataclass(frozen=True, slots=True)
class ReducerResult:
    """The outcome of this client's reducer call."""

    request_id: int
    timestamp: Timestamp
    result: ReducerOutcome


@dataclass(frozen=True, slots=True)
class ProcedureReturned:
    """A procedure returned: ``value`` is the BSATN of its return value."""

    value: bytes


@dataclass(frozen=True, slots=True)
class ProcedureInternalError:
    """A procedure failed in the host."""

    value: str


ProcedureStatus: TypeAlias = ProcedureReturned | ProcedureInternalError


@dataclass(frozen=True, slots=True)
class ProcedureResult:
    """The outcome of a procedure call (fields in wire order)."""

    status: ProcedureStatus
    timestamp: Timestamp
    total_host_execution_duration: TimeDuration
    request_id: int


ServerMessage: TypeAlias = (
    InitialConnection
    | SubscribeApplied
    | UnsubscribeApplied
    | SubscriptionError
    | TransactionUpdate
    | OneOffQueryResult
    | ReducerResult
    | ProcedureResult
)

_QUERY_ROWS: Codec[QueryRows] = _struct(
    QueryRows,
    lambda: (("tables", bsatn.ArrayCodec(_struct(SingleTableRows, lambda: (("table", bsatn.STRING), ("rows", _ROW_LIST))))),),
)
_TABLE_UPDATE_ROWS: Codec[TableUpdateRows] = _Union(
    "table update rows",
    lambda: (
        (PersistentTableRows, _struct(PersistentTableRows, lambda: (("inserts", _ROW_LIST), ("deletes", _ROW_LIST)))),
        (EventTableRows, _struct(EventTableRows, lambda: (("events", _ROW_LIST),))),
    ),
)
_TRANSACTION_UPDATE: Codec[TransactionUpdate] = _struct(
    TransactionUpdate,
    lambda: (
        (
            "query_sets",
            bsatn.ArrayCodec(
                _struct(
                    QuerySetUpdate,
                    lambda: (
                        ("query_set_id", bsatn.U32),
                        (
                            "tables",
                            bsatn.ArrayCodec(
                                _struct(
                                    TableUpdate,
                                    lambda: (("table_name", bsatn.STRING), ("rows", bsatn.ArrayCodec(_TABLE_UPDATE_ROWS))),
                                )
                            ),
                        ),
                    ),
                )
            ),
        ),
    ),
)
_REDUCER_OUTCOME: Codec[ReducerOutcome] = _Union(
    "reducer outcome",
    lambda: (
        (ReducerOk, _struct(ReducerOk, lambda: (("ret_value", bsatn.BYTES), ("transaction_update", _TRANSACTION_UPDATE)))),
        (ReducerOkEmpty, _Unit(ReducerOkEmpty)),
        (ReducerErr, _struct(ReducerErr, lambda: (("value", bsatn.BYTES),))),
        (ReducerInternalError, _struct(ReducerInternalError, lambda: (("message", bsatn.STRING),))),
    ),
)
_PROCEDURE_STATUS: Codec[ProcedureStatus] = _Union(
    "procedure status",
    lambda: (
        (ProcedureReturned, _struct(ProcedureReturned, lambda: (("value", bsatn.BYTES),))),
        (ProcedureInternalError, _struct(ProcedureInternalError, lambda: (("value", bsatn.STRING),))),
    ),
)

SERVER_MESSAGE: Codec[ServerMessage] = _Union(
    "server message",
    lambda: (
        (
            InitialConnection,
            _struct(
                InitialConnection,
                lambda: (("identity", bsatn.IDENTITY), ("connection_id", bsatn.CONNECTION_ID), ("token", bsatn.STRING)),
            ),
        ),
        (
            SubscribeApplied,
            _struct(SubscribeApplied, lambda: (("request_id", bsatn.U32), ("query_set_id", bsatn.U32), ("rows", _QUERY_ROWS))),
        ),
        (
            UnsubscribeApplied,
            _struct(
                UnsubscribeApplied,
                lambda: (("request_id", bsatn.U32), ("query_set_id", bsatn.U32), ("rows", bsatn.OptionCodec(_QUERY_ROWS))),
            ),
        ),
        (
            SubscriptionError,
            _struct(
                SubscriptionError,
                lambda: (("request_id", bsatn.OptionCodec(bsatn.U32)), ("query_set_id", bsatn.U32), ("error", bsatn.STRING)),
            ),
        ),
        (TransactionUpdate, _TRANSACTION_UPDATE),
        (
            OneOffQueryResult,
            _struct(OneOffQueryResult, lambda: (("request_id", bsatn.U32), ("result", bsatn.ResultCodec(_QUERY_ROWS, bsatn.STRING)))),
        ),
        (
            ReducerResult,
            _struct(ReducerResult, lambda: (("request_id", bsatn.U32), ("timestamp", bsatn.TIMESTAMP), ("result", _REDUCER_OUTCOME))),
        ),
        (
            ProcedureResult,
            _struct(
                ProcedureResult,
                lambda: (
                    ("status", _PROCEDURE_STATUS),
                    ("timestamp", bsatn.TIMESTAMP),
                    ("total_host_execution_duration", bsatn.TIME_DURATION),
                    ("request_id", bsatn.U32),
                ),
            ),
        ),
    ),
)
"""Encodes and decodes :data:`ServerMessage`."""


def encode_client_message(message: ClientMessage) -> bytes:
    """The frame to send for ``message`` (client frames carry no compression tag)."""
    return CLIENT_MESSAGE.to_bytes(message)


def decode_server_payload(payload: bytes) -> ServerMessage:
    """The message in one binary frame from the server.

    Raises:
        ProtocolError: if the frame does not decompress or decode.
    """
    body = decompress(payload)
    try:
        return SERVER_MESSAGE.from_bytes(body)
    except BsatnError as e:
        raise ProtocolError(f"malformed server message: {e}") from None


def table_updates(update: TransactionUpdate) -> list[tuple[int, TableUpdate]]:
    """Every table update of a transaction, with the query set it belongs to."""
    return [(qs.query_set_id, t) for qs in update.query_sets for t in qs.tables]
