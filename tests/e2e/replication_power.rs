//! Power kills (design-replication §11, issue 17): a SIGKILL keeps the page cache, so it
//! cannot show a missing fsync. Servers here run with the commit log's fsync ledger
//! (`spacetime_testing::power`), and a power kill is a SIGKILL followed by truncating
//! every segment to what its last fsync covered. Before each kill the node's fsyncs are
//! held (its `hold-fsync` file) until a written, unsynced tail is on disk, so every kill
//! really takes commits away; the kill then cuts them, and every acknowledged call must
//! still be there afterwards, exactly once, with a constant total.
//!
//! - A single node, power-killed in several rounds under the ledger workload.
//! - A cluster (three etcd members, two nodes): the leader power-killed in a loop (10
//!   rounds; 50 with `SPACETIME_STRESS=1`), the standby in every third round instead.
//!   The killed leader's cut tail was committed in etcd (the append runs beside the
//!   held fsync), so the new leader holds it and the restarted node must fetch it back
//!   and rejoin as a standby; at the end every node reports the same rolling checksum.

use crate::replication::{assert_checksums_agree, Fixture, FAILOVER_DEADLINE};
use crate::replication_workload::{free_addr, quantile, Api, Outcome, Workload, ACCOUNTS, DB, LEDGER, START};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings};
use spacetime_testing::power::{self, PowerCut, FSYNC_LEDGER};
use spacetime_testing::server::TestServer;
use spacetime_testing::wait;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Power kills of the single node.
const NODE_ROUNDS: usize = 4;
/// Power kills in the cluster's default run.
const DEFAULT_ROUNDS: usize = 10;
/// Power kills in the cluster's stress run.
const STRESS_ROUNDS: usize = 50;
/// Concurrent clients of the workload.
const CLIENTS: u32 = 3;
/// Acknowledged calls to wait for before each kill, so every round has new work.
const PROGRESS_ACKS: usize = 10;

/// Waits until the workload has [`PROGRESS_ACKS`] more acknowledgements than now.
fn wait_for_progress(workload: &Workload, describe: impl Fn() -> String) {
    let since = workload.acks();
    wait::poll(
        "the workload to make progress",
        FAILOVER_DEADLINE,
        || (workload.acks() >= since + PROGRESS_ACKS).then_some(()),
        describe,
    );
}

/// Holds the fsyncs of the database logged under `data_dir` (its `hold-fsync` file)
/// until a written, unsynced tail is on disk; returns the hold file, to remove once
/// the node is dead.
fn hold_until_unsynced(data_dir: &std::path::Path, describe: impl Fn() -> String) -> PathBuf {
    let replicas = power::replica_dirs(data_dir);
    assert_eq!(
        replicas.len(),
        1,
        "one database under {}: {replicas:?}",
        data_dir.display()
    );
    let hold = replicas[0].join("hold-fsync");
    std::fs::write(&hold, b"").expect("create the hold file");
    wait::poll(
        "a written but unsynced tail in the commit log",
        FAILOVER_DEADLINE,
        || (power::unsynced_bytes(data_dir) > 0).then_some(()),
        describe,
    );
    hold
}

/// A power kill of `server` with its fsyncs held first, so it loses a written tail;
/// the hold file is gone afterwards (a restart must not inherit it).
fn power_kill_holding(server: &mut TestServer) -> PowerCut {
    let hold = hold_until_unsynced(&server.data_dir(), || server.output());
    let cut = server.power_kill();
    std::fs::remove_file(&hold).expect("remove the hold file");
    assert!(cut.bytes > 0, "the power kill cut nothing: {cut:?}");
    cut
}

#[test]
fn a_single_node_loses_no_acknowledged_call_to_power_kills() {
    let wasm = build_module(LEDGER, Bindings::Ours);
    let mut server = TestServer::start_with_env(&free_addr(), None, &[], &[FSYNC_LEDGER]);
    let cli = Cli::new(&server);
    cli.publish(&wasm, Some(DB));
    cli.call(DB, "seed", &[&ACCOUNTS.to_string(), &START.to_string()]).ok();
    let api = Api::new(
        cli.token().expect("the CLI logged in to publish"),
        Duration::from_secs(5),
    );
    let url = server.url();
    let mut workload = Workload::start(CLIENTS, &api, std::slice::from_ref(&url));

    let (mut cut_bytes, mut held) = (0u64, 0usize);
    for round in 1..=NODE_ROUNDS {
        wait_for_progress(&workload, || server.output());
        cut_bytes += power_kill_holding(&mut server).bytes;
        server.restart();
        held = workload.check(&api, &url, round).len();
    }
    workload.stop();
    held = held.max(workload.check(&api, &url, NODE_ROUNDS + 1).len());
    let r = workload.records.lock().expect("records");
    eprintln!(
        "replication_power (single node): {NODE_ROUNDS} power kills cut {cut_bytes} unsynced bytes; {} calls \
         acknowledged, {} unknown, {held} applied, 0 lost, 0 duplicated",
        r.count(Outcome::Acked),
        r.count(Outcome::Unknown),
    );
    assert!(r.count(Outcome::Acked) >= NODE_ROUNDS * PROGRESS_ACKS);
}

#[test]
fn power_killed_leaders_and_standbys_lose_nothing_and_rejoin() {
    let Some(mut fx) = Fixture::start_with_env(&[FSYNC_LEDGER]) else {
        return;
    };
    let stress = std::env::var("SPACETIME_STRESS").is_ok_and(|v| v == "1");
    let rounds = if stress { STRESS_ROUNDS } else { DEFAULT_ROUNDS };
    let (api, urls) = (fx.api.clone(), fx.urls.clone());
    let mut workload = Workload::start(CLIENTS, &api, &urls);

    let started = Instant::now();
    let (mut failovers, mut rejoins) = (Vec::new(), Vec::new());
    let (mut leader_kills, mut standby_kills, mut held) = (0usize, 0usize, 0usize);
    // Unsynced bytes the kills cut: of leaders, of standbys.
    let (mut leader_cut, mut standby_cut) = (0u64, 0u64);
    for round in 1..=rounds {
        let leader = fx.leader();
        held = workload.check(&api, &urls[leader], round).len();
        wait_for_progress(&workload, || fx.outputs());
        let (victim, other) = if round % 3 == 0 {
            (1 - leader, leader)
        } else {
            (leader, 1 - leader)
        };
        let killed_at = Instant::now();
        if victim == leader {
            // The leader's batch reaches etcd while its local fsync is held: the cut
            // tail is committed, and the restarted node must fetch it back.
            leader_cut += power_kill_holding(&mut fx.nodes[victim]).bytes;
            leader_kills += 1;
            failovers.push(fx.first_ack(&workload.records, other, killed_at));
        } else {
            // A standby's log is written by its follow loop, whose fsyncs no hold
            // file stops: it loses whatever it had not fsynced at the kill.
            standby_cut += fx.nodes[victim].power_kill().bytes;
            standby_kills += 1;
        }
        let restarted = Instant::now();
        fx.nodes[victim].restart();
        fx.wait_standby(victim);
        rejoins.push(restarted.elapsed());
    }
    workload.stop();
    let leader = fx.leader();
    held = held.max(workload.check(&api, &urls[leader], rounds + 1).len());
    // The restarted nodes' copies, re-fetched past their cut tails, match the leader's.
    assert_checksums_agree(&fx);
    let r = workload.records.lock().expect("records");
    failovers.sort_unstable();
    rejoins.sort_unstable();
    eprintln!(
        "replication_power: {leader_kills} leader and {standby_kills} standby power kills in {:.1} s cut {leader_cut} and \
         {standby_cut} unsynced bytes; {} calls acknowledged, {} unknown, {} refused; {held} applied, 0 lost, 0 duplicated; \
         failover p50 {} ms, max {} ms; restart to standby p50 {} ms, max {} ms",
        started.elapsed().as_secs_f64(),
        r.count(Outcome::Acked),
        r.count(Outcome::Unknown),
        r.count(Outcome::Standby),
        quantile(&failovers, 0.5),
        quantile(&failovers, 1.0),
        quantile(&rejoins, 0.5),
        quantile(&rejoins, 1.0),
    );
    assert!(leader_kills > 0 && r.count(Outcome::Acked) >= rounds * PROGRESS_ACKS);
}
