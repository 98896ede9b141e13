//! The Spacetime server's edge: the HTTP API under `/v1`, the WebSocket endpoint,
//! identities and tokens, and the database registry. Each database runs in the engine
//! (`spacetime-engine`): one actor thread per database.
//!
//! # Brief overview
//! - [`ServerConfig`] says where the data directory is, where to listen and where the
//!   token keys are.
//! - [`serve`] runs a server until Ctrl-C/SIGTERM, printing
//!   `Starting SpacetimeDB listening on <ip:port>` once bound. [`Server`] is the same in
//!   two steps ([`Server::bind`], then [`Server::run_until`]) for embedders and tests
//!   that need the bound address or their own shutdown signal.
//!
//! # Examples
//! ```no_run
//! # async fn run() -> Result<(), spacetime_server::ServerError> {
//! let mut config = spacetime_server::ServerConfig::new("/tmp/spacetime-data");
//! config.listen_addr = "127.0.0.1:3000".into();
//! spacetime_server::serve(config).await
//! # }
//! ```

#![deny(missing_docs)]
#![warn(clippy::print_stdout, clippy::dbg_macro)]

mod api_error;
pub mod auth;
pub mod backup;
pub mod cluster;
mod config;
mod control;
mod environment;
mod error;
mod locks;
mod metrics;
mod names;
mod pg;
mod program_store;
mod registry;
mod routes;
mod server;
mod state;
mod versions;
mod ws;

pub use config::{ClusterConfig, ClusterRole, JwtKeySource, ServerConfig};
pub use error::ServerError;
pub use server::{serve, Server};

/// The commit-log record of a committed transaction, exactly as a durable database
/// logs it. Public only so benchmarks measure the real encoding.
#[doc(hidden)]
pub use spacetime_engine::encode_tx_record;
