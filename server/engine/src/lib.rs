//! The per-database engine of Spacetime: everything that happens to one database
//! between the edge (HTTP and WebSocket) and the module host, datastore and commit
//! log.
//!
//! # Brief overview
//! - [`Database`] is the handle the edge holds: each method sends a request to the
//!   database's actor thread ([`actor`]), which owns the datastore, the module
//!   instance, the commit log, the schedule queue and the subscribers, and serves
//!   requests one at a time. [`Databases`] maps identities to running databases.
//! - [`requests`] is request dispatch: HTTP calls and SQL, WebSocket client messages,
//!   module updates, snapshots. Reducer calls from both transports pass one admission
//!   check and resolve inside the actor.
//! - [`commit`] is the single commit funnel: every transaction ends there, and is
//!   logged, checked against the snapshot policy, fed to the scheduler and published
//!   to subscribers, in that order.
//! - [`subscription`] holds the clients, their query sets, delta evaluation and
//!   fan-out; it is given the datastore and the log offset and never runs module code.
//! - [`storage`] is what a database logs and snapshots, and its restore on start;
//!   [`schedule`] is the queue of scheduled reducers; [`module_logs`] the module's log
//!   lines.
#![deny(missing_docs)]
#![warn(clippy::print_stdout, clippy::dbg_macro)]

mod actor;
pub mod backup;
pub mod commit;
mod database;
pub mod error;
pub mod follower;
mod http_handlers;
pub mod metrics;
pub mod migration;
pub mod module_logs;
mod procedures;
pub mod requests;
pub mod schedule;
mod schema_change;
mod sql_settings;
pub mod storage;
pub mod subscription;
pub mod views;

pub use database::{Database, Databases, ProcedureReply};
pub use error::{ActorGone, CallError, CallRefused, ConnectError, SnapshotError, StartError, UpdateError};
pub use http_handlers::MAX_RUNNING_HTTP_HANDLERS;
pub use requests::{ClientRequest, HostedClient, HostedError, SqlResult, UpdateOptions};
pub use spacetime_migrate::{Plan, Refusals};

use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::ConnectionId;
use spacetime_sql::rls::RlsRules;

/// Checks what a module needs beyond its definition's own validation before it is
/// published: its tables can be created, and its row-level security filters parse and
/// check against them. Run at publish, before a database is created or updated.
///
/// # Errors
/// [`StartError::Tables`] or [`StartError::Rls`], naming the table or filter and why.
pub fn check_module(def: &ModuleDef) -> Result<(), StartError> {
    let mut scratch = spacetime_datastore::Datastore::new();
    schema_change::create_tables(&mut scratch, def.tables.iter(), def)?;
    RlsRules::compile(def, &scratch)?;
    Ok(())
}

/// A fresh random connection id (never zero, which means "none").
pub fn random_connection_id() -> ConnectionId {
    use rand_core::RngCore;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes[0] |= 1;
    ConnectionId::from_le_byte_array(bytes)
}

/// The commit-log record of a committed transaction, exactly as a durable database
/// logs it. Public only so benchmarks measure the real encoding.
#[doc(hidden)]
pub use storage::record::encode_tx as encode_tx_record;
