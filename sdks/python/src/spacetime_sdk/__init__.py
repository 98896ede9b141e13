"""The Spacetime Python client SDK: connect to a database, replicate the rows of chosen
queries into a local cache, react to changes with callbacks or ``async for`` streams, and
call reducers.

Generated bindings (``spacetime generate --lang python``) define ``DbConnection`` and the
typed tables and reducers on top of this runtime; an application uses them in this order:

1. ``conn = await DbConnection.builder().with_uri(..).with_database_name(..).build()``
2. ``conn.db.<table>.on_insert(..)`` and friends register row callbacks;
3. ``handle = conn.subscription_builder().subscribe([...])`` fills the cache
   (``await handle.applied()``; ``async for change in handle`` for a stream);
4. ``await conn.reducers.<reducer>(..)`` calls a reducer, raising
   :class:`ReducerError` if it fails; ``await conn.procedures.<procedure>(..)`` calls a
   procedure and returns its value, raising :class:`ProcedureError` if it fails;
5. ``await conn.query(sql)`` runs one SQL query once (:class:`QueryResult`);
6. ``await conn.disconnect()``.

:mod:`spacetime_sdk.sync` wraps all of this for programs without an event loop.
"""

from .bsatn import BsatnError, Codec
from .cache import CacheError
from .builder import DbConnectionBuilder
from .connection import ModuleInfo
from .context import (
    DbConnectionBase,
    DbContext,
    ErrorContext,
    EventContext,
    ReducerEventContext,
    SubscriptionEventContext,
)
from .errors import (
    ConfigError,
    ConnectError,
    ConnectionLostError,
    DisconnectedError,
    InternalError,
    ProcedureError,
    QueryError,
    ReducerError,
    SpacetimeError,
    SubscriptionError,
)
from .event import (
    Committed,
    Event,
    Failed,
    Panic,
    ReducerEvent,
    Status,
    SubscribeAppliedEvent,
    SubscribeErrorEvent,
    TransactionEvent,
    UnsubscribeAppliedEvent,
)
from .protocol import Compression
from .query import QueryResult, QueryTable
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
from .subscription import Delete, Insert, RowChange, SubscriptionBuilder, SubscriptionHandle, Update
from .sync import BlockingConnection
from .table import CallbackId, EventTableHandle, TableHandle, TableWithPrimaryKeyHandle, UniqueIndex
from .transport import ReconnectPolicy

__all__ = [
    "BlockingConnection",
    "BsatnError",
    "CacheError",
    "CallbackId",
    "Codec",
    "Committed",
    "Compression",
    "ConfigError",
    "ConnectError",
    "ConnectionId",
    "ConnectionLostError",
    "DbConnectionBase",
    "DbConnectionBuilder",
    "DbContext",
    "Delete",
    "DisconnectedError",
    "Err",
    "ErrorContext",
    "Event",
    "EventContext",
    "EventTableHandle",
    "Failed",
    "Identity",
    "Insert",
    "InternalError",
    "ModuleInfo",
    "Ok",
    "Panic",
    "ProcedureError",
    "QueryError",
    "QueryResult",
    "QueryTable",
    "ReconnectPolicy",
    "ReducerError",
    "ReducerEvent",
    "ReducerEventContext",
    "RowChange",
    "ScheduleAt",
    "ScheduleAtInterval",
    "ScheduleAtTime",
    "Some",
    "SpacetimeError",
    "Status",
    "SubscribeAppliedEvent",
    "SubscribeErrorEvent",
    "SubscriptionBuilder",
    "SubscriptionError",
    "SubscriptionEventContext",
    "SubscriptionHandle",
    "TableHandle",
    "TableWithPrimaryKeyHandle",
    "TimeDuration",
    "Timestamp",
    "TransactionEvent",
    "UniqueIndex",
    "UnsubscribeAppliedEvent",
    "Update",
    "Uuid",
]
