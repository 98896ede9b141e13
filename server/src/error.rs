//! [`ServerError`]: why a server could not start or stopped serving.

use crate::auth::KeyError;
use crate::registry::RegistryError;
use std::path::PathBuf;

/// Why [`serve`](crate::serve) or [`Server::bind`](crate::Server::bind) failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The token key pair could not be loaded or created.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The registry could not be opened.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The listen address could not be bound.
    #[error(
        "cannot listen on {addr}: {source}; is another server running there? pick another address with --listen-addr"
    )]
    Bind {
        /// The address.
        addr: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The WebAssembly engine could not be set up.
    #[error(transparent)]
    Host(spacetime_host::LoadError),
    /// Cluster mode could not start (etcd unreachable, or settings it cannot use).
    #[error("cluster mode: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),
    /// The SIGTERM/SIGINT handlers could not be installed.
    #[error("cannot listen for shutdown signals: {0}")]
    Signals(std::io::Error),
    /// A graceful shutdown did not finish within its deadline; the logs of the
    /// databases that stopped were flushed, the rest were abandoned.
    #[error(
        "the graceful shutdown did not finish within {} s: {databases} database(s) still running a request, \
         {sessions} WebSocket(s) still closing; raise shutdown-timeout (SPACETIME_SHUTDOWN_TIMEOUT) if this is \
         expected",
        after.as_secs()
    )]
    ShutdownTimeout {
        /// The deadline.
        after: std::time::Duration,
        /// Databases whose actor had not ended.
        databases: usize,
        /// WebSocket sessions still open.
        sessions: usize,
    },
    /// Serving failed.
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
}
