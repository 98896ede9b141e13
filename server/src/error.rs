//! [`ServerError`]: why a server could not start or stopped serving.

use crate::auth::{KeyError, OidcConfigError};
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
    /// `SPACETIME_OIDC_ISSUERS` is not a valid issuer list.
    #[error(transparent)]
    Oidc(#[from] OidcConfigError),
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
    /// Serving failed.
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
}
