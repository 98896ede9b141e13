//! Durability for one database: the append-only commit log, the group-commit writer
//! that makes it fast, and snapshot files that bound replay time.
//!
//! # Brief overview
//! - [`recover`] opens a database directory after a start or a crash: it opens the
//!   log in `<dir>/clog/` (checking every commit, rewriting a damaged segment header
//!   when the commits behind it verify, and cutting a damaged tail),
//!   picks the newest valid snapshot in `<dir>/snapshots/` that the log covers, and
//!   hands back a [`Recovered`] whose [`replay`](Recovered::replay) yields the
//!   transactions to apply on top of that snapshot. Its [`RecoveryReport`] says
//!   what was cut or skipped (and is logged).
//! - [`Durability::start`] takes the [`Commitlog`] to a background writer thread.
//!   The database thread calls [`Durability::append_tx`] after each commit; the
//!   writer writes batches, one fsync per batch, and publishes the durable offset.
//!   Confirmed reads wait with [`Durability::wait_durable`] or
//!   [`DurableOffset::wait_for`].
//! - [`Durability::start_replicated`] does the same with a [`ReplicatedLog`] (a
//!   cluster's log): each batch is appended there too, in parallel with the fsync,
//!   under the leader's epoch, and is durable only when both have it. A deposed
//!   leader's writer is fenced and fails. [`Durability::start`] is standalone
//!   ([`Standalone`]). A node rejoining after a failover first cuts the local tail
//!   the cluster never committed with [`Commitlog::cut_uncommitted`].
//! - [`SnapshotStore::write`] stores a snapshot at a tx offset (atomically); old
//!   ones are pruned, and [`Durability::request_prune`] drops log segments that no
//!   kept snapshot needs.
//!
//! Payloads are opaque bytes: the server decides how a transaction (row inserts and
//! deletes, schema and module changes) or a snapshot is encoded. The on-disk format
//! is described in `FORMAT.md` next to this crate's `Cargo.toml`.
//!
//! # Examples
//! The life of one database, as the server drives it:
//! ```
//! use spacetime_commitlog::{recover, CommitlogOptions, Durability, DurabilityOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let tmp = tempfile::tempdir()?;
//! # let dir = tmp.path();
//! // On start: restore the newest valid snapshot, then apply the log after it.
//! let recovered = recover(dir, CommitlogOptions::default())?;
//! let mut state = recovered.snapshot.as_ref().map(|s| s.payload.clone()).unwrap_or_default();
//! for tx in recovered.replay() {
//!     let (_tx_offset, record) = tx?;
//!     state.extend_from_slice(&record); // stands for applying the transaction
//! }
//! let snapshots = recovered.snapshots.clone();
//! let durability = Durability::start(recovered.commitlog, DurabilityOptions::default())?;
//!
//! // After each transaction commits in memory: log it (no waiting for the disk).
//! let tx_offset = durability.append_tx(b"inserts and deletes".to_vec())?;
//! state.extend_from_slice(b"inserts and deletes");
//! // A confirmed result is released once its transaction is durable.
//! durability.wait_durable(tx_offset, None)?;
//!
//! // Now and then: snapshot durable state, then drop log segments no snapshot needs.
//! snapshots.write(tx_offset, &state)?;
//! if let Some(oldest) = snapshots.oldest()? {
//!     durability.request_prune(oldest + 1);
//! }
//! durability.close()?;
//! # Ok(())
//! # }
//! ```
//!
//! **Architecture invariant:** knows nothing of the datastore, the host or HTTP; the
//! core ([`Commitlog`], [`SnapshotStore`]) is synchronous, and [`DurableOffset`]'s
//! future needs no particular executor (it depends on no async runtime).

#![deny(missing_docs)]

mod commitlog;
mod durability;
mod error;
mod format;
mod fsutil;
mod fsync_ledger;
mod header_repair;
mod rejoin;
mod replay;
mod replicated;
mod report;
mod segment;
mod snapshot;

pub use commitlog::{Commitlog, CommitlogOptions};
pub use durability::{BeforeSync, Durability, DurabilityOptions, DurabilityStats, DurableOffset};
pub use error::{CommitlogError, DurabilityError, SnapshotError};
pub use format::{
    batch_records, check_segment_header, commit_ids, encode_commit, parse_segment_file_name, segment_file_name,
    segment_header, split_commits, split_commits_prefix, CommitId, FramesEnd, MAX_RECORD_LEN, SEGMENT_HEADER_LEN,
    SEGMENT_SUFFIX,
};
pub use fsync_ledger::{lose_unsynced, unsynced, UnsyncedCut, FSYNC_LEDGER_ENV, FSYNC_LEDGER_FILE};
pub use replay::Replay;
pub use replicated::{AppendOutcome, Batch, CommitChecksums, ReplicatedLog, Standalone};
pub use report::{HeaderRepair, RecoveryReport, SkippedSnapshot, TailCut};
pub use segment::Damage;
pub use snapshot::{
    snapshot_file_name, snapshot_header, verify_snapshot, LatestSnapshot, Snapshot, SnapshotStore, SNAPSHOT_HEADER_LEN,
    SNAPSHOT_SUFFIX,
};

use std::path::Path;

/// The log directory inside a database directory.
pub const LOG_DIR: &str = "clog";
/// The snapshot directory inside a database directory.
pub const SNAPSHOT_DIR: &str = "snapshots";

/// A database directory opened for restore: see [`recover`].
#[derive(Debug)]
pub struct Recovered {
    /// The log, checked and repaired; give it to [`Durability::start`] after replay.
    pub commitlog: Commitlog,
    /// The snapshot directory, for writing new snapshots.
    pub snapshots: SnapshotStore,
    /// The snapshot to restore first, if any.
    pub snapshot: Option<Snapshot>,
    /// What was found, cut and skipped (already logged).
    pub report: RecoveryReport,
}

impl Recovered {
    /// The first tx offset to replay: right after the snapshot, or the log's start.
    pub fn replay_start(&self) -> u64 {
        self.snapshot
            .as_ref()
            .map_or(self.commitlog.first_tx_offset(), |s| s.tx_offset + 1)
    }

    /// The transactions to apply after restoring [`Self::snapshot`], in order.
    pub fn replay(&self) -> Replay {
        self.commitlog.replay_from(self.replay_start())
    }
}

/// Opens the database directory `dir` (`<dir>/clog/`, `<dir>/snapshots/`, created if
/// missing) and finds what to restore.
///
/// 1. Opens the log with [`Commitlog::open`]: every commit is checked and a damaged
///    tail is cut at the last good commit.
/// 2. Takes the newest valid snapshot at or below the log's durable offset
///    ([`SnapshotStore::latest_valid`]); damaged ones, and ones newer than the log,
///    are renamed `.invalid` and reported.
/// 3. Checks the log holds every transaction after that snapshot.
///
/// Cuts and skipped snapshots are logged at `warn` and listed in the report.
///
/// # Errors
/// I/O errors, [`CommitlogError::UnreadableSegment`] when a segment's header and the
/// commit behind it are both damaged, and [`CommitlogError::MissingHistory`] when the
/// log starts after the chosen snapshot (or at a non-zero offset with no snapshot),
/// so some transactions exist nowhere.
pub fn recover(dir: impl AsRef<Path>, options: CommitlogOptions) -> Result<Recovered, CommitlogError> {
    recover_visiting(dir, options, |_, _| {})
}

/// As [`recover`], and calls `visit(tx offset, record)` for every record of the log
/// that is kept, in order, while step 1 checks it ([`Commitlog::open_visiting`]): the
/// whole log in one read, snapshot or not.
///
/// # Errors
/// As [`recover`].
pub fn recover_visiting(
    dir: impl AsRef<Path>,
    options: CommitlogOptions,
    visit: impl FnMut(u64, &[u8]),
) -> Result<Recovered, CommitlogError> {
    let dir = dir.as_ref();
    let (commitlog, mut report) = Commitlog::open_visiting(dir.join(LOG_DIR), options, visit)?;
    let snapshots = SnapshotStore::open(dir.join(SNAPSHOT_DIR))?;
    let latest = snapshots.latest_valid(commitlog.durable_offset())?;
    for skipped in &latest.skipped {
        log::warn!("database {}: {skipped}", dir.display());
    }
    report.skipped_snapshots = latest.skipped;
    let recovered = Recovered {
        commitlog,
        snapshots,
        snapshot: latest.snapshot,
        report,
    };
    let first = recovered.commitlog.first_tx_offset();
    if recovered.replay_start() < first || (recovered.snapshot.is_none() && first > 0) {
        return Err(CommitlogError::MissingHistory { first });
    }
    Ok(recovered)
}
