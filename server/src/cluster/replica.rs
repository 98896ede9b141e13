//! The life of one database on one node of a cluster, on a thread of its own: follow
//! the replicated log into the local commit log while another node leads; campaign
//! when the leader key is gone (its lease expired or it resigned); having won, catch
//! up to the head, cut nothing that was committed, start the database from the local
//! log (restore replays logged effects: reducers never run again) with its commit log
//! appending to etcd under the new epoch; and step down to following when the lease
//! or the log is lost.
//!
//! While following, requests to the database get a 503 naming the leader's address
//! (`Databases::set_failed`), so a client knows where to go.

use super::{ClusterError, ClusterNode};
use crate::registry::DatabaseRecord;
use crate::state::AppState;
use spacetime_commitlog::{split_commits, Commitlog, CommitlogOptions, LOG_DIR};
use spacetime_engine::follower::ProgramSource;
use spacetime_engine::{storage, Database};
use spacetime_host::ModuleProgram;
use spacetime_replication::{Campaign, DbKeys, EtcdLog, Head, LeaderInfo, Leadership, LogTail, TailBatch};
use spacetime_sats::Identity;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// How often a standby reads the leader key (and a leader checks its lease and log).
/// It bounds how late a standby notices an expired lease, on top of the lease TTL.
const LEADER_CHECK: Duration = Duration::from_millis(150);

/// How often a standby checks that it is still placed to hold the database.
const PLACEMENT_CHECK: Duration = Duration::from_secs(2);

/// How long a standby waits for the next batch before checking the leader again.
const TAIL_WAIT: Duration = Duration::from_millis(100);

/// The pause before a cycle that failed is tried again (etcd unreachable, say).
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// How often a replica reports how far it has persisted the log, and a leader trims
/// what every replica has persisted: often enough that etcd holds seconds of log, not
/// so often that progress writes rival the appends.
const PROGRESS_EVERY: Duration = Duration::from_millis(1000);

/// A replica's progress reports (`replica/<node>` in etcd, with its role), at most
/// one per [`PROGRESS_EVERY`]. Reported without a lease: a standby that is down keeps
/// the log from being trimmed past it until it lags more than
/// `spacetime_replication::STANDBY_LAG_BOUND` tx behind, so when it returns soon it
/// finds what it lacks in etcd rather than bootstrapping from a peer's files
/// (`bootstrap.rs`); a reader's report never holds trimming back.
#[derive(Default)]
struct Progress {
    last: Option<Instant>,
}

impl Progress {
    /// Reports `persisted` if the last report is old enough; a failed report is
    /// logged and tried again next time (it only delays trimming).
    fn report(&mut self, node: &ClusterNode, keys: &DbKeys, persisted: Option<u64>) -> bool {
        let Some(persisted) = persisted else {
            return false;
        };
        if self.last.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return false;
        }
        self.last = Some(Instant::now());
        match node
            .cluster
            .report_persisted(keys, &node.config.node_id, persisted, node.replica_role(), None)
        {
            Ok(()) => true,
            Err(e) => {
                log::warn!("{}: cannot report replica progress: {e}", keys.log_prefix());
                false
            }
        }
    }
}

/// How many replicas (the leader among them) must have reported progress before the
/// leader trims: a standby has to exist and report before anything it would need is
/// deleted. A node that joins after trimming began starts from a peer's snapshot and
/// segments (`bootstrap.rs`). A database placed on one server replica has no standby
/// to wait for (see [`trim_quorum`]).
const TRIM_BEHIND_REPLICAS: usize = 2;

/// How many replicas must have reported before the leader of the database at `keys`
/// trims: [`TRIM_BEHIND_REPLICAS`], or one for a database placed with `--replicas 1`
/// (no standby ever reports for it, and waiting for one would keep its whole log in
/// etcd). Without a placement every node may follow it, so a standby is waited for.
/// Read once per leadership (a placement's replica count never changes); `None` when
/// etcd could not be read, to ask again at the next trim.
fn trim_quorum(node: &ClusterNode, keys: &DbKeys) -> Option<usize> {
    match node.cluster.placement(keys) {
        Ok(Some(placement)) => Some(
            usize::try_from(placement.replicas)
                .unwrap_or(TRIM_BEHIND_REPLICAS)
                .clamp(1, TRIM_BEHIND_REPLICAS),
        ),
        Ok(None) => Some(TRIM_BEHIND_REPLICAS),
        Err(e) => {
            log::warn!("{}: cannot read the placement before trimming: {e}", keys.log_prefix());
            None
        }
    }
}

/// How a cycle of following and leading ended.
enum Ended {
    /// The database is no longer registered here.
    Deleted,
    /// This node stepped down: follow again.
    SteppedDown,
    /// This node drained and is to resign for a planned handover; the order is
    /// answered once it has.
    HandedOver(super::handover::Order, super::handover::Drained),
}

/// Runs the replica of `identity` until it is deleted.
pub(super) fn run(node: &Arc<ClusterNode>, state: &AppState, runtime: &Handle, identity: Identity) {
    let mut last_error: Option<String> = None;
    loop {
        match cycle(node, state, runtime, identity) {
            Ok(Ended::Deleted) => {
                super::state_failed(&node.replicas, identity);
                return;
            }
            Ok(Ended::SteppedDown | Ended::HandedOver(..)) => last_error = None,
            // Its copy differs from the leader's: it must never serve or lead it.
            Err(ClusterError::Diverged(divergence)) => {
                if super::divergence::park(node, state, identity, &divergence) {
                    super::resync::run_order(node, state, identity);
                    last_error = None;
                    continue;
                }
                super::state_failed(&node.replicas, identity);
                return;
            }
            // An operator ordered this copy rebuilt (`--force` on a standby).
            Err(ClusterError::Resync) => {
                super::resync::run_order(node, state, identity);
                last_error = None;
            }
            Err(e) => {
                let why = e.to_string();
                if last_error.as_ref() != Some(&why) {
                    log::error!("database {identity}: replica: {why}; retrying");
                }
                if state.databases().get(identity).is_none() {
                    state.databases().set_failed(
                        identity,
                        format!("this node cannot follow or lead it in the cluster: {why}; it keeps retrying"),
                    );
                }
                last_error = Some(why);
                std::thread::sleep(RETRY_PAUSE);
            }
        }
    }
}

/// Follows, then leads, once.
fn cycle(
    node: &Arc<ClusterNode>,
    state: &AppState,
    runtime: &Handle,
    identity: Identity,
) -> Result<Ended, ClusterError> {
    let Some(record) = state.registry().get(identity) else {
        return Ok(Ended::Deleted);
    };
    let keys = node.keys(identity);
    // A database this node just created runs already, under the leadership taken for it.
    if let Some(leadership) = node.lock_leading().remove(&identity) {
        return lead(node, state, identity, leadership);
    }
    // Re-placed elsewhere while this node was gone: its copy goes.
    if node.unplaced(identity)? {
        super::placement::drop_copy(node, state, identity);
        return Ok(Ended::Deleted);
    }
    // Loaded while following, so a takeover does not wait for the module to compile.
    let program = load(node, state, runtime, &record.program_hash)?;
    let Some((leadership, standby)) = follow(node, state, runtime, &record, &keys, program.clone())? else {
        return Ok(Ended::Deleted);
    };
    // Held before the database serves as leader (the hot standby promoted in place, or
    // a start from the local log): requests to a leader are let in only while this
    // node's lease is valid, and without an entry nothing would check it.
    node.hold_lease(identity, Some(&leadership));
    if let Err(e) = start_leader(node, state, runtime, &record, &keys, &leadership, program, standby) {
        // Nothing may be served from it once the leadership is given up.
        state.databases().remove(identity);
        node.hold_lease(identity, None);
        // Let another node take over at once rather than after the lease.
        if let Err(resign) = leadership.resign() {
            log::warn!("database {identity}: cannot resign after failing to start: {resign}");
        }
        return Err(e);
    }
    lead(node, state, identity, leadership)
}

/// A standby's copy of a database: the local log the leader's commits are appended
/// to, and the hot standby (the engine's follower) fed the same commits; `None` if it
/// could not start or stopped applying, and the takeover then starts the database
/// from the local log.
struct Standby {
    log: Commitlog,
    hot: Option<Arc<Database>>,
    /// The replicated log's head read once elected (final: the old leader is fenced),
    /// for the new leader's log to continue from without reading it again.
    head: Option<Head>,
}

/// Follows the replicated log into the local commit log, and into the hot standby
/// running `program`, until this node wins an election (`Some`, caught up to the
/// head) or the database is deleted (`None`).
fn follow(
    node: &Arc<ClusterNode>,
    state: &AppState,
    runtime: &Handle,
    record: &DatabaseRecord,
    keys: &DbKeys,
    program: ModuleProgram,
) -> Result<Option<(Leadership, Standby)>, ClusterError> {
    let identity = record.database_identity;
    stop_and_wait(state, identity);
    let mut log = open_local_log(state, record)?;
    // Joined after the log was trimmed (or away too long): start from a peer's copy.
    if node.cluster.trim_offset(keys)? > log.next_tx_offset() {
        drop(log);
        super::bootstrap::bootstrap(node, state, record, keys)?;
        log = open_local_log(state, record)?;
    }
    // A tail fsynced here while this node led but never committed by the cluster.
    node.cluster.rejoin(keys, &mut log)?;
    let trimmed = node.cluster.trim_offset(keys)?;
    if trimmed > log.next_tx_offset() {
        return Err(ClusterError::Local(format!(
            "the cluster trimmed its log up to tx offset {trimmed}, past this node's next offset {}: this node \
             bootstraps again from a peer",
            log.next_tx_offset()
        )));
    }
    // The hot standby replays the local log (cut above) and keeps the database live.
    drop(log);
    let mut hot = match start_hot(node, state, runtime, record, program) {
        Ok((hot, reopened)) => {
            log = reopened;
            Some(hot)
        }
        Err(e) => {
            log::warn!("database {identity}: no hot standby ({e}); following into the local log only");
            log = open_local_log(state, record)?;
            None
        }
    };
    // Checks this copy against the checksum the leader publishes with each batch.
    let mut verifier = super::divergence::Verifier::start(node, state, record, &log)?;
    let mut tail = node.cluster.tail(keys, log.next_tx_offset())?;
    let mut progress = Progress::default();
    let mut shown: Option<LeaderInfo> = None;
    let mut checked: Option<Instant> = None;
    // The tail saw the leader key deleted: the campaign's own check (the leader key
    // absent) stands in for reading it, a round trip less on a handover's path.
    let mut leader_gone = false;
    let mut placement_checked = Instant::now();
    loop {
        if checked.is_none_or(|t| t.elapsed() >= LEADER_CHECK) {
            checked = Some(Instant::now());
            if state.registry().get(identity).is_none() {
                return Ok(None);
            }
            if node.resyncs.requested(identity) {
                return Err(ClusterError::Resync);
            }
            // Re-placed elsewhere while this node was cut off (checked at the cycle's
            // start too, so a node back from the dead never campaigns; not before
            // each campaign, which must not wait for another etcd read).
            if placement_checked.elapsed() >= PLACEMENT_CHECK {
                placement_checked = Instant::now();
                if node.unplaced(identity)? {
                    super::placement::drop_copy(node, state, identity);
                    return Ok(None);
                }
            }
            let leader = match std::mem::take(&mut leader_gone) {
                true => None,
                false => node.cluster.leader(keys)?,
            };
            // Without a leader: still in the catalog, and may this node campaign?
            let vacancy = match &leader {
                None => Some(super::handover::vacancy(node, keys, identity)?),
                Some(_) => None,
            };
            match leader {
                Some(leader) => {
                    if shown.as_ref() != Some(&leader) {
                        log::info!(
                            "database {identity}: following node {} (epoch {}) as a standby",
                            leader.node,
                            leader.epoch
                        );
                        state.databases().set_failed(identity, standby_message(node, &leader));
                        node.follow_leader(identity, Some(leader.clone()));
                        if let Some(hot) = &hot {
                            hot.set_leader(Some(format!("node {} at {}", leader.node, leader.addr)));
                        }
                        shown = Some(leader);
                    }
                }
                // Deleted on the leader, which then resigned: delete it here too.
                None if vacancy.is_some_and(|v| !v.listed) => {
                    node.follow_leader(identity, None);
                    log::info!("database {identity}: deleted in the cluster; deleting it here");
                    if let Err(e) = state.registry().remove(identity) {
                        log::error!("database {identity}: cannot remove it from the registry: {e}");
                    }
                    state.databases().remove(identity);
                    return Ok(None);
                }
                // A reader never leads: it waits for a standby to take over.
                None if node.is_reader() => {}
                // A planned handover names another node: leave it to that one.
                None if vacancy.is_some_and(|v| !v.may_campaign) => {}
                None => match node.campaign(keys)? {
                    Campaign::Won(leadership) => {
                        node.follow_leader(identity, None);
                        if let Some(hot) = &hot {
                            hot.set_leader(None);
                        }
                        // The epoch moved: nothing more can be appended by the old
                        // leader, so the head read now is final.
                        let (won, before) = (Instant::now(), log.next_tx_offset());
                        // From reading no leader key to winning (the failover's election part).
                        let election = checked.map_or(0, |t| won.duration_since(t).as_millis());
                        let head = node.cluster.head_value(keys)?;
                        let last = head.map(|h| h.offset);
                        if let Err(e) = catch_up(node, &mut tail, &mut log, &mut hot, &mut verifier, last) {
                            // Diverged, say: let another node take over at once.
                            if let Err(resign) = leadership.resign() {
                                log::warn!("database {identity}: cannot resign after failing to catch up: {resign}");
                            }
                            return Err(e);
                        }
                        log::info!(
                            "database {identity}: elected in epoch {} (won the election in {election} ms); caught \
                             up {} tx(s) to the head in {} ms",
                            leadership.epoch(),
                            log.next_tx_offset() - before,
                            won.elapsed().as_millis()
                        );
                        return Ok(Some((leadership, Standby { log, hot, head })));
                    }
                    Campaign::Lost(_) => checked = None,
                },
            }
        }
        if let Some(batch) = tail.next(TAIL_WAIT)? {
            verifier.check(node, &batch, log.next_tx_offset())?;
            feed(&mut hot, apply(&mut log, &batch)?);
            progress.report(node, keys, log.next_tx_offset().checked_sub(1));
        }
        // The leader resigned (a planned handover) or its lease expired: look now.
        if tail.take_leader_gone() {
            checked = None;
            leader_gone = true;
        }
    }
}

/// How often [`stop_and_wait`] says it is still waiting.
const STOP_WARN_EVERY: Duration = Duration::from_secs(10);

/// Stops the database of `identity` running here, if any, and waits until its actor
/// has ended. A leader that stepped down (or handed over, or failed to start) keeps its
/// commit log writer until then, and the writer may still append commits the cluster
/// never committed to the local log: opening the log, and checking its tail against
/// etcd, before the last of them is on disk would leave that tail uncut.
pub(super) fn stop_and_wait(state: &AppState, identity: Identity) {
    let Some(running) = state.databases().get(identity) else {
        return;
    };
    state.databases().remove(identity);
    let started = Instant::now();
    let mut warned = started;
    while !running.is_stopped() {
        if warned.elapsed() >= STOP_WARN_EVERY {
            warned = Instant::now();
            log::warn!(
                "database {identity}: still waiting for its previous run here to stop ({} s) before following",
                started.elapsed().as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What a standby answers requests for the database with.
fn standby_message(node: &ClusterNode, leader: &LeaderInfo) -> String {
    format!(
        "this node ({}) is a standby for it; its leader is node {} at {}: send requests there",
        node.config.node_id, leader.node, leader.addr
    )
}

/// Opens the database's local commit log (creating it for a new standby).
fn open_local_log(state: &AppState, record: &DatabaseRecord) -> Result<Commitlog, ClusterError> {
    let dir = state.config().replica_dir(record.replica_id).join(LOG_DIR);
    let options = CommitlogOptions::default().max_segment_size(state.config().max_segment_size);
    let (log, _report) = Commitlog::open(&dir, options)
        .map_err(|e| ClusterError::Local(format!("cannot open the local commit log {}: {e}", dir.display())))?;
    Ok(log)
}

/// Applies batches from `tail` until the local log holds everything up to `head`.
fn catch_up(
    node: &ClusterNode,
    tail: &mut LogTail,
    log: &mut Commitlog,
    hot: &mut Option<Arc<Database>>,
    verifier: &mut super::divergence::Verifier,
    head: Option<u64>,
) -> Result<(), ClusterError> {
    let Some(head) = head else {
        return Ok(());
    };
    let deadline = Instant::now() + node.cluster.options().request_timeout;
    while log.next_tx_offset() <= head {
        let batch = match tail.next(deadline.saturating_duration_since(Instant::now()))? {
            Some(batch) => batch,
            // Woken by the leader key changing, not by a batch: keep waiting.
            None if Instant::now() < deadline => continue,
            None => {
                return Err(ClusterError::Local(format!(
                    "catching up: the replicated log stopped at tx offset {} below its head {head}",
                    log.next_tx_offset()
                )))
            }
        };
        verifier.check(node, &batch, log.next_tx_offset())?;
        let fresh = apply(log, &batch)?;
        feed(hot, fresh);
    }
    Ok(())
}

/// Appends the commits of `batch` the local log does not hold yet, and fsyncs: what
/// a standby persists is exactly what the leader logged, byte for byte. Returns those
/// commits' frames (empty if there were none), for the hot standby.
fn apply<'a>(log: &mut Commitlog, batch: &'a TailBatch) -> Result<&'a [u8], ClusterError> {
    let next = log.next_tx_offset();
    let commits = split_commits(&batch.frames).map_err(|why| ClusterError::Local(format!("a log batch: {why}")))?;
    let mut from: Option<usize> = None;
    let mut count = 0u64;
    for (id, range) in &commits {
        if id.tx_offset + u64::from(id.n) <= next {
            continue;
        }
        if from.is_none() && id.tx_offset != next {
            return Err(ClusterError::Local(format!(
                "a log batch's commit starts at tx offset {}, but the local log's next is {next}",
                id.tx_offset
            )));
        }
        from.get_or_insert(range.start);
        count += 1;
    }
    let Some(from) = from else {
        return Ok(&[]);
    };
    let local = |e: spacetime_commitlog::CommitlogError| ClusterError::Local(format!("the local commit log: {e}"));
    log.append_encoded(&batch.frames[from..], next, count).map_err(local)?;
    log.sync().map_err(local)?;
    Ok(&batch.frames[from..])
}

/// Gives the hot standby the commits just appended to the local log (after their
/// fsync, so it never shows what this node could lose). If it has stopped, the node
/// goes on as a cold standby: a takeover then starts the database from the local log.
fn feed(hot: &mut Option<Arc<Database>>, frames: &[u8]) {
    let Some(database) = hot else {
        return;
    };
    if frames.is_empty() {
        return;
    }
    if let Err(e) = database.apply(frames.to_vec()) {
        log::warn!(
            "database {}: the hot standby stopped ({e}); following into the local log only",
            database.identity
        );
        *hot = None;
    }
}

/// Where a hot standby gets the program a module update made on the leader names:
/// the program store, or a peer (by hash, checked), compiled here.
struct ClusterPrograms {
    node: Arc<ClusterNode>,
    state: AppState,
    runtime: Handle,
    identity: Identity,
}

impl ProgramSource for ClusterPrograms {
    fn program(&self, hash: &str) -> Result<ModuleProgram, Box<dyn std::error::Error + Send + Sync>> {
        let program = load(&self.node, &self.state, &self.runtime, hash)?;
        record_program(&self.state, self.identity, hash);
        Ok(program)
    }
}

/// Makes the registry name program `hash` for database `identity` (the program its
/// log names last), as a takeover corrects it; a failure is logged.
fn record_program(state: &AppState, identity: Identity, hash: &str) {
    let Some(record) = state.registry().get(identity) else {
        return;
    };
    if record.program_hash == hash {
        return;
    }
    let updated = DatabaseRecord {
        program_hash: hash.to_owned(),
        ..record
    };
    if let Err(e) = state.registry().update(updated) {
        log::warn!("database {identity}: cannot record its program {hash} in the registry: {e}");
    }
}

/// The program the local log in `storage` names last (after an update made on the
/// old leader, a newer one than `program`, loaded then) and its hash; the registry is
/// corrected to name it. The log read here is kept for the start that follows.
fn logged_module(
    node: &ClusterNode,
    state: &AppState,
    runtime: &Handle,
    record: &DatabaseRecord,
    storage: &storage::StorageConfig,
    logs: &Arc<spacetime_engine::module_logs::ModuleLogs>,
    program: ModuleProgram,
) -> Result<(ModuleProgram, String), ClusterError> {
    match storage::logged_program(storage, logs) {
        Ok(Some(logged)) if logged != record.program_hash => {
            let program = load(node, state, runtime, &logged)?;
            record_program(state, record.database_identity, &logged);
            Ok((program, logged))
        }
        Ok(_) => Ok((program, record.program_hash.clone())),
        Err(e) => Err(ClusterError::Local(format!("cannot read its local log: {e}"))),
    }
}

/// Starts the hot standby: the engine's follower over the local log (replayed once,
/// here), registered so the edge finds it; returns it with the local log, which the
/// standby appends the leader's commits to from now on.
fn start_hot(
    node: &Arc<ClusterNode>,
    state: &AppState,
    runtime: &Handle,
    record: &DatabaseRecord,
    program: ModuleProgram,
) -> Result<(Arc<Database>, Commitlog), ClusterError> {
    let identity = record.database_identity;
    let storage = crate::control::storage_for(state.config(), record.replica_id).ok_or(ClusterError::InMemory)?;
    let logs = state.open_logs(record.replica_id);
    let (program, hash) = logged_module(node, state, runtime, record, &storage, &logs, program)?;
    let programs = Arc::new(ClusterPrograms {
        node: node.clone(),
        state: state.clone(),
        runtime: runtime.clone(),
        identity,
    });
    let started = Instant::now();
    let (database, log) = runtime
        .block_on(Database::follow(
            identity,
            record.owner_identity,
            program,
            logs,
            storage,
            &hash,
            programs,
        ))
        .map_err(|e| ClusterError::Local(format!("cannot start it from the local log: {e}")))?;
    state.databases().insert(database);
    let database = state
        .databases()
        .get(identity)
        .ok_or_else(|| ClusterError::Local("the hot standby was removed as it started".to_owned()))?;
    log::info!(
        "database {identity}: hot standby ready (replayed the local log in {} ms; next tx offset {})",
        started.elapsed().as_millis(),
        log.next_tx_offset()
    );
    Ok((database, log))
}

/// Reads and compiles the database's program.
fn load(node: &ClusterNode, state: &AppState, runtime: &Handle, hash: &str) -> Result<ModuleProgram, ClusterError> {
    let local = |what: &str, e: &dyn std::fmt::Display| ClusterError::Local(format!("{what}: {e}"));
    let wasm = super::catalog::fetch_program(node, state, hash).map_err(ClusterError::Local)?;
    runtime
        .block_on(crate::control::load_program(state, wasm))
        .map_err(|e| local("cannot load its program", &e))
}

/// Makes this node the leader of `leadership`'s epoch: the hot standby is promoted
/// in place (its writer starts on the local log, appending to etcd; nothing is
/// replayed); without one, or if it cannot be promoted, the database starts from its
/// local log (restore replays logged effects; no reducer runs again).
#[allow(clippy::too_many_arguments)]
fn start_leader(
    node: &ClusterNode,
    state: &AppState,
    runtime: &Handle,
    record: &DatabaseRecord,
    keys: &DbKeys,
    leadership: &Leadership,
    program: ModuleProgram,
    standby: Standby,
) -> Result<(), ClusterError> {
    let identity = record.database_identity;
    let local = |what: &str, e: &dyn std::fmt::Display| ClusterError::Local(format!("{what}: {e}"));
    let started = Instant::now();
    let Standby {
        log: local_log,
        hot,
        head,
    } = standby;
    match hot {
        Some(hot) => {
            let log = EtcdLog::open_at(node.cluster.clone(), keys.clone(), leadership.epoch(), head);
            match runtime.block_on(hot.promote(local_log, leadership.epoch(), Box::new(log))) {
                Ok(()) => {
                    log::info!(
                        "database {identity}: node {} took over as leader in epoch {}, serving after {} ms (the hot \
                         standby promoted in place)",
                        node.config.node_id,
                        leadership.epoch(),
                        started.elapsed().as_millis()
                    );
                    return Ok(());
                }
                Err(e) => {
                    log::warn!(
                        "database {identity}: the hot standby cannot be promoted ({e}); starting the database from \
                         the local log instead"
                    );
                    state.databases().remove(identity);
                }
            }
        }
        // Closed before the start below opens it again.
        None => drop(local_log),
    }
    let log = EtcdLog::open_at(node.cluster.clone(), keys.clone(), leadership.epoch(), head);
    let storage = crate::control::storage_for(state.config(), record.replica_id)
        .ok_or(ClusterError::InMemory)?
        .expecting_data()
        .with_replication(leadership.epoch(), Box::new(log));
    let logs = state.open_logs(record.replica_id);
    let (program, hash) = logged_module(node, state, runtime, record, &storage, &logs, program)?;
    let database = runtime
        .block_on(Database::start(
            identity,
            record.owner_identity,
            program,
            logs,
            Some(storage),
            &hash,
        ))
        .map_err(|e| local("cannot start it from the local log", &e))?;
    state.databases().insert(database);
    log::info!(
        "database {identity}: node {} took over as leader in epoch {}, serving after {} ms (started from the \
         local log)",
        node.config.node_id,
        leadership.epoch(),
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Serves the database as its leader until the lease or the log is lost (step down)
/// or it is deleted.
fn lead(
    node: &ClusterNode,
    state: &AppState,
    identity: Identity,
    leadership: Leadership,
) -> Result<Ended, ClusterError> {
    node.hold_lease(identity, Some(&leadership));
    let (orders, handovers) = std::sync::mpsc::channel();
    node.lock_handovers().insert(identity, orders);
    let keys = node.keys(identity);
    // A handle of its own on the replicated log, for trimming (fenced by the epoch).
    let trimmer = EtcdLog::open(node.cluster.clone(), keys.clone(), leadership.epoch());
    let ended = match trimmer {
        Ok(mut trimmer) => serve_while_leading(node, state, identity, &leadership, &mut trimmer, &handovers),
        Err(e) => {
            node.lock_handovers().remove(&identity);
            node.hold_lease(identity, None);
            state.databases().remove(identity);
            if let Err(e) = leadership.resign() {
                log::warn!("database {identity}: cannot resign its leadership: {e}");
            }
            return Err(e.into());
        }
    };
    node.lock_handovers().remove(&identity);
    node.hold_lease(identity, None);
    let resigned = leadership.resign();
    if let Err(e) = &resigned {
        log::warn!("database {identity}: cannot resign its leadership: {e} (the lease expires by itself)");
    }
    if let Ended::HandedOver(order, drained) = ended {
        // Answered only now: the target can campaign once the leader key is gone.
        let _ = order
            .reply
            .send(drained.and_then(|d| resigned.map(|()| d).map_err(Into::into)));
        return Ok(Ended::SteppedDown);
    }
    Ok(ended)
}

/// Watches the lease and the database until this node must stop leading it.
fn serve_while_leading(
    node: &ClusterNode,
    state: &AppState,
    identity: Identity,
    leadership: &Leadership,
    trimmer: &mut EtcdLog,
    handovers: &std::sync::mpsc::Receiver<super::handover::Order>,
) -> Ended {
    let mut progress = Progress::default();
    let mut quorum = None;
    loop {
        // Waits for a planned handover, or the next check.
        if let Ok(order) = handovers.recv_timeout(LEADER_CHECK) {
            let drained = super::handover::hand_over(node, state, identity, leadership.epoch(), &order.to);
            return Ended::HandedOver(order, drained);
        }
        if state.registry().get(identity).is_none() {
            return Ended::Deleted;
        }
        let running = state.databases().get(identity);
        // What the leader has made durable (locally and in etcd) counts as its
        // progress; with every replica's, it bounds what may be trimmed.
        let durable = running.as_ref().and_then(|db| db.durable()).and_then(|d| d.get());
        if progress.report(node, trimmer.keys(), durable) {
            if quorum.is_none() {
                quorum = trim_quorum(node, trimmer.keys());
            }
            if let Err(e) = trimmer.trim_behind(quorum.unwrap_or(TRIM_BEHIND_REPLICAS)) {
                log::warn!("database {identity}: cannot trim the replicated log: {e}");
            }
        }
        let log_failure = running
            .as_ref()
            .and_then(|db| db.durable())
            .and_then(|durable| durable.failure());
        let why = if !leadership.lease_valid() {
            "its leader lease expired (etcd unreachable?)".to_owned()
        } else if let Some(failure) = log_failure {
            format!("its log failed ({failure})")
        } else if running.as_ref().is_none_or(|db| db.is_stopped()) {
            "it stopped".to_owned()
        } else {
            continue;
        };
        log::warn!(
            "database {identity}: node {} steps down as leader of epoch {}: {why}",
            node.config.node_id,
            leadership.epoch()
        );
        state.databases().remove(identity);
        state.databases().set_failed(
            identity,
            format!(
                "this node ({}) stopped leading it ({why}) and is finding the new leader; retry shortly",
                node.config.node_id
            ),
        );
        return Ended::SteppedDown;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacetime_commitlog::encode_commit;

    /// Commits `range` of leader term `epoch`, framed back to back as a batch.
    fn frames(epoch: u64, range: std::ops::Range<u64>) -> Vec<u8> {
        let mut out = Vec::new();
        for offset in range {
            encode_commit(&mut out, epoch, offset, format!("record {offset}").as_bytes());
        }
        out
    }

    fn batch(epoch: u64, range: std::ops::Range<u64>) -> TailBatch {
        TailBatch {
            first: range.start,
            last: range.end - 1,
            frames: frames(epoch, range),
            checksum: None,
        }
    }

    fn open(dir: &std::path::Path) -> Commitlog {
        Commitlog::open(dir, CommitlogOptions::default())
            .expect("open a commit log")
            .0
    }

    #[test]
    fn apply_writes_the_leaders_frames_and_skips_what_the_log_holds() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut log = open(dir.path());
        apply(&mut log, &batch(1, 0..3)).expect("a first batch");
        // A batch that starts before the log's end (the tail resumed inside it):
        // only its new commits are written.
        apply(&mut log, &batch(1, 1..5)).expect("an overlapping batch");
        // One the log holds entirely: nothing happens.
        apply(&mut log, &batch(1, 0..2)).expect("an old batch");
        assert_eq!(log.next_tx_offset(), 5);
        drop(log);
        let mut log = open(dir.path());
        let replayed: Vec<(u64, Vec<u8>)> = log.replay_from(0).collect::<Result<_, _>>().expect("the log replays");
        let expected: Vec<(u64, Vec<u8>)> = (0..5).map(|o| (o, format!("record {o}").into_bytes())).collect();
        assert_eq!(replayed, expected);
        // Byte for byte what the leader framed.
        let ids = log.commit_ids_from(0);
        assert!(ids.is_ok_and(|ids| ids == spacetime_commitlog::commit_ids(&frames(1, 0..5)).unwrap_or_default()));
    }

    #[test]
    fn apply_refuses_a_batch_that_leaves_a_gap() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut log = open(dir.path());
        apply(&mut log, &batch(1, 0..2)).expect("a first batch");
        let err = apply(&mut log, &batch(1, 3..4)).expect_err("a gap");
        assert!(
            err.to_string()
                .contains("starts at tx offset 3, but the local log's next is 2"),
            "{err}"
        );
        assert_eq!(log.next_tx_offset(), 2);
    }
}
