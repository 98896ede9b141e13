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
use spacetime_engine::{storage, Database};
use spacetime_host::ModuleProgram;
use spacetime_replication::{Campaign, DbKeys, EtcdLog, LeaderInfo, Leadership, LogTail, TailBatch};
use spacetime_sats::Identity;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// How often a standby reads the leader key (and a leader checks its lease and log).
/// It bounds how late a standby notices an expired lease, on top of the lease TTL.
const LEADER_CHECK: Duration = Duration::from_millis(150);

/// How long a standby waits for the next batch before checking the leader again.
const TAIL_WAIT: Duration = Duration::from_millis(100);

/// The pause before a cycle that failed is tried again (etcd unreachable, say).
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// How often a replica reports how far it has persisted the log, and a leader trims
/// what every replica has persisted: often enough that etcd holds seconds of log, not
/// so often that progress writes rival the appends.
const PROGRESS_EVERY: Duration = Duration::from_millis(1000);

/// A replica's progress reports (`replica/<node>` in etcd), at most one per
/// [`PROGRESS_EVERY`]. Reported without a lease: a replica that is down keeps the
/// log from being trimmed past it, since a node cannot yet bootstrap from a peer's
/// snapshot (design item 6) and must find everything it lacks in etcd when it returns.
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
            .report_persisted(keys, &node.config.node_id, persisted, None)
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
/// deleted. A node that joins after trimming began cannot start (bootstrapping from a
/// peer's snapshot, design item 6, is not built yet) and says so.
const TRIM_BEHIND_REPLICAS: usize = 2;

/// How a cycle of following and leading ended.
enum Ended {
    /// The database is no longer registered here.
    Deleted,
    /// This node stepped down: follow again.
    SteppedDown,
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
            Ok(Ended::SteppedDown) => last_error = None,
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
    // Loaded while following, so a takeover does not wait for the module to compile.
    let program = load(node, state, runtime, &record.program_hash)?;
    let Some(leadership) = follow(node, state, &record, &keys)? else {
        return Ok(Ended::Deleted);
    };
    if let Err(e) = start_leader(node, state, runtime, &record, &keys, &leadership, program) {
        // Let another node take over at once rather than after the lease.
        if let Err(resign) = leadership.resign() {
            log::warn!("database {identity}: cannot resign after failing to start: {resign}");
        }
        return Err(e);
    }
    lead(node, state, identity, leadership)
}

/// Follows the replicated log into the local commit log until this node wins an
/// election (`Some`, caught up to the head) or the database is deleted (`None`).
fn follow(
    node: &ClusterNode,
    state: &AppState,
    record: &DatabaseRecord,
    keys: &DbKeys,
) -> Result<Option<Leadership>, ClusterError> {
    let identity = record.database_identity;
    let mut log = open_local_log(state, record)?;
    // A tail fsynced here while this node led but never committed by the cluster.
    node.cluster.rejoin(keys, &mut log)?;
    let trimmed = node.cluster.trim_offset(keys)?;
    if trimmed > log.next_tx_offset() {
        return Err(ClusterError::Local(format!(
            "the cluster trimmed its log up to tx offset {trimmed}, past this node's next offset {}: this node cannot \
             catch up from etcd, and starting a replica from a peer's snapshot is not built yet; run it on a node \
             that followed it from the start",
            log.next_tx_offset()
        )));
    }
    let mut tail = node.cluster.tail(keys, log.next_tx_offset())?;
    let mut progress = Progress::default();
    let mut shown: Option<LeaderInfo> = None;
    let mut checked: Option<Instant> = None;
    loop {
        if checked.is_none_or(|t| t.elapsed() >= LEADER_CHECK) {
            checked = Some(Instant::now());
            if state.registry().get(identity).is_none() {
                return Ok(None);
            }
            match node.cluster.leader(keys)? {
                Some(leader) => {
                    if shown.as_ref() != Some(&leader) {
                        log::info!(
                            "database {identity}: following node {} (epoch {}) as a standby",
                            leader.node,
                            leader.epoch
                        );
                        state.databases().set_failed(identity, standby_message(node, &leader));
                        node.follow_leader(identity, Some(leader.clone()));
                        shown = Some(leader);
                    }
                }
                // Deleted on the leader, which then resigned: delete it here too.
                None if !node.in_catalog(identity)? => {
                    node.follow_leader(identity, None);
                    log::info!("database {identity}: deleted in the cluster; deleting it here");
                    if let Err(e) = state.registry().remove(identity) {
                        log::error!("database {identity}: cannot remove it from the registry: {e}");
                    }
                    state.databases().remove(identity);
                    return Ok(None);
                }
                None => match node.campaign(keys)? {
                    Campaign::Won(leadership) => {
                        node.follow_leader(identity, None);
                        // The epoch moved: nothing more can be appended by the old
                        // leader, so the head read now is final.
                        let (won, before) = (Instant::now(), log.next_tx_offset());
                        let head = node.cluster.head(keys)?;
                        catch_up(node, &mut tail, &mut log, head)?;
                        log::info!(
                            "database {identity}: elected in epoch {}; caught up {} tx(s) to the head in {} ms",
                            leadership.epoch(),
                            log.next_tx_offset() - before,
                            won.elapsed().as_millis()
                        );
                        return Ok(Some(leadership));
                    }
                    Campaign::Lost(_) => checked = None,
                },
            }
        }
        if let Some(batch) = tail.next(TAIL_WAIT)? {
            apply(&mut log, &batch)?;
            progress.report(node, keys, log.next_tx_offset().checked_sub(1));
        }
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
    head: Option<u64>,
) -> Result<(), ClusterError> {
    let Some(head) = head else {
        return Ok(());
    };
    let patience = node.cluster.options().request_timeout;
    while log.next_tx_offset() <= head {
        let batch = tail.next(patience)?.ok_or_else(|| {
            ClusterError::Local(format!(
                "catching up: the replicated log stopped at tx offset {} below its head {head}",
                log.next_tx_offset()
            ))
        })?;
        apply(log, &batch)?;
    }
    Ok(())
}

/// Appends the commits of `batch` the local log does not hold yet, and fsyncs: what
/// a standby persists is exactly what the leader logged, byte for byte.
fn apply(log: &mut Commitlog, batch: &TailBatch) -> Result<(), ClusterError> {
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
        return Ok(());
    };
    let local = |e: spacetime_commitlog::CommitlogError| ClusterError::Local(format!("the local commit log: {e}"));
    log.append_encoded(&batch.frames[from..], next, count).map_err(local)?;
    log.sync().map_err(local)?;
    Ok(())
}

/// Reads and compiles the database's program.
fn load(node: &ClusterNode, state: &AppState, runtime: &Handle, hash: &str) -> Result<ModuleProgram, ClusterError> {
    let local = |what: &str, e: &dyn std::fmt::Display| ClusterError::Local(format!("{what}: {e}"));
    let wasm = super::catalog::fetch_program(node, state, hash).map_err(ClusterError::Local)?;
    runtime
        .block_on(crate::control::load_program(state, wasm))
        .map_err(|e| local("cannot load its program", &e))
}

/// Starts the database from its local log as the leader of `leadership`'s epoch.
fn start_leader(
    node: &ClusterNode,
    state: &AppState,
    runtime: &Handle,
    record: &DatabaseRecord,
    keys: &DbKeys,
    leadership: &Leadership,
    program: ModuleProgram,
) -> Result<(), ClusterError> {
    let identity = record.database_identity;
    let local = |what: &str, e: &dyn std::fmt::Display| ClusterError::Local(format!("{what}: {e}"));
    let log = EtcdLog::open(node.cluster.clone(), keys.clone(), leadership.epoch())?;
    let storage = crate::control::storage_for(state.config(), record.replica_id)
        .ok_or(ClusterError::InMemory)?
        .expecting_data()
        .with_replication(leadership.epoch(), Box::new(log));
    let started = Instant::now();
    let logs = state.open_logs(record.replica_id);
    // The log names the module that wrote it last: after an update made on the old
    // leader, a newer one than was loaded while following. (The log read here is
    // kept for the start below, not read twice.)
    let (program, hash) = match storage::logged_program(&storage, &logs) {
        Ok(Some(logged)) if logged != record.program_hash => {
            let program = load(node, state, runtime, &logged)?;
            let updated = DatabaseRecord {
                program_hash: logged.clone(),
                ..record.clone()
            };
            if let Err(e) = state.registry().update(updated) {
                log::warn!("database {identity}: cannot record its program {logged} in the registry: {e}");
            }
            (program, logged)
        }
        Ok(_) => (program, record.program_hash.clone()),
        Err(e) => return Err(local("cannot read its local log", &e)),
    };
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
        "database {identity}: node {} took over as leader in epoch {} (started from the local log in {} ms)",
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
    let keys = node.keys(identity);
    // A handle of its own on the replicated log, for trimming (fenced by the epoch).
    let trimmer = EtcdLog::open(node.cluster.clone(), keys.clone(), leadership.epoch());
    let ended = match trimmer {
        Ok(mut trimmer) => serve_while_leading(node, state, identity, &leadership, &mut trimmer),
        Err(e) => {
            node.hold_lease(identity, None);
            state.databases().remove(identity);
            if let Err(e) = leadership.resign() {
                log::warn!("database {identity}: cannot resign its leadership: {e}");
            }
            return Err(e.into());
        }
    };
    node.hold_lease(identity, None);
    if let Err(e) = leadership.resign() {
        log::warn!("database {identity}: cannot resign its leadership: {e} (the lease expires by itself)");
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
) -> Ended {
    let mut progress = Progress::default();
    loop {
        std::thread::sleep(LEADER_CHECK);
        if state.registry().get(identity).is_none() {
            return Ended::Deleted;
        }
        let running = state.databases().get(identity);
        // What the leader has made durable (locally and in etcd) counts as its
        // progress; with every replica's, it bounds what may be trimmed.
        let durable = running.as_ref().and_then(|db| db.durable()).and_then(|d| d.get());
        if progress.report(node, trimmer.keys(), durable) {
            if let Err(e) = trimmer.trim_behind(TRIM_BEHIND_REPLICAS) {
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
