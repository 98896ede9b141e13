//! [`DbConnectionBuilder`]: the settings and callbacks of a new connection.

use crate::connection::{ConnectionCallbacks, DbContextImpl};
use crate::context::{DbConnection, ErrorContext};
use crate::error::{Error, Result};
use crate::mock::MockServer;
use crate::module::SpacetimeModule;
use crate::transport::{self, ReconnectPolicy, RuntimeHandle, TransportConfig, TransportLink};
use spacetime_protocol::Compression;
use spacetime_sats::Identity;
use std::sync::Arc;
use tokio::sync::mpsc::unbounded_channel;
use tokio_tungstenite::tungstenite::http::Uri;

/// Builds a [`DbConnection`]: `DbConnection::builder()`.
pub struct DbConnectionBuilder<M: SpacetimeModule> {
    uri: Option<std::result::Result<Uri, String>>,
    database_name: Option<String>,
    token: Option<String>,
    compression: Compression,
    confirmed_reads: Option<bool>,
    reconnect: Option<ReconnectPolicy>,
    callbacks: ConnectionCallbacks<M>,
}

impl<M: SpacetimeModule> DbConnectionBuilder<M> {
    pub(crate) fn new() -> Self {
        Self {
            uri: None,
            database_name: None,
            token: None,
            compression: Compression::default(),
            confirmed_reads: None,
            reconnect: None,
            callbacks: ConnectionCallbacks {
                on_connect: None,
                on_connect_error: None,
                on_disconnect: None,
                on_reconnect: None,
            },
        }
    }

    /// The server's base URI (`http`, `https`, `ws` or `wss`; no scheme means `ws`).
    /// Required.
    pub fn with_uri<E: std::fmt::Display>(mut self, uri: impl TryInto<Uri, Error = E>) -> Self {
        self.uri = Some(uri.try_into().map_err(|e| e.to_string()));
        self
    }

    /// The database's name or identity. Required.
    pub fn with_database_name(mut self, name_or_identity: impl Into<String>) -> Self {
        self.database_name = Some(name_or_identity.into());
        self
    }

    /// The token to authenticate with; `None` connects anonymously, and the server mints
    /// a new identity whose token `on_connect` receives.
    pub fn with_token(mut self, token: Option<impl Into<String>>) -> Self {
        self.token = token.map(Into::into);
        self
    }

    /// The compression the server should use for large messages (default Brotli).
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Whether the server should send updates only once they are durable (the server's
    /// default when not set is yes).
    pub fn with_confirmed_reads(mut self, confirmed: bool) -> Self {
        self.confirmed_reads = Some(confirmed);
        self
    }

    /// Re-establishes dropped connections as `policy` says, as the same identity, and
    /// resubscribes; callbacks see only rows that changed meanwhile. A connection closed
    /// by [`DbContext::disconnect`](crate::DbContext::disconnect), or refused by the
    /// server, is never re-established.
    pub fn with_reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Runs once the server accepts the connection, with this client's identity and the
    /// token to save for reconnecting as it.
    pub fn on_connect(mut self, callback: impl FnOnce(&DbConnection<M>, Identity, &str) + Send + 'static) -> Self {
        self.callbacks.on_connect = Some(Box::new(callback));
        self
    }

    /// Runs if the connection fails before the server accepts it.
    pub fn on_connect_error(mut self, callback: impl FnOnce(&ErrorContext<M>, Error) + Send + 'static) -> Self {
        self.callbacks.on_connect_error = Some(Box::new(callback));
        self
    }

    /// Runs when an accepted connection ends: with no error after `disconnect()`.
    pub fn on_disconnect(mut self, callback: impl FnOnce(&ErrorContext<M>, Option<Error>) + Send + 'static) -> Self {
        self.callbacks.on_disconnect = Some(Box::new(callback));
        self
    }

    /// Runs each time a dropped connection has been re-established and resubscribed.
    pub fn on_reconnect(mut self, callback: impl FnMut(&DbConnection<M>, Identity, &str) + Send + 'static) -> Self {
        self.callbacks.on_reconnect = Some(Box::new(callback));
        self
    }

    /// Starts connecting and returns the connection at once; `on_connect` or
    /// `on_connect_error` tells how it went. The socket runs on the current tokio runtime
    /// if there is one, else on a one-thread runtime the connection owns.
    ///
    /// # Errors
    /// [`Error::Config`] if the URI or database name is missing or invalid, and
    /// [`Error::Internal`] if no runtime could be started.
    #[must_use = "a connection does nothing until driven by frame_tick, run_threaded, run_async or advance_one_message*"]
    pub fn build(self) -> Result<DbConnection<M>> {
        let uri = match self.uri {
            None => return Err(Error::Config("no server URI: call `with_uri`".into())),
            Some(Err(e)) => return Err(Error::Config(format!("invalid server URI: {e}"))),
            Some(Ok(uri)) => uri,
        };
        let database = self.database_name.unwrap_or_default();
        let url = transport::subscribe_url(&uri, &database, self.compression, self.confirmed_reads)?;
        let runtime = RuntimeHandle::get()?;
        let link = Arc::new(TransportLink::with_token(self.token));
        let (outgoing_tx, outgoing_rx) = unbounded_channel();
        let (work_tx, work_rx) = unbounded_channel();
        let config = TransportConfig {
            url,
            reconnect: self.reconnect,
        };
        runtime
            .handle
            .spawn(transport::run(config, outgoing_rx, work_tx.clone(), link.clone()));
        let imp = DbContextImpl::new(self.callbacks, outgoing_tx, (work_tx, work_rx), link);
        imp.keep_runtime(runtime);
        Ok(DbConnection::new(imp))
    }

    /// Builds a connection to an in-process [`MockServer`] instead of a real server, for
    /// tests: no URI or network is needed.
    pub fn build_with_mock(self) -> (DbConnection<M>, MockServer) {
        let link = Arc::new(TransportLink::with_token(self.token));
        let (outgoing_tx, outgoing_rx) = unbounded_channel();
        let (work_tx, work_rx) = unbounded_channel();
        let mock = MockServer::new(work_tx.clone(), outgoing_rx);
        let imp = DbContextImpl::new(self.callbacks, outgoing_tx, (work_tx, work_rx), link);
        (DbConnection::new(imp), mock)
    }
}
