//! Cluster mode: the placement controller and recovering a parked replica (issue 17
//! item 8). Real three-member etcd, real `spacetime start` nodes, the ledger module
//! (`replication_workload.rs`).
//!
//! - A standby SIGKILLed for good is replaced: once its registration has expired and
//!   the grace period (`--cluster-replace-after`, short here) has passed, the
//!   controller places the database on the third node, which adopts it, follows as a
//!   standby, and takes over every acknowledged call when the leader is SIGKILLed.
//!   `cluster status` names the controller and shows the database under-replicated
//!   while it is. The killed node, restarted, is no longer placed: it drops its copy
//!   and redirects the database's requests.
//! - A replica parked because its copy diverged is rebuilt with `spacetime cluster
//!   resync --node`: its old copy is moved aside, it copies the leader's files,
//!   follows again with its checksum verified, and takes over with every
//!   acknowledged call. The command is refused on the leader and on a replica that is
//!   not parked.

use crate::replication::with_a_row_changed;
use crate::replication_workload::{skip_without_etcd, start_node, Api, Outcome, ACCOUNTS, DB, LEDGER, START};
use spacetime_testing::cli::Cli;
use spacetime_testing::etcd::EtcdCluster;
use spacetime_testing::modules::{build_module, Bindings};
use spacetime_testing::server::TestServer;
use spacetime_testing::wait;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long a placed node may be gone before it is replaced (milliseconds): short, so
/// the test does not wait the 30 s default; longer than a poll, so the
/// under-replicated state is seen first.
const REPLACE_AFTER: &str = "3000";
/// How long re-placement, a bootstrap or a failover may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(45);

/// An etcd cluster and `count` cluster-mode nodes (`n1`...) sharing a key pair,
/// with the ledger published on n1 with two replicas and seeded.
struct Cluster {
    nodes: Vec<TestServer>,
    urls: Vec<String>,
    ids: Vec<String>,
    cli: Cli,
    api: Api,
    /// The token key pair every node shares (kept until the nodes stop).
    _keys: tempfile::TempDir,
    // Last: the servers stop before etcd does.
    etcd: EtcdCluster,
}

impl Cluster {
    /// `None` (with a message) when etcd is not installed.
    fn start(count: usize) -> Option<Self> {
        if skip_without_etcd() {
            return None;
        }
        let wasm = build_module(LEDGER, Bindings::Ours);
        let etcd = EtcdCluster::start();
        let keys = tempfile::tempdir().expect("a key directory");
        let endpoints = etcd.endpoints();
        let ids: Vec<String> = (1..=count).map(|i| format!("n{i}")).collect();
        let nodes: Vec<TestServer> = ids
            .iter()
            .map(|id| start_node(&endpoints, keys.path(), id, &["--cluster-replace-after", REPLACE_AFTER]))
            .collect();
        let urls = nodes.iter().map(TestServer::url).collect();
        let cli = Cli::new(&nodes[0]);
        cli.publish_output(&wasm, Some(DB), &["--replicas", "2"]).ok();
        cli.call(DB, "seed", &[&ACCOUNTS.to_string(), &START.to_string()]).ok();
        let api = Api::new(
            cli.token().expect("the CLI logged in to publish"),
            Duration::from_secs(5),
        );
        Some(Self {
            nodes,
            urls,
            ids,
            cli,
            api,
            _keys: keys,
            etcd,
        })
    }

    /// Every node's output, for failure messages.
    fn outputs(&self) -> String {
        self.nodes
            .iter()
            .zip(&self.ids)
            .map(|(n, id)| format!("{id}:\n{}\n", n.output()))
            .collect()
    }

    /// The index of node `id`.
    fn index(&self, id: &str) -> usize {
        self.ids
            .iter()
            .position(|i| i == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    /// The `cluster` part of `GET /v1/database/:db` on node `i`, if it answers.
    fn status(&self, i: usize) -> Option<serde_json::Value> {
        let url = format!("{}/v1/database/{DB}", self.urls[i]);
        let info: serde_json::Value = self.api.http.get(url).send().ok()?.json().ok()?;
        info.get("cluster").cloned()
    }

    /// The nodes the database is placed on, as node `i` reads them.
    fn placement(&self, i: usize) -> Option<Vec<String>> {
        let nodes = self.status(i)?.get("placement")?.get("nodes")?.as_array()?.clone();
        nodes.iter().map(|n| n.as_str().map(str::to_owned)).collect()
    }

    /// Waits until node `i` follows the database as a standby.
    fn wait_standby(&self, i: usize) {
        wait::poll(
            &format!("{} to follow the database as a standby", self.ids[i]),
            DEADLINE,
            || self.api.is_standby(&self.urls[i]).then_some(()),
            || self.outputs(),
        );
    }

    /// Waits until node `i` answers SQL (it leads).
    fn wait_leader(&self, i: usize) {
        wait::poll(
            &format!("{} to lead the database", self.ids[i]),
            DEADLINE,
            || self.api.sql(&self.urls[i], "SELECT id FROM account WHERE id = 0"),
            || self.outputs(),
        );
    }

    /// Makes `count` calls of client 0 from sequence number `next` on node `i`, each
    /// of which must be acknowledged (the leader is not disturbed meanwhile).
    fn calls(&self, i: usize, next: &mut u32, count: u32, acked: &mut Vec<u32>) {
        for _ in 0..count {
            let (outcome, answer) = self.api.call_answered(&self.urls[i], 0, *next);
            assert_eq!(outcome, Outcome::Acked, "call {next} on {}: {answer}", self.ids[i]);
            acked.push(*next);
            *next += 1;
        }
    }

    /// The acknowledged calls node `i` (which leads) does not hold.
    fn missing_on(&self, i: usize, acked: &[u32]) -> Vec<u32> {
        let rows = self
            .api
            .sql(&self.urls[i], "SELECT seq FROM entry WHERE client = 0")
            .unwrap_or_else(|| panic!("{} answers SQL", self.ids[i]));
        let held: BTreeSet<u32> = rows.iter().filter_map(|r| r[0].as_u64()).map(|s| s as u32).collect();
        acked.iter().copied().filter(|s| !held.contains(s)).collect()
    }
}

#[test]
fn a_standby_gone_for_good_is_replaced_and_its_replacement_takes_over() {
    let Some(mut cluster) = Cluster::start(3) else {
        return;
    };
    let placed = wait::poll("the placement", DEADLINE, || cluster.placement(0), || cluster.outputs());
    assert_eq!(placed.len(), 2, "{placed:?}");
    assert_eq!(placed[0], "n1", "the publishing node leads: {placed:?}");
    let standby = cluster.index(&placed[1]);
    let spare = 3 - standby;
    cluster.wait_standby(standby);
    let (mut next, mut acked) = (0, Vec::new());
    cluster.calls(0, &mut next, 20, &mut acked);

    // The standby dies for good: the database is under-replicated until the
    // controller places it on the spare node, after the grace period.
    cluster.nodes[standby].sigkill();
    let killed = Instant::now();
    cluster.calls(0, &mut next, 20, &mut acked);
    let short = wait::poll(
        "the database to show as under-replicated",
        DEADLINE,
        || cluster.status(0).filter(|s| !s["under_replicated"].is_null()),
        || cluster.outputs(),
    );
    assert_eq!(short["under_replicated"]["missing"], 1, "{short}");
    let shown_short = killed.elapsed();
    let replaced = wait::poll(
        "the controller to re-place the database",
        DEADLINE,
        || cluster.placement(0).filter(|p| !p.contains(&cluster.ids[standby])),
        || cluster.outputs(),
    );
    let re_placed = killed.elapsed();
    assert_eq!(replaced, ["n1".to_owned(), cluster.ids[spare].clone()]);
    assert!(
        re_placed >= Duration::from_millis(3000),
        "re-placed {re_placed:?} after the kill, before the grace period"
    );
    cluster.wait_standby(spare);
    let following = killed.elapsed();
    // The nodes' log lines reach the test through pipes: poll for them.
    wait::poll(
        "the controller's and the new node's log lines",
        DEADLINE,
        || {
            let adopted = cluster.nodes[spare].output().contains("adopted from the catalog");
            (adopted && cluster.outputs().contains("re-placed by the controller")).then_some(())
        },
        || cluster.outputs(),
    );
    let status = cluster.cli.run(&["cluster", "status", DB]).ok();
    assert!(
        status.stdout.contains("Placement controller: node n"),
        "{}",
        status.stdout
    );
    assert!(!status.stdout.contains("UNDER-REPLICATED"), "{}", status.stdout);
    eprintln!(
        "placement: standby killed; under-replicated shown after {} ms, re-placed after {} ms, the new node a \
         standby after {} ms (registration TTL 6 s + grace {REPLACE_AFTER} ms)",
        shown_short.as_millis(),
        re_placed.as_millis(),
        following.as_millis()
    );

    // The old standby comes back: no longer placed, it drops its copy rather than
    // follow or campaign, and sends the database's requests to the leader.
    cluster.nodes[standby].restart();
    wait::poll(
        "the returning node to drop its copy",
        DEADLINE,
        || {
            let output = cluster.nodes[standby].output();
            output.contains("deleted its copy in").then_some(())
        },
        || cluster.outputs(),
    );
    let redirected = wait::poll(
        "the returning node to redirect the database's requests",
        DEADLINE,
        || {
            let answer = cluster
                .api
                .http
                .post(format!("{}/v1/database/{DB}/sql", cluster.urls[standby]))
                .bearer_auth(&cluster.api.token)
                .body("SELECT id FROM account WHERE id = 0")
                .send()
                .ok()?;
            (answer.status().as_u16() == 307).then(|| answer.text().unwrap_or_default())
        },
        || cluster.outputs(),
    );
    assert!(redirected.contains("holds no copy of"), "{redirected}");
    assert_eq!(cluster.placement(0), Some(replaced.clone()));

    // The replacement holds everything: it takes over from the leader with no
    // acknowledged call lost (the returning node, holding nothing, does not).
    cluster.calls(0, &mut next, 20, &mut acked);
    cluster.nodes[0].sigkill();
    let leader_killed = Instant::now();
    cluster.wait_leader(spare);
    assert!(
        !cluster.nodes[standby].output().contains("took over as leader"),
        "{}",
        cluster.outputs()
    );
    eprintln!(
        "placement: the replacement took over {} ms after the leader's SIGKILL",
        leader_killed.elapsed().as_millis()
    );
    assert_eq!(
        cluster.missing_on(spare, &acked),
        Vec::<u32>::new(),
        "{}",
        cluster.outputs()
    );
    let mut after = Vec::new();
    cluster.calls(spare, &mut next, 5, &mut after);
}

#[test]
fn a_parked_replica_is_resynced_from_a_peer_and_takes_over() {
    let Some(mut cluster) = Cluster::start(2) else {
        return;
    };
    cluster.wait_leader(0);
    cluster.wait_standby(1);
    let (mut next, mut acked) = (0, Vec::new());
    cluster.calls(0, &mut next, 10, &mut acked);

    // Refused on the leader, and on a replica that is not parked (without --force).
    let on_leader = cluster.cli.run(&["cluster", "resync", DB, "--node", "n1"]).err();
    assert!(on_leader.stderr.contains("leads database"), "{}", on_leader.stderr);
    let not_parked = cluster.cli.run(&["cluster", "resync", DB, "--node", "n2"]).err();
    assert!(not_parked.stderr.contains("is not parked"), "{}", not_parked.stderr);

    // n2's copy diverges: while it is down, a batch in etcd gets one row changed
    // (every CRC still verifies); on its return it applies it and parks.
    cluster.nodes[1].sigkill();
    cluster.calls(0, &mut next, 5, &mut acked);
    let kvs = cluster.etcd.read_prefix("/stdb/v1/db/").expect("etcd answers");
    let head_key = kvs
        .iter()
        .map(|(k, _)| k)
        .find(|k| k.ends_with("/head"))
        .expect("a head");
    let log_prefix = format!("{}log/", head_key.trim_end_matches("head"));
    let (batch_key, original, changed) = kvs
        .iter()
        .rev()
        .filter(|(k, _)| k.starts_with(&log_prefix))
        .find_map(|(k, frames)| Some((k.clone(), frames.clone(), with_a_row_changed(frames)?)))
        .expect("a batch with a transaction");
    cluster.etcd.put(&batch_key, &changed);
    cluster.nodes[1].restart();
    wait::poll(
        "n2 to find its copy diverged",
        DEADLINE,
        || diverged(&cluster, 1),
        || cluster.outputs(),
    );
    // What made it diverge is repaired in etcd (the copy that went wrong is n2's).
    cluster.etcd.put(&batch_key, &original);

    let resynced = Instant::now();
    let out = cluster.cli.run(&["cluster", "resync", DB, "--node", "n2"]).ok();
    let took = resynced.elapsed();
    assert!(
        out.stdout.contains("copied database `ledger` from a peer"),
        "{}",
        out.stdout
    );
    let moved = out
        .stdout
        .split("moved to ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("the command says where the old copy went: {}", out.stdout));
    let moved = std::path::Path::new(moved);
    assert!(
        moved.join("clog").is_dir(),
        "the old log is kept in {}",
        moved.display()
    );
    assert!(
        moved.starts_with(cluster.nodes[1].data_dir()),
        "{} is in n2's data directory",
        moved.display()
    );
    cluster.wait_standby(1);
    let output = cluster.nodes[1].output();
    assert!(output.contains("for forensics"), "{output}");
    assert!(output.contains("bootstrapped from peer n1"), "{output}");
    eprintln!("resync: the command took {} ms", took.as_millis());

    // It follows again with its copy verified, and takes over losing nothing.
    cluster.calls(0, &mut next, 10, &mut acked);
    let verified = wait::poll(
        "n2's checksum to verify against the leader's",
        DEADLINE,
        || checksum(&cluster, 1).filter(|c| c["diverged"].is_null() && c["verified"].as_u64().is_some()),
        || cluster.outputs(),
    );
    assert!(verified["diverged"].is_null(), "{verified}");
    cluster.nodes[0].sigkill();
    cluster.wait_leader(1);
    assert_eq!(
        cluster.missing_on(1, &acked),
        Vec::<u32>::new(),
        "{}",
        cluster.outputs()
    );
}

/// The `checksum` of `GET /v1/database/:db` on node `i`.
fn checksum(cluster: &Cluster, i: usize) -> Option<serde_json::Value> {
    let url = format!("{}/v1/database/{DB}", cluster.urls[i]);
    let info: serde_json::Value = cluster.api.http.get(url).send().ok()?.json().ok()?;
    info.get("checksum").filter(|c| !c.is_null()).cloned()
}

/// Node `i`'s divergence, once its replica parked.
fn diverged(cluster: &Cluster, i: usize) -> Option<serde_json::Value> {
    checksum(cluster, i)
        .map(|c| c["diverged"].clone())
        .filter(|d| !d.is_null())
}
