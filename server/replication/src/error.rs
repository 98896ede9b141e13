//! The errors of this crate.

use std::time::Duration;

/// An error talking to the etcd cluster or reading what it holds.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplicationError {
    /// The etcd client failed (connection, gRPC status, watch or lease error).
    #[error("etcd {op}: {source}")]
    Etcd {
        /// What was being done ("append to the log", "read the head", …).
        op: &'static str,
        /// The client's error.
        #[source]
        source: etcd_client::Error,
    },
    /// No answer within the configured time; whether a write took effect is unknown.
    #[error("etcd {op}: no answer within {after:?}")]
    Timeout {
        /// What was being done.
        op: &'static str,
        /// The time waited.
        after: Duration,
    },
    /// A key holds a value this crate did not write (or a newer version did).
    #[error("etcd key {key} holds {value:?}, which is not {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// Its value, lossily as text.
        value: String,
        /// What it should hold.
        expected: &'static str,
    },
    /// A log batch read back does not hold whole, verifying commits.
    #[error("etcd key {key} holds a damaged log batch: {why}")]
    BadBatch {
        /// The key.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// A batch is larger than one etcd request may be (about 1.5 MiB by default).
    #[error(
        "a batch of {len} bytes exceeds the {max} bytes one etcd request may carry; larger batches \
         (chunked through a staging prefix) are not supported yet"
    )]
    BatchTooLarge {
        /// The batch's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// This node acted as the leader of `epoch`, but a newer leader was elected.
    #[error("deposed: epoch {epoch} is no longer this database's epoch (a newer leader was elected)")]
    Deposed {
        /// The epoch this node was elected in.
        epoch: u64,
    },
    /// The log watch was cancelled by etcd (e.g. its start revision was compacted).
    #[error("etcd cancelled the log watch: {0}")]
    WatchCancelled(String),
    /// The local commit log failed (e.g. while cutting an uncommitted tail).
    #[error(transparent)]
    Commitlog(#[from] spacetime_commitlog::CommitlogError),
    /// The runtime that drives the etcd client could not be started.
    #[error("cannot start the etcd client's runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Shorthand for this crate's results.
pub type Result<T, E = ReplicationError> = std::result::Result<T, E>;

/// Wraps an etcd client error with what was being done.
pub(crate) fn etcd(op: &'static str) -> impl FnOnce(etcd_client::Error) -> ReplicationError {
    move |source| ReplicationError::Etcd { op, source }
}
