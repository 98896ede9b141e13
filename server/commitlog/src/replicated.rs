//! The seam between the group-commit writer and a replicated log: after framing a
//! batch, the writer hands it to a [`ReplicatedLog`] (in parallel with its own
//! write and fsync) and publishes the batch durable only when both have it. So a
//! confirmed result means "on this node's disk and committed by the cluster", the
//! minimum of the two. [`Standalone`] is the implementation for a database with no
//! cluster: it commits at once, and the writer then does exactly what it did before
//! replication existed (same bytes, same system calls, no extra thread).

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// One group-commit batch as the writer hands it to a [`ReplicatedLog`].
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The epoch (leader term) the writer runs under; every commit in `frames` has it.
    pub epoch: u64,
    /// Tx offset of the batch's first transaction.
    pub first: u64,
    /// Tx offset of its last transaction.
    pub last: u64,
    /// The commits, framed exactly as the segment files hold them (`FORMAT.md`).
    pub frames: &'a [u8],
}

/// What became of a batch handed to a [`ReplicatedLog`].
#[derive(Debug)]
pub enum AppendOutcome {
    /// The cluster committed the batch (on a quorum's disks).
    Committed,
    /// The cluster has moved to a newer epoch: this node is no longer the leader and
    /// the batch was not committed (and never will be).
    Fenced {
        /// The cluster's epoch.
        current: u64,
    },
    /// The batch may or may not have been committed (a timeout, a lost connection):
    /// the writer asks again with [`ReplicatedLog::resolve`].
    Unknown(Box<dyn Error + Send + Sync>),
    /// The batch cannot be appended and retrying will not change that (it is too
    /// large for the cluster, or the cluster's log is not the one this writer
    /// continues): the writer stops, as on a disk error.
    Refused(Box<dyn Error + Send + Sync>),
}

impl fmt::Display for AppendOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppendOutcome::Committed => write!(f, "committed"),
            AppendOutcome::Fenced { current } => write!(f, "fenced by epoch {current}"),
            AppendOutcome::Unknown(why) => write!(f, "outcome unknown ({why})"),
            AppendOutcome::Refused(why) => write!(f, "refused ({why})"),
        }
    }
}

/// A log that every group-commit batch is also appended to before it counts as
/// durable, e.g. a cluster's replicated tail. Called on the writer's threads only,
/// one batch at a time, in tx offset order.
pub trait ReplicatedLog: Send {
    /// Appends `batch`, fenced by its epoch: a cluster whose epoch is newer answers
    /// [`AppendOutcome::Fenced`]. Appending the same batch twice must be harmless
    /// (the second finds it committed), since [`Self::resolve`] may resend it.
    fn append(&mut self, batch: Batch<'_>) -> AppendOutcome;

    /// After [`AppendOutcome::Unknown`]: finds out whether `batch` was committed, and
    /// if it was not, appends it again. The writer calls it until the outcome is
    /// known or its patience ([`crate::DurabilityOptions::unknown_outcome_timeout`])
    /// runs out, which stops the database as a disk error would.
    fn resolve(&mut self, batch: Batch<'_>) -> AppendOutcome;

    /// Whether [`Self::append`] does I/O worth overlapping with the local write and
    /// fsync (on a second thread). `false` for [`Standalone`], which answers at once.
    fn in_parallel(&self) -> bool {
        true
    }

    /// Gives the log the database's rolling checksum after each tx offset, computed by
    /// the layer that knows what the records mean, to publish with each batch so that
    /// followers can check their copy. The default ignores it.
    fn attach_checksums(&mut self, _checksums: Arc<dyn CommitChecksums>) {}
}

/// The checksum of a database's contents after a tx offset, as the layer above the
/// log computes it (opaque here: the commit log knows nothing of rows). Asked by a
/// [`ReplicatedLog`] for the last tx offset of what it appends.
pub trait CommitChecksums: Send + Sync {
    /// The checksum after tx offset `tx_offset`, if known. Asked in non-decreasing
    /// order of offsets (a resent batch asks the same offset again), so an
    /// implementation may forget values below the last offset asked.
    fn checksum_at(&self, tx_offset: u64) -> Option<u128>;
}

/// The [`ReplicatedLog`] of a database with no cluster: every batch is committed as
/// soon as it is asked, so "durable" stays "fsynced on this node".
#[derive(Debug, Clone, Copy, Default)]
pub struct Standalone;

impl ReplicatedLog for Standalone {
    fn append(&mut self, _batch: Batch<'_>) -> AppendOutcome {
        AppendOutcome::Committed
    }

    fn resolve(&mut self, _batch: Batch<'_>) -> AppendOutcome {
        AppendOutcome::Committed
    }

    fn in_parallel(&self) -> bool {
        false
    }
}
