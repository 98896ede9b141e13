//! Durability of one database: its commit log and snapshots (`spacetime-commitlog`)
//! seen from the server. [`open`] restores a database's rows on start; the actor
//! then hands every committed transaction to [`DatabaseLog::append_tx`], and
//! [`DatabaseLog::snapshot_if_due`] writes a snapshot every so many transactions.
//!
//! What is logged is decided in [`record`] (one record per committed transaction,
//! tables by name), and what a snapshot holds in [`snapshot`]. The schema is not
//! logged: it is the module's, whose program the registry keeps; a restart creates
//! the tables from it, then restores the snapshot and replays the log on top, without
//! running reducers. Connected clients are logged too (when the module has a
//! `client_disconnected` reducer), so a restart can run `client_disconnected` for
//! every client a crash cut off ([`DatabaseLog::connected`]); each connection and
//! disconnection is in the same record as its lifecycle reducer's transaction
//! ([`DatabaseLog::append_lifecycle`]), so a crash or failover never separates them.
//!
//! # Confirmed results
//! A reply (HTTP call or SQL, WebSocket `ReducerResult` or `TransactionUpdate` on a
//! confirmed connection) is tagged with the offset of the last record logged before
//! it and released only once that offset is durable. The group-commit writer makes
//! that cheap: one fsync covers every transaction queued while the previous one ran.
//!
//! # When the log cannot be written
//! A write or fsync error (a full disk, a file-size limit, a failing device), or a
//! transaction that cannot be logged, fails the database's log for good
//! ([`spacetime_commitlog::Durability::fail`]); what was durable stays durable, and
//! nothing after it is ever confirmed. Then:
//! - the request whose transaction hit it, and every request waiting for a later
//!   offset, gets a 503 with [`stopped_message`] (the cause, that nothing acknowledged
//!   is lost, and what to do: fix the storage, restart the server);
//! - the actor stops at its next command ([`DatabaseLog::stopped`], which also writes
//!   the message to the server and module logs), so the database accepts no calls,
//!   SQL or connections until a restart, and its in-memory state (which may hold the
//!   unlogged transaction) is never served as confirmed;
//! - other databases on the server keep running;
//! - a restart restores the database from its log, cutting any torn tail.
//!
//! A file-size limit stops only the database that hits it, not the server: `SIGXFSZ`
//! is caught (see [`StorageConfig::new`]). [`HOLD_FSYNC_FILE`] holds a database's fsyncs, for
//! tests of the waiting above.

pub mod checksum;
mod existing;
pub mod record;
pub mod snapshot;

use crate::error::{SnapshotError, SnapshotWriteError};
use crate::module_logs::ModuleLogs;
use checksum::{ChecksumAt, RollingChecksum, SharedChecksum};
use record::{ClientChange, Record, RecordError};
use spacetime_commitlog::{
    recover_visiting, Commitlog, CommitlogError, CommitlogOptions, Durability, DurabilityError, DurabilityOptions,
    DurableOffset, Recovered, ReplicatedLog, SnapshotStore,
};
use spacetime_datastore::{Datastore, TxData};
use spacetime_host::LogLevel;
use spacetime_sats::{ConnectionId, Identity};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where a database keeps its log and how often it snapshots.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// The replica directory; the log goes in `clog/`, snapshots in `snapshots/`.
    pub dir: PathBuf,
    /// Write a snapshot after this many logged transactions (0: never).
    pub snapshot_every: u64,
    /// The database already exists, so its log must hold it (see [`Self::expecting_data`]).
    existing: bool,
    /// The log as [`logged_program`] recovered it, with the offset of its last
    /// migration record, for [`open`] to take instead of reading and checking the
    /// whole log a second time.
    recovered: Arc<Mutex<Option<RecoveredLog>>>,
    /// The database's label in metrics, to record its fsync latency under.
    metrics_label: Option<String>,
    /// How many snapshots to keep; log segments older than the oldest kept one are
    /// removed (see [`DatabaseLog::snapshot_if_due`]).
    snapshots_to_keep: usize,
    /// The size past which the log starts a new segment: only whole segments are
    /// removed, so this bounds what retention leaves beyond the snapshots.
    max_segment_size: u64,
    /// For a new database restored from a backup: its state, in the snapshot format,
    /// loaded instead of running `init` (see [`Self::with_seed`]).
    seed: Option<Arc<[u8]>>,
    /// For a cluster's leader: the replicated log every batch also goes to, and the
    /// epoch it was elected in (see [`Self::with_replication`]).
    replication: Option<Replication>,
}

/// The replicated log a leader's commit log writer appends to, handed over once: the
/// writer owns it. Shared (and taken) because [`StorageConfig`] is `Clone`.
#[derive(Clone)]
struct Replication {
    epoch: u64,
    log: Arc<Mutex<Option<Box<dyn ReplicatedLog>>>>,
}

impl std::fmt::Debug for Replication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replication")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// A recovered log with the tx offset of its last migration record, if any.
type RecoveredLog = (Recovered, Option<u64>);

impl StorageConfig {
    /// The storage of a database in the replica directory `dir`, snapshotting every
    /// `snapshot_every` transactions (0: never).
    ///
    /// The first call also makes sure a file-size limit cannot kill the server (see
    /// [`catch_file_size_signal`]).
    pub fn new(dir: PathBuf, snapshot_every: u64) -> Self {
        catch_file_size_signal();
        Self {
            dir,
            snapshot_every,
            existing: false,
            recovered: Arc::default(),
            metrics_label: None,
            snapshots_to_keep: SnapshotStore::DEFAULT_KEEP,
            max_segment_size: CommitlogOptions::default().max_segment_size,
            seed: None,
            replication: None,
        }
    }

    /// Makes the database's commit log a cluster leader's: every batch is also
    /// appended to `log` under `epoch` (written into each commit header), and becomes
    /// durable, so confirmed, only once both the local fsync and `log` have it. A
    /// fenced or failed append stops the database through the log-failure path (see
    /// "When the log cannot be written"). Without it the log is standalone.
    pub fn with_replication(mut self, epoch: u64, log: Box<dyn ReplicatedLog>) -> Self {
        self.replication = Some(Replication {
            epoch,
            log: Arc::new(Mutex::new(Some(log))),
        });
        self
    }

    /// Starts a new database from `state` (the snapshot format, as a backup holds it)
    /// instead of running `init`; its log then opens with a migration record holding
    /// that state, so a restart restores it as it restores any module update.
    pub fn with_seed(mut self, state: Arc<[u8]>) -> Self {
        self.seed = Some(state);
        self
    }

    /// The state a new database starts from, if restored from a backup.
    pub fn seed(&self) -> Option<&Arc<[u8]>> {
        self.seed.as_ref()
    }

    /// Keeps `snapshots_to_keep` snapshots (at least 1) and starts a new log segment
    /// past `max_segment_size` bytes.
    pub fn with_retention(mut self, snapshots_to_keep: usize, max_segment_size: u64) -> Self {
        self.snapshots_to_keep = snapshots_to_keep.max(1);
        self.max_segment_size = max_segment_size;
        self
    }

    /// Records the log's fsync latency in the metrics under `label`.
    pub fn with_metrics_label(mut self, label: String) -> Self {
        self.metrics_label = Some(label);
        self
    }

    /// Marks the database as one that already exists (the registry lists it, and a
    /// database is registered only once its first records are durable): its log or a
    /// snapshot must then be there. A missing, unreadable or empty log is refused with
    /// [`RestoreError::Missing`] instead of being taken for a new database, whose
    /// `init` would run and which would serve no rows. Without this the storage is
    /// that of a database being created, and an empty log is expected.
    pub fn expecting_data(mut self) -> Self {
        self.existing = true;
        self
    }
}

impl Replication {
    /// The epoch and the log, the first time: a writer owns it, so a second open of
    /// the same storage gets `None` (and is refused, never started standalone).
    fn take(&self) -> Option<(u64, Box<dyn ReplicatedLog>)> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        Some((self.epoch, log))
    }
}

/// Fault injection: while a file of this name exists in a database's replica
/// directory, its log writer holds every fsync, so nothing new becomes durable (and
/// nothing confirmed is released) until the file is removed. The end-to-end tests use
/// it to show that results and subscription updates wait for durability; an operator
/// never needs it, so it is only honoured when the server was started with
/// [`FAULT_INJECTION_ENV`] set to `1`. Checking then costs one `stat` per fsync (per
/// batch of transactions).
pub const HOLD_FSYNC_FILE: &str = "hold-fsync";

/// Fault injection: while a file of this name exists in a database's replica
/// directory, a module update holds right after its migration record is appended (and
/// before it is confirmed), so a test can kill the server in the middle of the swap.
/// Honoured only with [`FAULT_INJECTION_ENV`] set, like [`HOLD_FSYNC_FILE`].
pub const PAUSE_MIGRATION_FILE: &str = "pause-migration";

/// As [`PAUSE_MIGRATION_FILE`], but the update holds before its migration record is
/// appended: a crash then must restart with the old module and rows.
pub const PAUSE_MIGRATION_BEFORE_LOG_FILE: &str = "pause-migration-before-log";

/// The environment variable that enables fault injection ([`HOLD_FSYNC_FILE`]). Test
/// harnesses set it; production servers leave it unset and never look for the file.
pub const FAULT_INJECTION_ENV: &str = "SPACETIME_FAULT_INJECTION";

/// Whether this process honours fault-injection files.
fn fault_injection_enabled() -> bool {
    std::env::var_os(FAULT_INJECTION_ENV).is_some_and(|v| v == "1")
}

/// Blocks while `path` exists, checking every 10 ms (see [`HOLD_FSYNC_FILE`] and
/// [`PAUSE_MIGRATION_FILE`]); `what` names what is held, for the server log.
fn hold_while_exists(path: &std::path::Path, what: &str) {
    if !path.exists() {
        return;
    }
    log::warn!("{} exists: holding {what} until it is removed", path.display());
    while path.exists() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    log::warn!("{} removed: {what} resumes", path.display());
}

/// Catches `SIGXFSZ` (once per process, within a tokio runtime), as PostgreSQL ignores
/// it: a write past the process's file-size limit (`RLIMIT_FSIZE`) then fails with
/// `EFBIG` like a full disk fails with `ENOSPC`, so only the database whose log hit it
/// stops (see [`stopped_message`]) instead of the signal killing the whole server.
fn catch_file_size_signal() {
    #[cfg(unix)]
    {
        static CAUGHT: std::sync::Once = std::sync::Once::new();
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        CAUGHT.call_once(|| {
            // tokio's handler stays installed for the life of the process, even once
            // this stream is dropped; nothing needs to read the signals.
            const SIGXFSZ: i32 = 25;
            if let Err(e) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(SIGXFSZ)) {
                log::warn!("cannot catch SIGXFSZ; a file-size limit would stop the server: {e}");
            }
        });
    }
}

/// Why a database's durable state could not be restored.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The log could not be opened or read.
    #[error("commit log: {0}")]
    Log(#[from] CommitlogError),
    /// The snapshot does not fit the module.
    #[error("snapshot at tx offset {offset}: {source}")]
    Snapshot {
        /// Its tx offset.
        offset: u64,
        /// What is wrong.
        source: RecordError,
    },
    /// The database exists but its data is not on disk (see
    /// [`StorageConfig::expecting_data`]).
    #[error("{what}, but this database exists (the registry lists it), so it is not started as a new, empty database")]
    Missing {
        /// The replica directory.
        dir: PathBuf,
        /// What is missing, naming the files and directories.
        what: String,
    },
    /// The storage's replicated log was already handed to a writer (the storage was
    /// opened twice); a cluster leader's log never falls back to standalone.
    #[error("the replicated log of this storage is already in use by another commit log writer")]
    ReplicationInUse,
    /// The log writer refused the first record.
    #[error("commit log writer: {0}")]
    Append(#[from] DurabilityError),
    /// A logged transaction does not fit.
    #[error("commit log record at tx offset {offset}: {source}")]
    Record {
        /// Its tx offset.
        offset: u64,
        /// What is wrong.
        source: RecordError,
    },
}

/// The program hash named by the last "module" record in the log of `storage`, if
/// any: the module the log's latest records were written with (see [`record`] for why
/// the control plane trusts it over the registry).
///
/// This is the first look at the log after a restart: it recovers the log (checking
/// every commit, cutting a damaged tail, which it reports) and finds the module record
/// in that same read. The recovered log is kept in `storage`, so [`open`] then only
/// replays it.
///
/// # Errors
/// [`RestoreError`] if the log cannot be read or a module record decoded.
pub fn logged_program(storage: &StorageConfig, logs: &Arc<ModuleLogs>) -> Result<Option<String>, RestoreError> {
    let mut last = None;
    let mut last_migration = None;
    let mut bad = None;
    let recovered = recover_storage(storage, logs, |offset, bytes| {
        if record::is_module(bytes) {
            match record::decode(bytes) {
                Ok(Record::Module(hash)) => last = Some(hash),
                Ok(Record::Migration(migration)) => {
                    last = Some(migration.hash);
                    last_migration = Some(offset);
                }
                Ok(_) => {}
                Err(source) => bad = bad.take().or(Some(RestoreError::Record { offset, source })),
            }
        }
    })?;
    if let Some(bad) = bad {
        return Err(bad);
    }
    *storage.recovered.lock().unwrap_or_else(|e| e.into_inner()) = Some((recovered, last_migration));
    Ok(last)
}

/// Recovers the log and snapshots of `storage`, calling `visit` for every record kept
/// (see [`recover_visiting`]), and reports what recovery cut or skipped. For a database
/// that exists ([`StorageConfig::expecting_data`]) a missing or empty log is an error,
/// checked before anything is created on disk.
fn recover_storage(
    storage: &StorageConfig,
    logs: &Arc<ModuleLogs>,
    visit: impl FnMut(u64, &[u8]),
) -> Result<Recovered, RestoreError> {
    if storage.existing {
        existing::check_present(&storage.dir)?;
    }
    let options = CommitlogOptions::default().max_segment_size(storage.max_segment_size);
    let recovered = recover_visiting(&storage.dir, options, visit)?;
    report_recovery(&recovered.report, logs);
    if storage.existing {
        existing::check_not_empty(&storage.dir, &recovered)?;
    }
    Ok(recovered)
}

/// The open log of a running database, owned by its actor.
pub struct DatabaseLog {
    durability: Arc<Durability>,
    snapshots: SnapshotStore,
    snapshot_every: u64,
    since_snapshot: u64,
    /// The offset of the last record appended, for confirmed reads.
    last_offset: Option<u64>,
    snapshotting: Option<std::thread::JoinHandle<()>>,
    module_logs: Arc<ModuleLogs>,
    /// The clients the log holds as connected.
    clients: HashMap<ConnectionId, Identity>,
    /// The node hosting each of them that connected through another node.
    hosts: HashMap<ConnectionId, String>,
    /// The program hash of the running module, logged again after each snapshot so
    /// the log after the newest snapshot always names it (see [`record`]).
    module: Option<String>,
    /// The replica directory, for messages.
    durability_dir: PathBuf,
    /// [`DatabaseLog::stopped`] has reported the failure.
    stop_reported: bool,
    /// The rolling checksum of the rows after the last record appended.
    checksum: RollingChecksum,
    /// The same, for the edge and a cluster leader's replicated log.
    shared_checksum: Arc<SharedChecksum>,
}

/// What a client of a database whose log failed is told, and the module log says:
/// what happened, that nothing acknowledged is lost, and what to do.
pub fn stopped_message(cause: &str) -> String {
    format!(
        "this database has stopped because its commit log cannot be written ({cause}). \
         Every result already returned is durable; nothing after it was acknowledged, and the \
         database accepts no more requests. The server operator must fix the storage (free \
         disk space, check the disk), then restart the server, which restores the database \
         from its log. Other databases on this server are not affected."
    )
}

/// A restored database: its log, and whether it was new.
pub struct Opened {
    /// The log, ready for appends.
    pub log: DatabaseLog,
    /// True when the log was empty: the database is new, its `init` must run, then
    /// [`DatabaseLog::append_created`].
    pub fresh: bool,
}

/// Writes what recovery cut or skipped (if anything) to the server log and to the
/// module log `logs`.
fn report_recovery(report: &spacetime_commitlog::RecoveryReport, logs: &Arc<ModuleLogs>) {
    if report.is_clean() {
        return;
    }
    let message = match &report.cut {
        Some(cut) => format!(
            "commit log damaged at {} byte {}; dropped {} commit(s) from tx offset {} on; {report}",
            cut.segment.display(),
            cut.byte_offset,
            cut.commits_dropped,
            cut.first_lost_tx_offset
        ),
        None => format!("commit log recovered with warnings: {report}"),
    };
    log::warn!("{message}");
    crate::module_logs::log_system(logs, LogLevel::Warn, None, message);
}

/// Opens the log of `storage`, restores the newest snapshot and replays the log into
/// `ds` (whose tables exist and are empty), and starts the log writer. What recovery
/// cut or skipped is written to the server log and to the module log `logs`.
///
/// # Errors
/// [`RestoreError`]; then nothing is running.
pub fn open(storage: &StorageConfig, ds: &mut Datastore, logs: &Arc<ModuleLogs>) -> Result<Opened, RestoreError> {
    let replayed = replay(storage, ds, logs)?;
    let fresh = replayed.fresh;
    let replication = match &storage.replication {
        Some(replication) => Some(replication.take().ok_or(RestoreError::ReplicationInUse)?),
        None => None,
    };
    let log = start_writer(storage, replayed.commitlog, replayed.state, logs, replication)?;
    Ok(Opened { log, fresh })
}

/// A database's log replayed into its datastore, its writer not started yet: the
/// first half of [`open`], and what a follower holds until it is promoted (it then
/// starts the writer with [`start_writer`], replaying nothing again).
pub struct Replayed {
    /// The local log, after its last commit: a follower's standby appends the
    /// leader's commits to it.
    pub commitlog: Commitlog,
    /// What the writer starts from besides the log.
    pub state: LogState,
    /// True when the log was empty: a new database.
    pub fresh: bool,
}

/// What a database's log writer starts from besides the log itself, kept current by
/// every record replayed ([`LogState::replay_record`]).
pub struct LogState {
    snapshots: SnapshotStore,
    /// The clients the log holds as connected.
    clients: HashMap<ConnectionId, Identity>,
    /// The node hosting each of them that connected through another node.
    hosts: HashMap<ConnectionId, String>,
    /// Records replayed since the snapshot (or migration) restored: the snapshot
    /// policy counts them.
    since_snapshot: u64,
    /// The rolling checksum of the rows replayed so far (recomputed on every start,
    /// never stored: the value every replica computes from the same log).
    checksum: RollingChecksum,
}

/// What replaying one record asks of the caller beyond what
/// [`LogState::replay_record`] did itself.
pub enum ReplayStep {
    /// A transaction was applied to the datastore; these are its net changes.
    Tx(TxData),
    /// A module update: its state replaces the rows (the caller restores it into a
    /// datastore made for its module, then calls [`LogState::migrated`]).
    Migration(record::Migration),
    /// Later records were written by the module of this program hash.
    Module(String),
    /// Nothing more (a client record, or "created").
    Nothing,
}

impl LogState {
    /// Replays the record `bytes` at tx `offset` as restore does, without running
    /// reducers: a transaction's rows into `ds`, a client's connection into the
    /// clients held as connected. This is the one applier of logged records, for a
    /// restart and for a follower alike.
    ///
    /// # Errors
    /// [`RestoreError::Record`] if the record is undecodable or does not fit `ds`
    /// (then `ds` is unchanged).
    pub fn replay_record(&mut self, ds: &mut Datastore, offset: u64, bytes: &[u8]) -> Result<ReplayStep, RestoreError> {
        let record = record::decode(bytes).map_err(|source| RestoreError::Record { offset, source })?;
        let step = match record {
            Record::Tx(tables) => ReplayStep::Tx(self.replay_tx(ds, offset, &tables)?),
            // The rows and the client change together, as they were committed.
            Record::Lifecycle(tables, change) => {
                let changes = self.replay_tx(ds, offset, &tables)?;
                note_client(&mut self.clients, &mut self.hosts, change);
                ReplayStep::Tx(changes)
            }
            Record::Client(change) => {
                note_client(&mut self.clients, &mut self.hosts, change);
                ReplayStep::Nothing
            }
            Record::Migration(migration) => ReplayStep::Migration(migration),
            Record::Module(hash) => ReplayStep::Module(hash),
            Record::Created => ReplayStep::Nothing,
        };
        self.since_snapshot += 1;
        Ok(step)
    }

    /// Applies a transaction's `tables` (of the record at tx `offset`) to `ds` and
    /// folds them into the checksum.
    fn replay_tx(
        &mut self,
        ds: &mut Datastore,
        offset: u64,
        tables: &[record::TableRecord],
    ) -> Result<TxData, RestoreError> {
        let changes = record::apply(ds, tables).map_err(|source| RestoreError::Record { offset, source })?;
        for t in tables {
            self.checksum.apply_changes(&t.name, &t.deletes, &t.inserts);
        }
        Ok(changes)
    }

    /// Restores a migration record's state (see [`ReplayStep::Migration`]) into `ds`,
    /// whose tables (the migration's module's) exist and are empty; the clients it
    /// holds replace those held as connected.
    ///
    /// # Errors
    /// [`RestoreError::Record`] if the state does not fit `ds`.
    pub fn migrated(&mut self, ds: &mut Datastore, offset: u64, state: &[u8]) -> Result<(), RestoreError> {
        let clients = snapshot::restore(ds, state).map_err(|source| RestoreError::Record { offset, source })?;
        self.clients = clients.connected.into_iter().map(|(i, c)| (c, i)).collect();
        self.hosts = clients.hosts.into_iter().collect();
        self.checksum =
            RollingChecksum::of_snapshot(state).map_err(|source| RestoreError::Record { offset, source })?;
        Ok(())
    }

    /// The rolling checksum of the rows replayed so far.
    pub fn checksum(&self) -> RollingChecksum {
        self.checksum
    }

    /// The clients the log holds as connected, as [`DatabaseLog::connected`] lists them.
    pub fn connected(&self) -> Vec<(Identity, ConnectionId)> {
        sorted_clients(&self.clients)
    }
}

/// Opens the log of `storage`, restores the newest snapshot and replays the log into
/// `ds` (whose tables exist and are empty), without starting the writer: see [`open`].
///
/// # Errors
/// [`RestoreError`].
pub fn replay(storage: &StorageConfig, ds: &mut Datastore, logs: &Arc<ModuleLogs>) -> Result<Replayed, RestoreError> {
    let taken = storage.recovered.lock().unwrap_or_else(|e| e.into_inner()).take();
    let (recovered, last_migration) = match taken {
        Some(taken) => taken,
        None => {
            let mut last_migration = None;
            let recovered = recover_storage(storage, logs, |offset, bytes| {
                if record::is_migration(bytes) {
                    last_migration = Some(offset);
                }
            })?;
            (recovered, last_migration)
        }
    };
    // A migration record newer than the snapshot holds the whole state after it, and
    // the records before it may not fit the current module: start from it.
    let migration_start = last_migration.filter(|&m| recovered.snapshot.as_ref().is_none_or(|s| s.tx_offset < m));
    let mut fresh = recovered.snapshot.is_none() && migration_start.is_none();
    let mut state = LogState {
        snapshots: recovered.snapshots.clone().keep(storage.snapshots_to_keep),
        clients: HashMap::new(),
        hosts: HashMap::new(),
        since_snapshot: 0,
        checksum: RollingChecksum::EMPTY,
    };
    if let (Some(snap), None) = (&recovered.snapshot, migration_start) {
        state.checksum = RollingChecksum::of_snapshot(&snap.payload).map_err(|source| RestoreError::Snapshot {
            offset: snap.tx_offset,
            source,
        })?;
        let clients = snapshot::restore(ds, &snap.payload).map_err(|source| RestoreError::Snapshot {
            offset: snap.tx_offset,
            source,
        })?;
        state.clients.extend(
            clients
                .connected
                .into_iter()
                .map(|(identity, connection_id)| (connection_id, identity)),
        );
        state.hosts.extend(clients.hosts);
    }
    let replay = match migration_start {
        Some(offset) => recovered.commitlog.replay_from(offset),
        None => recovered.replay(),
    };
    for item in replay {
        let (offset, bytes) = item?;
        fresh = false;
        // Replay starts at the last migration, if any, so its state fills empty tables.
        if let ReplayStep::Migration(migration) = state.replay_record(ds, offset, &bytes)? {
            state.migrated(ds, offset, &migration.state)?;
        }
    }
    if !fresh {
        log::info!(
            "{}: restored, replayed {} transaction(s)",
            storage.dir.display(),
            state.since_snapshot
        );
    }
    Ok(Replayed {
        commitlog: recovered.commitlog,
        state,
        fresh,
    })
}

/// Starts the log writer of `storage` on `commitlog`, replayed into the datastore
/// already (see [`replay`]), appending to `replication` (the epoch and the cluster's
/// log) too if given: the second half of [`open`], and a follower's promotion.
///
/// # Errors
/// [`RestoreError::Append`] if the writer cannot start.
pub fn start_writer(
    storage: &StorageConfig,
    commitlog: Commitlog,
    state: LogState,
    logs: &Arc<ModuleLogs>,
    replication: Option<(u64, Box<dyn ReplicatedLog>)>,
) -> Result<DatabaseLog, RestoreError> {
    let mut options = DurabilityOptions::default();
    if fault_injection_enabled() {
        let hold = storage.dir.join(HOLD_FSYNC_FILE);
        options = options.before_sync(move |_| {
            hold_while_exists(&hold, "the commit log's fsyncs");
            Ok(())
        });
    }
    if let Some(observer) = storage
        .metrics_label
        .as_deref()
        .and_then(crate::metrics::fsync_observer)
    {
        options = options.after_sync(observer);
    }
    let shared_checksum = Arc::new(SharedChecksum::new(ChecksumAt {
        offset: commitlog.next_tx_offset().checked_sub(1),
        checksum: state.checksum,
    }));
    let durability = match replication {
        Some((epoch, mut replicated)) => {
            // The leader publishes the checksum with each batch, for followers to check.
            shared_checksum.keep_trail();
            replicated.attach_checksums(shared_checksum.clone());
            Durability::start_replicated(commitlog, options.epoch(epoch), replicated)?
        }
        None => Durability::start(commitlog, options)?,
    };
    Ok(DatabaseLog {
        durability: Arc::new(durability),
        snapshots: state.snapshots,
        snapshot_every: storage.snapshot_every,
        since_snapshot: state.since_snapshot,
        last_offset: None,
        snapshotting: None,
        module_logs: logs.clone(),
        clients: state.clients,
        hosts: state.hosts,
        module: None,
        durability_dir: storage.dir.clone(),
        stop_reported: false,
        checksum: state.checksum,
        shared_checksum,
    })
}

/// Notes `change` in the clients held as connected (connection id to identity) and
/// the hosts of those connected through another node: as replay reads it, and as a
/// running database logs it.
fn note_client(
    clients: &mut HashMap<ConnectionId, Identity>,
    hosts: &mut HashMap<ConnectionId, String>,
    change: ClientChange,
) {
    match change {
        ClientChange::Connected(identity, connection_id) => {
            clients.insert(connection_id, identity);
            hosts.remove(&connection_id);
        }
        ClientChange::ConnectedAt(identity, connection_id, host) => {
            clients.insert(connection_id, identity);
            hosts.insert(connection_id, host);
        }
        ClientChange::Disconnected(_, connection_id) => {
            clients.remove(&connection_id);
            hosts.remove(&connection_id);
        }
    }
}

/// `clients` (connection id to identity) as sorted `(identity, connection id)` pairs.
fn sorted_clients(clients: &HashMap<ConnectionId, Identity>) -> Vec<(Identity, ConnectionId)> {
    let mut sorted: Vec<_> = clients.iter().map(|(&c, &i)| (i, c)).collect();
    sorted.sort();
    sorted
}

impl DatabaseLog {
    fn append(&mut self, payload: Vec<u8>) -> Result<u64, DurabilityError> {
        let appended = self.durability.append_tx(payload);
        self.note_appended(appended)
    }

    /// Blocks until `offset` is durable: a new database is registered only once its
    /// first records are, so a registered database always has a log to restore.
    ///
    /// # Errors
    /// The writer has failed.
    pub fn wait_durable(&self, offset: u64) -> Result<(), DurabilityError> {
        self.durability.wait_durable(offset, None)
    }

    /// Marks a new database initialized (see [`record`]).
    ///
    /// # Errors
    /// The writer has failed.
    pub fn append_created(&mut self) -> Result<(), DurabilityError> {
        self.append(record::encode_created()).map(drop)
    }

    /// Logs that later records are written by the module with program `hash`; returns
    /// the record's offset, for the update to wait on.
    ///
    /// # Errors
    /// The writer has failed.
    pub fn append_module(&mut self, hash: &str) -> Result<u64, DurabilityError> {
        self.module = Some(hash.to_owned());
        self.append(record::encode_module(hash))
    }

    /// Logs a module update with the state it made ([`record::Migration`]) and notes
    /// the new module; returns the record's offset. The state is encoded here, from
    /// `ds` (the datastore after the update) and the clients the log holds.
    ///
    /// # Errors
    /// The writer has failed or refused the record.
    pub fn append_migration(
        &mut self,
        ds: &Datastore,
        hash: &str,
        published_at_micros: i64,
        publisher: Identity,
        summary: String,
    ) -> Result<u64, DurabilityError> {
        let migration = record::Migration {
            hash: hash.to_owned(),
            published_at_micros,
            publisher,
            summary,
            state: snapshot::encode(ds, &self.connected(), &self.hosts()),
        };
        self.module = Some(hash.to_owned());
        // The state replaces everything before it on restore, so it counts as a snapshot
        // for the snapshot policy.
        self.since_snapshot = 0;
        // Computed from the encoded state, as a replica computes it from the record.
        match RollingChecksum::of_snapshot(&migration.state) {
            Ok(checksum) => self.set_checksum(checksum),
            Err(e) => log::error!("the rolling checksum cannot read the state it encoded: {e}"),
        }
        self.append(record::encode_migration(&migration))
    }

    /// Holds while [`PAUSE_MIGRATION_FILE`] (`logged`) or
    /// [`PAUSE_MIGRATION_BEFORE_LOG_FILE`] (not yet `logged`) exists, with fault
    /// injection enabled.
    pub fn hold_if_migration_paused(&self, logged: bool) {
        if fault_injection_enabled() {
            let file = if logged {
                PAUSE_MIGRATION_FILE
            } else {
                PAUSE_MIGRATION_BEFORE_LOG_FILE
            };
            hold_while_exists(&self.durability_dir.join(file), "a module update");
        }
    }

    /// Notes the running module's program hash without logging it (a restored
    /// database, whose log already names it, or predates module records).
    pub fn set_module(&mut self, hash: &str) {
        self.module = Some(hash.to_owned());
    }

    /// Logs a committed transaction (nothing for an empty one). A failure means the
    /// writer is broken: it is logged, and later confirmed reads fail.
    pub fn append_tx(&mut self, tx: &TxData) {
        if tx.is_empty() {
            return;
        }
        let mut checksum = self.checksum;
        for t in &tx.tables {
            checksum.apply_changes(&t.table_name, &t.deletes, &t.inserts);
        }
        self.set_checksum(checksum);
        // Encoded straight into the writer's queue: no allocation or copy per transaction.
        let appended = self.durability.append_tx_with(|out| record::encode_tx_into(tx, out));
        let _ = self.note_appended(appended);
        self.since_snapshot += 1;
    }

    /// Appends a record; a failure means the writer is broken: it is logged, and later
    /// confirmed reads fail.
    fn append_record(&mut self, payload: Vec<u8>) {
        let _ = self.append(payload);
    }

    /// Notes an append's offset. A refused append means the transaction is applied in
    /// memory but not logged, so memory and log now differ: the log is failed for good
    /// (if the writer has not failed already) and the reply waits for the refused
    /// offset, which fails, so the transaction is never acknowledged.
    fn note_appended(&mut self, appended: Result<u64, DurabilityError>) -> Result<u64, DurabilityError> {
        match &appended {
            Ok(offset) => {
                self.last_offset = Some(*offset);
                self.shared_checksum.appended(ChecksumAt {
                    offset: Some(*offset),
                    checksum: self.checksum,
                });
            }
            Err(e) => {
                if self.durability.failure().is_none() {
                    self.durability.fail(format!("a transaction could not be logged: {e}"));
                }
                self.last_offset = Some(self.durability.next_tx_offset());
            }
        }
        appended
    }

    /// Whether the log has failed (a write or fsync error, or a transaction that could
    /// not be logged): then nothing more becomes durable and the database must stop.
    /// The first call that finds it failed writes [`stopped_message`] to the server
    /// log and the module log.
    pub fn stopped(&mut self) -> bool {
        let Some(cause) = self.durability.failure() else {
            return false;
        };
        if !self.stop_reported {
            self.stop_reported = true;
            let message = stopped_message(&cause);
            log::error!("{}: {message}", self.durability_dir.display());
            crate::module_logs::log_system(&self.module_logs, LogLevel::Error, None, message);
        }
        true
    }

    /// Logs a lifecycle reducer's committed transaction `tx` (empty if it changed
    /// nothing, failed or is not defined) with the client change it goes with, as one
    /// record ([`record`], kind 7; the change alone if `tx` is empty), so no prefix of
    /// the log holds one without the other. A disconnection of a client the log does
    /// not hold as connected is not logged (only `tx` is). A failure means the writer
    /// is broken: it is logged, and later confirmed reads fail.
    pub fn append_lifecycle(&mut self, tx: &TxData, change: ClientChange) {
        if matches!(change, ClientChange::Disconnected(..)) && !self.clients.contains_key(&change.connection_id()) {
            self.append_tx(tx);
            return;
        }
        if tx.is_empty() {
            self.append_record(record::encode_client(&change));
            note_client(&mut self.clients, &mut self.hosts, change);
            return;
        }
        let mut checksum = self.checksum;
        for t in &tx.tables {
            checksum.apply_changes(&t.table_name, &t.deletes, &t.inserts);
        }
        self.set_checksum(checksum);
        let appended = self
            .durability
            .append_tx_with(|out| record::encode_lifecycle_into(tx, &change, out));
        let _ = self.note_appended(appended);
        note_client(&mut self.clients, &mut self.hosts, change);
        self.since_snapshot += 1;
    }

    /// The node hosting each logged client that connected through another node, by
    /// connection id (sorted).
    pub fn hosts(&self) -> Vec<(ConnectionId, String)> {
        let mut hosts: Vec<_> = self.hosts.iter().map(|(c, h)| (*c, h.clone())).collect();
        hosts.sort();
        hosts
    }

    /// The identity of client `connection_id` and, if another node hosts its
    /// connection, that node; `None` if the log does not hold it as connected.
    pub fn client(&self, connection_id: ConnectionId) -> Option<(Identity, Option<&str>)> {
        let identity = *self.clients.get(&connection_id)?;
        Some((identity, self.hosts.get(&connection_id).map(String::as_str)))
    }

    /// The clients the log holds as connected. Right after [`open`], these are the
    /// clients a crash disconnected without running `client_disconnected`, and those
    /// other nodes host ([`Self::hosts`]).
    pub fn connected(&self) -> Vec<(Identity, ConnectionId)> {
        sorted_clients(&self.clients)
    }

    /// The clients the log holds as connected whose connections the leader held
    /// itself (not hosted by another node): right after [`open`] or a takeover, the
    /// ones a crash cut off.
    pub fn connected_here(&self) -> Vec<(Identity, ConnectionId)> {
        let mut here = sorted_clients(&self.clients);
        here.retain(|(_, c)| !self.hosts.contains_key(c));
        here
    }

    /// The offset of the last record appended: a confirmed result waits for it.
    pub fn last_offset(&self) -> Option<u64> {
        self.last_offset
    }

    /// The rolling checksum of the rows after the last record appended (or restored).
    pub fn checksum(&self) -> ChecksumAt {
        self.shared_checksum.latest()
    }

    /// The shared handle on the checksum, which the edge reads.
    pub fn shared_checksum(&self) -> Arc<SharedChecksum> {
        self.shared_checksum.clone()
    }

    /// Sets the checksum the next record leaves, before that record is queued (see
    /// [`SharedChecksum::will_append`]).
    fn set_checksum(&mut self, checksum: RollingChecksum) {
        self.checksum = checksum;
        self.shared_checksum
            .will_append(self.durability.next_tx_offset(), checksum);
    }

    /// A handle to wait for durability from async code.
    pub fn watch(&self) -> DurableOffset {
        self.durability.durable_offset_watch()
    }

    /// Writes a snapshot of `ds` if enough transactions were logged since the last
    /// one. The rows are encoded here (on the actor thread, so they are consistent);
    /// writing waits, on another thread, until the snapshot's offset is durable, so a
    /// snapshot never covers a transaction the log could still lose.
    pub fn snapshot_if_due(&mut self, ds: &Datastore) {
        if self.snapshot_every == 0 || self.since_snapshot < self.snapshot_every {
            return;
        }
        if self.snapshotting.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        if let Some(offset) = self.last_offset {
            self.start_snapshot(ds, offset, None);
        }
    }

    /// Takes a snapshot of `ds` now, on demand (`POST /v1/database/:db/snapshot`).
    /// `done` receives the snapshot's tx offset once the file is written, or why not.
    /// A snapshot already being written is waited for first, so snapshots stay in order.
    pub fn snapshot_now(&mut self, ds: &Datastore, done: tokio::sync::oneshot::Sender<Result<u64, SnapshotError>>) {
        let Some(offset) = self.last_offset else {
            let _ = done.send(Err(SnapshotError::NothingLogged));
            return;
        };
        if let Some(previous) = self.snapshotting.take() {
            // Bounded by one fsync and one file write; the actor waits for it rather
            // than racing two writers on the snapshot directory.
            let _ = previous.join();
        }
        self.start_snapshot(ds, offset, Some(done));
    }

    /// Encodes `ds` at `offset` and writes it on a background thread once `offset` is
    /// durable, reporting the outcome to `done` if given.
    fn start_snapshot(
        &mut self,
        ds: &Datastore,
        offset: u64,
        done: Option<tokio::sync::oneshot::Sender<Result<u64, SnapshotError>>>,
    ) {
        self.since_snapshot = 0;
        let payload = snapshot::encode(ds, &self.connected(), &self.hosts());
        let durability = self.durability.clone();
        let snapshots = self.snapshots.clone();
        let spawned = std::thread::Builder::new().name("snapshot".into()).spawn(move || {
            let written = durability
                .wait_durable(offset, None)
                .map_err(SnapshotWriteError::from)
                .and_then(|()| Ok(snapshots.write(offset, &payload)?))
                .and_then(|_| Ok(snapshots.prune()?))
                .and_then(|_| Ok(snapshots.oldest()?));
            let outcome = match written {
                Ok(oldest) => {
                    log::info!("snapshot written at tx offset {offset}");
                    if let Some(oldest) = oldest {
                        durability.request_prune(oldest + 1);
                    }
                    Ok(offset)
                }
                Err(source) => {
                    let error = SnapshotError::Write { offset, source };
                    log::error!("{error}");
                    Err(error)
                }
            };
            if let Some(done) = done {
                let _ = done.send(outcome);
            }
        });
        match spawned {
            Ok(handle) => self.snapshotting = Some(handle),
            Err(e) => log::error!("cannot start the snapshot thread: {e}"),
        }
        // The snapshot hides the module records before it; name the module again after.
        if let Some(hash) = self.module.clone() {
            self.append_record(record::encode_module(&hash));
        }
    }
}
