"""What generated bindings import (``from spacetime_sdk import codegen as __sdk``): the
runtime pieces and codecs they are built from. Not meant for application code."""

from .bsatn import (
    BOOL,
    BYTES,
    CONNECTION_ID,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    I128,
    I256,
    IDENTITY,
    SCHEDULE_AT,
    STRING,
    TIME_DURATION,
    TIMESTAMP,
    U8,
    U16,
    U32,
    U64,
    U128,
    U256,
    UNIT,
    UUID,
    ArrayCodec,
    Codec,
    EnumCodec,
    NestedOptionCodec,
    OptionCodec,
    ResultCodec,
    StructCodec,
    SumCodec,
)
from .cache import ColumnKey, TableInfo
from .builder import DbConnectionBuilder
from .connection import ConnectionImpl, ModuleInfo
from .context import (
    DbConnectionBase,
    ErrorContext,
    EventContext,
    ReducerEventContext,
    SubscriptionEventContext,
)
from .event import ReducerEvent
from .special import (
    ConnectionId,
    Err,
    Identity,
    Ok,
    ScheduleAt,
    Some,
    TimeDuration,
    Timestamp,
    Uuid,
)
from .subscription import SubscriptionBuilder, SubscriptionHandle
from .table import EventTableHandle, TableHandle, TableWithPrimaryKeyHandle, UniqueIndex

__all__ = [
    "BOOL", "BYTES", "CONNECTION_ID", "F32", "F64", "I8", "I16", "I32", "I64", "I128", "I256", "IDENTITY",
    "SCHEDULE_AT", "STRING", "TIME_DURATION", "TIMESTAMP", "U8", "U16", "U32", "U64", "U128", "U256", "UNIT", "UUID",
    "ArrayCodec", "Codec", "ColumnKey", "ConnectionId", "ConnectionImpl", "DbConnectionBase", "DbConnectionBuilder",
    "EnumCodec", "Err", "ErrorContext", "EventContext", "EventTableHandle", "Identity", "ModuleInfo", "NestedOptionCodec", "Ok",
    "OptionCodec", "ReducerEvent", "ReducerEventContext", "ResultCodec", "ScheduleAt", "Some", "StructCodec", "SubscriptionBuilder",
    "SubscriptionEventContext", "SubscriptionHandle", "SumCodec", "TableHandle", "TableInfo", "TableWithPrimaryKeyHandle",
    "TimeDuration", "Timestamp", "UniqueIndex", "Uuid",
]
