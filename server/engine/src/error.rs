//! The engine's errors: why a database could not start, why a request could not run,
//! and why a module update or a snapshot was refused. Each is typed; the edge maps
//! them to HTTP statuses and WebSocket messages with `From`.

use crate::follower::NotLeader;
use crate::storage::RestoreError;
use spacetime_datastore::DatastoreError;
use spacetime_host::{LoadError, ReducerError};
use spacetime_sats::def::raw::Lifecycle;
use spacetime_sql::rls::RlsError;
use std::sync::Arc;

/// The actor is gone (it was shut down, its thread died, or its commit log failed);
/// the request cannot run.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .log_failure.as_deref().unwrap_or("the database is shutting down"))]
pub struct ActorGone {
    /// Set when the database stopped because its commit log failed: what to tell the
    /// client (see [`crate::storage::stopped_message`]).
    pub log_failure: Option<Arc<str>>,
}

/// The datastore refused to create one of the module's tables.
#[derive(Debug, thiserror::Error)]
#[error("table `{table}`: {source}")]
pub struct CreateTableError {
    /// The table's name.
    pub table: String,
    /// The datastore's reason.
    pub source: DatastoreError,
}

/// Why a database could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The module could not be instantiated.
    #[error("{0}")]
    Instantiate(#[from] LoadError),
    /// The datastore refused the module's tables.
    #[error("cannot create the module's tables: {0}")]
    Tables(#[from] CreateTableError),
    /// A row-level security filter does not check (boxed: it is large and rare).
    #[error("{0}")]
    Rls(Box<RlsError>),
    /// `init` failed.
    #[error("the module's `init` reducer failed: {0}")]
    Init(ReducerError),
    /// A view's table could not be created.
    #[error("{0}")]
    Views(Box<crate::views::ViewsError>),
    /// The commit log or snapshot could not be restored.
    #[error("cannot restore the database from its commit log: {0}")]
    Restore(Box<RestoreError>),
    /// The actor thread could not be started (not the module's fault).
    #[error("{0}")]
    Thread(#[source] std::io::Error),
    /// The actor thread stopped before it said whether the database started.
    #[error("the database thread stopped while starting")]
    ThreadStopped,
}

/// Why a module update was refused; the old module keeps running.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The planner cannot migrate the schema automatically; every reason is listed.
    #[error("Database update rejected: {0}\nRepublish with --delete-data to clear the database, or revert the change")]
    Refused(spacetime_migrate::Refusals),
    /// The plan disconnects every client and the publisher did not accept that.
    #[error(
        "this update disconnects every connected client (their bindings cannot read the changed rows): {summary}. \
         Publish again with --break-clients to accept that"
    )]
    BreaksClients {
        /// The plan's summary.
        summary: String,
    },
    /// The rows do not allow the plan (a removed table holds rows, a new unique
    /// constraint has duplicates).
    #[error(transparent)]
    Migration(Box<crate::migration::MigrationError>),
    /// The new module could not be instantiated.
    #[error("{0}")]
    Instantiate(#[from] LoadError),
    /// The datastore refused a new table.
    #[error("{0}")]
    Tables(#[from] CreateTableError),
    /// A row-level security filter of the new module does not check (boxed: it is
    /// large and rare).
    #[error("{0}")]
    Rls(Box<RlsError>),
    /// The database follows another node here: only its leader is updated.
    #[error(transparent)]
    NotLeader(#[from] NotLeader),
    /// The database stopped.
    #[error(transparent)]
    Gone(#[from] ActorGone),
}

impl From<crate::migration::MigrationError> for UpdateError {
    fn from(e: crate::migration::MigrationError) -> Self {
        Self::Migration(Box::new(e))
    }
}

/// Why a client may not call a reducer: the one admission check of HTTP and
/// WebSocket calls (see [`crate::requests::admission`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallRefused {
    /// The module has no reducer of that name.
    #[error("no such reducer `{name}`")]
    NoSuchReducer {
        /// The name asked for.
        name: String,
        /// The reducers a client may call, for the message.
        callable: Vec<String>,
    },
    /// Lifecycle reducers are the server's to call.
    #[error("`{name}` is the module's {lifecycle:?} lifecycle reducer; the server calls it, clients cannot")]
    Lifecycle {
        /// The reducer.
        name: String,
        /// Which lifecycle event it handles.
        lifecycle: Lifecycle,
    },
    /// Private (scheduled) reducers are only the owner's to call.
    #[error("reducer `{name}` is private; only the database owner may call it")]
    Private {
        /// The reducer.
        name: String,
    },
}

/// Why an HTTP reducer call did not run the reducer, or ran it and failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The admission check refused the call.
    #[error(transparent)]
    Refused(#[from] CallRefused),
    /// The JSON arguments do not fit the reducer's parameters.
    #[error(
        "invalid arguments {error}; the reducer takes ({params}), sent as a JSON array in that order or an object \
         keyed by name"
    )]
    InvalidArgs {
        /// What is wrong, with the path to the bad value.
        error: String,
        /// The parameter names, comma-separated.
        params: String,
    },
    /// A procedure's return value is not BSATN of its declared return type.
    #[error("the procedure returned bytes that are not a value of its return type: {0}")]
    BadReturn(String),
    /// `client_connected` refused the caller; the reducer did not run.
    #[error("the module's client_connected reducer rejected the caller: {0}")]
    ConnectRejected(#[source] ReducerError),
    /// The database follows another node here: only its leader runs calls.
    #[error(transparent)]
    NotLeader(#[from] NotLeader),
    /// A call for a connection another node hosts (a reader's WebSocket client) whose
    /// connection the database does not hold as connected: it ended here (its node was
    /// taken for dead) or never began.
    #[error(
        "connection {0} is not connected to this database (its client_disconnected ran, or it never connected);          reconnect"
    )]
    NotConnected(spacetime_sats::ConnectionId),
    /// The database stopped.
    #[error(transparent)]
    Gone(#[from] ActorGone),
}

/// Why a WebSocket connection was not accepted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// `client_connected` refused the client (its error says why).
    #[error("{0}")]
    Rejected(#[source] ReducerError),
    /// The connection was registered before (its queue was taken).
    #[error("this connection was already registered")]
    AlreadyRegistered,
    /// Another identity's live connection has this connection id.
    #[error(
        "connection id {0} belongs to another identity's live connection to this database; \
         connect without `connection_id` to get a fresh one"
    )]
    ConnectionIdInUse(spacetime_sats::ConnectionId),
}

/// Why a snapshot file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotWriteError {
    /// The log failed before the snapshot's offset became durable.
    #[error("{0}")]
    Log(#[from] spacetime_commitlog::DurabilityError),
    /// Writing, pruning or listing the snapshot files failed.
    #[error("{0}")]
    File(#[from] spacetime_commitlog::SnapshotError),
}

/// Why a snapshot was not taken.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// An in-memory server logs nothing.
    #[error("the server runs with --in-memory: this database has no commit log to snapshot")]
    InMemory,
    /// Nothing was logged yet.
    #[error("the database has logged no transaction yet: there is nothing to snapshot")]
    NothingLogged,
    /// The database follows another node here, whose log it keeps: snapshots are
    /// taken on the leader.
    #[error(transparent)]
    NotLeader(#[from] NotLeader),
    /// Waiting for the log, writing the file or pruning older snapshots failed.
    #[error("cannot write the snapshot at tx offset {offset}: {source}")]
    Write {
        /// The tx offset it was for.
        offset: u64,
        /// What failed.
        source: SnapshotWriteError,
    },
    /// The database stopped.
    #[error(transparent)]
    Gone(#[from] ActorGone),
}

impl From<crate::views::ViewsError> for StartError {
    fn from(e: crate::views::ViewsError) -> Self {
        Self::Views(Box::new(e))
    }
}

impl From<RlsError> for StartError {
    fn from(e: RlsError) -> Self {
        Self::Rls(Box::new(e))
    }
}

impl From<RlsError> for UpdateError {
    fn from(e: RlsError) -> Self {
        Self::Rls(Box::new(e))
    }
}
