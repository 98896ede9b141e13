"""The connection object and the contexts callbacks receive. Each exposes the module's
tables and views (``db``), reducers (``reducers``), procedures (``procedures``), one-off
queries (``query``), this client's identity and the connection's controls; the contexts
add what caused the callback.

Generated bindings subclass :class:`DbConnectionBase` and name the contexts with their
own table, reducer and procedure types, e.g. ``EventContext = EventContext[RemoteTables,
RemoteReducers, RemoteProcedures]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import DisconnectedError, SpacetimeError
from .event import Event, ReducerEvent
from .special import ConnectionId, Identity

if TYPE_CHECKING:
    from .connection import ConnectionImpl
    from .query import QueryResult
    from .subscription import SubscriptionBuilder

DbT = TypeVar("DbT")
ReducersT = TypeVar("ReducersT")
ProceduresT = TypeVar("ProceduresT")


class DbContext(Generic[DbT, ReducersT, ProceduresT]):
    """What every context and the connection itself offer."""

    db: DbT
    """The module's tables, reading the client cache."""
    reducers: ReducersT
    """The module's reducers, one async method each."""
    procedures: ProceduresT
    """The module's procedures, one async method each, returning the procedure's value."""

    def __init__(self, conn: DbConnectionBase[DbT, ReducersT, ProceduresT]) -> None:
        self._conn = conn
        self.db = conn.db
        self.reducers = conn.reducers
        self.procedures = conn.procedures

    @property
    def imp(self) -> ConnectionImpl:
        """The runtime engine (for generated code)."""
        return self._conn._imp

    @property
    def identity(self) -> Identity:
        """This client's identity.

        Raises:
            DisconnectedError: before the server has accepted the connection.
        """
        identity = self.imp.identity
        if identity is None:
            raise DisconnectedError("the identity is not known yet: the server has not accepted the connection")
        return identity

    @property
    def connection_id(self) -> ConnectionId:
        """This connection's id.

        Raises:
            DisconnectedError: before the server has accepted the connection.
        """
        cid = self.imp.connection_id
        if cid is None:
            raise DisconnectedError("the connection id is not known yet: the server has not accepted the connection")
        return cid

    @property
    def token(self) -> str | None:
        """The token the server confirmed (save it to reconnect as the same identity)."""
        return self.imp.token

    @property
    def is_active(self) -> bool:
        """Whether the connection is open (or reconnecting) and not disconnected."""
        return self.imp.is_active

    def subscription_builder(self) -> SubscriptionBuilder[SubscriptionEventContext[DbT, ReducersT, ProceduresT], ErrorContext[DbT, ReducersT, ProceduresT]]:
        """Starts building a subscription."""
        from .subscription import SubscriptionBuilder

        return SubscriptionBuilder(self.imp)

    async def query(self, sql: str) -> QueryResult:
        """Runs one SQL ``SELECT`` on the server once, outside any subscription, and
        returns its rows; ``result.rows_of(conn.db.<table>)`` gives a table's rows typed.

        Raises:
            QueryError: if the server refused or failed the query.
            ConnectionLostError: if the connection dropped before the rows arrived.
            DisconnectedError: if the connection has ended.
        """
        return await self.imp.query(sql)

    async def disconnect(self) -> None:
        """Closes the connection; ``on_disconnect`` runs with no error."""
        await self.imp.disconnect()


class DbConnectionBase(DbContext[DbT, ReducersT, ProceduresT]):
    """A connection to a database. Generated bindings subclass it as ``DbConnection``,
    built with ``DbConnection.builder()``."""

    def __init__(self, imp: ConnectionImpl, db: DbT, reducers: ReducersT, procedures: ProceduresT) -> None:
        self._imp = imp
        self.db = db
        self.reducers = reducers
        self.procedures = procedures
        self._conn = self

    async def wait_closed(self) -> SpacetimeError | None:
        """Waits until the connection ends; returns the error it ended with, or ``None``
        after :meth:`disconnect`."""
        return await self._imp.wait_closed()


class EventContext(DbContext[DbT, ReducersT, ProceduresT]):
    """The context of a row callback: ``event`` says why the row changed."""

    def __init__(self, conn: DbConnectionBase[DbT, ReducersT, ProceduresT], event: Event) -> None:
        super().__init__(conn)
        self.event = event


class ReducerEventContext(DbContext[DbT, ReducersT, ProceduresT]):
    """The context of a reducer's completion."""

    def __init__(self, conn: DbConnectionBase[DbT, ReducersT, ProceduresT], event: ReducerEvent[Any]) -> None:
        super().__init__(conn)
        self.event = event


class SubscriptionEventContext(DbContext[DbT, ReducersT, ProceduresT]):
    """The context of a subscription's ``on_applied`` and ``on_ended``."""


class ErrorContext(DbContext[DbT, ReducersT, ProceduresT]):
    """The context of error and disconnect callbacks: ``error`` is what went wrong."""

    def __init__(self, conn: DbConnectionBase[DbT, ReducersT, ProceduresT], error: SpacetimeError | None) -> None:
        super().__init__(conn)
        self.error = error


def context_conn(ctx: DbContext[Any, Any, Any]) -> DbConnectionBase[Any, Any, Any]:
    """The connection behind a context."""
    return ctx._conn
