//! The errors of this crate, one enum per layer: the log ([`CommitlogError`]), the
//! snapshot files ([`SnapshotError`]) and the background writer ([`DurabilityError`]).

use crate::segment::Damage;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An error of the commit log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitlogError {
    /// A file system operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done ("open segment", "fsync directory", …).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Replay met damage that was not there when the log was opened (the file changed
    /// under us, or the disk returns different bytes).
    #[error("commit log damaged in {} at byte {byte_offset}: {damage}", segment.display())]
    Corrupt {
        /// The segment file.
        segment: PathBuf,
        /// Byte offset of the damaged commit.
        byte_offset: u64,
        /// What is wrong.
        damage: Damage,
    },
    /// A segment's header is damaged and the data behind it does not verify either, so
    /// what the segment held cannot be told. Opening refuses, and changes nothing on
    /// disk, rather than dropping the segment's commits.
    #[error(
        "commit log segment {} cannot be read: its header is damaged ({header}) and the data \
         behind it does not verify either (byte {byte_offset}: {damage}); nothing was changed on \
         disk. Restore this segment file from a backup; the log will not open without it, so \
         that no commit is silently dropped",
        segment.display()
    )]
    UnreadableSegment {
        /// The segment file.
        segment: PathBuf,
        /// What is wrong with its header.
        header: String,
        /// Byte offset of the first commit that does not verify.
        byte_offset: u64,
        /// What is wrong with it.
        damage: Damage,
    },
    /// Replay was asked for offsets the log no longer holds.
    #[error(
        "cannot replay from tx offset {requested}: the log starts at {first} \
         (older segments were pruned after a snapshot; restore that snapshot first)"
    )]
    OffsetBeforeLog {
        /// The offset asked for.
        requested: u64,
        /// The first offset the log holds.
        first: u64,
    },
    /// There is no snapshot to start from, and the log does not start at tx offset 0.
    #[error(
        "the log starts at tx offset {first} but there is no usable snapshot at or after {}; \
         the transactions before it are lost (restore the snapshots directory from a backup)",
        first.saturating_sub(1)
    )]
    MissingHistory {
        /// The first offset the log holds.
        first: u64,
    },
    /// A record is larger than a commit can frame.
    #[error("record of {len} bytes exceeds the maximum of {max} bytes per record")]
    RecordTooLarge {
        /// The record's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An earlier write or fsync failed; the file's state is unknown, so the log
    /// refuses further writes. Reopen it to recover.
    #[error("the commit log stopped after an earlier failure ({0}); reopen it to recover")]
    Poisoned(Arc<str>),
    /// [`Commitlog::append_encoded`](crate::Commitlog::append_encoded) was given bytes
    /// that are not the announced whole commits: a bug in the caller, not damage.
    #[error("a batch of framed commits is malformed: {0}")]
    BadBatch(String),
    /// The replicated log stopped the writer: the cluster moved to a newer epoch (this
    /// node was deposed), or an append's outcome stayed unknown for too long.
    #[error("the replicated log stopped this database's writer: {0}")]
    Replication(Arc<str>),
    /// A writer was started with an epoch lower than the log's last commit: a leader
    /// of an older term may not write after a newer one.
    #[error("cannot write epoch {epoch} to a log whose last commit has epoch {log_epoch}")]
    EpochBehindLog {
        /// The epoch asked for.
        epoch: u64,
        /// The epoch of the log's last commit.
        log_epoch: u64,
    },
    /// A rejoining node cannot tell whether its local tail is the cluster's: the
    /// replicated log no longer holds any commit the local log also holds (it was
    /// trimmed past the local end), so a divergent tail could go unnoticed.
    #[error(
        "cannot check the local log (tx offsets up to {local_next}) against the cluster's: the \
         replicated log only holds tx offsets {cluster_first}..{cluster_next}; bootstrap this node \
         again from a peer's snapshot and segments"
    )]
    Unverifiable {
        /// The local log's next tx offset.
        local_next: u64,
        /// The first tx offset the replicated log still holds.
        cluster_first: u64,
        /// The replicated log's next tx offset.
        cluster_next: u64,
    },
    /// The snapshot store failed during recovery.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

/// An error of the snapshot store. A damaged snapshot is not an error: it is skipped
/// and reported (see [`crate::SkippedSnapshot`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// A file system operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The snapshot asked for does not exist.
    #[error("no snapshot at tx offset {0}")]
    NotFound(u64),
    /// The snapshot asked for exists but is damaged.
    #[error("snapshot {} is damaged: {reason}", path.display())]
    Invalid {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// An error of the background writer ([`crate::Durability`]).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DurabilityError {
    /// The writer hit an I/O error and stopped; nothing after the current durable
    /// offset will become durable. The database must stop and be reopened.
    #[error("the commit log writer failed: {0}")]
    Failed(Arc<str>),
    /// The writer was closed before the offset became durable.
    #[error("the commit log writer is closed; tx offset {0} will not become durable")]
    Closed(u64),
    /// The offset waited for was never appended.
    #[error("tx offset {offset} was never appended (the next offset is {next})")]
    NotAppended {
        /// The offset waited for.
        offset: u64,
        /// The next offset `append_tx` will hand out.
        next: u64,
    },
    /// The deadline passed before the offset became durable.
    #[error("tx offset {0} did not become durable before the deadline")]
    Timeout(u64),
    /// A record is larger than a commit can frame.
    #[error("record of {len} bytes exceeds the maximum of {max} bytes per record")]
    RecordTooLarge {
        /// The record's length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Builds the `map_err` closure for an I/O error on `path`.
pub(crate) fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CommitlogError + 'a {
    move |source| CommitlogError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// Builds the `map_err` closure for an I/O error of the snapshot store on `path`.
pub(crate) fn snap_io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SnapshotError + 'a {
    move |source| SnapshotError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}
