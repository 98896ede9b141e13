"""The connection builder, :class:`DbConnectionBuilder`: collects the server URI, the
database, the token, compression, reconnect policy and connection callbacks, then
builds the subscribe URL and starts a connection engine on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import protocol as p
from .connection import ConnectionCallbacks, ConnectionImpl, ModuleInfo
from .errors import ConfigError, SpacetimeError
from .special import Identity
from .transport import ReconnectPolicy, subscribe_url

if TYPE_CHECKING:
    from .context import DbConnectionBase

ConnT = TypeVar("ConnT", bound="DbConnectionBase[Any, Any, Any]")


class DbConnectionBuilder(Generic[ConnT]):
    """Configures and opens a connection: ``DbConnection.builder()`` in generated
    bindings. Every ``with_``/``on_`` method returns the builder."""

    def __init__(self, factory: Callable[[ConnectionImpl], ConnT], module: ModuleInfo) -> None:
        self._factory = factory
        self._module = module
        self._uri: str | None = None
        self._database: str | None = None
        self._token: str | None = None
        self._compression = p.Compression.GZIP
        self._confirmed: bool | None = None
        self._reconnect: ReconnectPolicy | None = None
        self._callbacks = ConnectionCallbacks()

    def with_uri(self, uri: str) -> DbConnectionBuilder[ConnT]:
        """The server's base URI (``http``, ``https``, ``ws`` or ``wss``; no scheme means
        ``ws``). Required."""
        self._uri = uri
        return self

    def with_database_name(self, name_or_identity: str) -> DbConnectionBuilder[ConnT]:
        """The database's name or identity. Required."""
        self._database = name_or_identity
        return self

    def with_token(self, token: str | None) -> DbConnectionBuilder[ConnT]:
        """The token to authenticate with; ``None`` connects anonymously and the server
        mints a new identity, whose token ``on_connect`` receives."""
        self._token = token
        return self

    def with_compression(self, compression: p.Compression) -> DbConnectionBuilder[ConnT]:
        """How the server should compress large messages (default gzip)."""
        self._compression = compression
        return self

    def with_confirmed_reads(self, confirmed: bool) -> DbConnectionBuilder[ConnT]:
        """Whether updates should wait until they are durable (the server's default: yes)."""
        self._confirmed = confirmed
        return self

    def with_reconnect(self, policy: ReconnectPolicy | None = None) -> DbConnectionBuilder[ConnT]:
        """Re-opens a dropped connection as ``policy`` says (default backoff if ``None``),
        as the same identity, and resubscribes; callbacks see only rows that changed
        meanwhile. A connection closed by ``disconnect()`` or refused by the server is never
        re-opened."""
        self._reconnect = policy or ReconnectPolicy()
        return self

    def on_connect(self, callback: Callable[[ConnT, Identity, str], None]) -> DbConnectionBuilder[ConnT]:
        """Runs once the server accepts the connection, with this client's identity and the
        token to save for reconnecting as it."""
        self._callbacks.on_connect = callback
        return self

    def on_connect_error(self, callback: Callable[[Any, SpacetimeError], None]) -> DbConnectionBuilder[ConnT]:
        """Runs if the connection fails before the server accepts it (``build`` raises the
        same error)."""
        self._callbacks.on_connect_error = callback
        return self

    def on_disconnect(self, callback: Callable[[Any, SpacetimeError | None], None]) -> DbConnectionBuilder[ConnT]:
        """Runs when an accepted connection ends: with ``None`` after ``disconnect()``."""
        self._callbacks.on_disconnect = callback
        return self

    def on_reconnect(self, callback: Callable[[ConnT, Identity, str], None]) -> DbConnectionBuilder[ConnT]:
        """Runs each time a dropped connection has been re-opened and resubscribed."""
        self._callbacks.on_reconnect = callback
        return self

    async def build(self) -> ConnT:
        """Connects and waits until the server accepts the connection.

        Raises:
            ConfigError: if the URI or database name is missing or invalid.
            ConnectError: if the server cannot be reached or refuses the connection.
        """
        if not self._uri:
            raise ConfigError("no server URI: call `with_uri`")
        url = subscribe_url(self._uri, self._database or "", self._compression, self._confirmed)
        imp = ConnectionImpl(self._module, url, self._token, self._reconnect, self._callbacks)
        conn = self._factory(imp)
        imp.conn = conn
        imp.start()
        await imp.wait_connected()
        return conn
