//! Cluster mode: a node starts from a peer's files (issue 17 items 5 and 8). Real
//! three-member etcd, real `spacetime start` nodes, the ledger workload
//! (`replication_workload.rs`).
//!
//! - A node whose disk was replaced rejoins after the leader trimmed etcd's log past
//!   everything it had: it copies the leader's snapshot and the segments after it,
//!   follows etcd from there, and takes over, with every acknowledged call, once the
//!   other two nodes are SIGKILLed. Bootstrap time and bytes are printed.
//! - A copy that does not check out (the leader's snapshots damaged on its disk) is
//!   refused with a log line and taken from the next peer instead; the peer endpoints
//!   refuse a request without the cluster's peer secret.
//! - A program too large for etcd (over 1.5 MiB) is published, fetched by a second
//!   node from its peer by hash, and served by that node after a failover.

use super::replication_workload::{free_addr, node_args, skip_without_etcd, Api, Outcome, ACCOUNTS, DB, LEDGER, START};
use spacetime_testing::cli::Cli;
use spacetime_testing::etcd::EtcdCluster;
use spacetime_testing::modules::{build_module, Bindings, ModuleCrate};
use spacetime_testing::server::TestServer;
use spacetime_testing::wait;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// `tests/modules/ledger-big`: the ledger with a 2 MiB data section.
const LEDGER_BIG: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "ledger-big-module",
    upstream_package: "upstream-ledger-big",
};
/// Rows the bootstrap copies: accounts seeded in one transaction.
const ROWS: u32 = 10_000;
/// Transfers made before the node's disk is replaced (the log it copies).
const CALLS_BEFORE: u32 = 600;
/// Transfers made while it is away (held in etcd, which it tails after the copy).
const CALLS_AWAY: u32 = 100;
/// A snapshot every so many transactions, and small segments, so that the leader
/// holds several snapshots and sealed segments, and prunes what they replace.
const SNAPSHOT_EVERY: &str = "200";
const SEGMENT_BYTES: &str = "65536";
/// The leader lease, in seconds.
const LEASE_TTL: &str = "5";
/// How long a failover or a bootstrap may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(60);
/// The etcd key prefix the nodes use (the server's default).
const PREFIX: &str = "/stdb/v1";

/// An etcd cluster and `count` cluster-mode nodes sharing a key pair.
struct Cluster {
    nodes: Vec<TestServer>,
    urls: Vec<String>,
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
        let etcd = EtcdCluster::start();
        let keys = tempfile::tempdir().expect("a key directory");
        let endpoints = etcd.endpoints();
        let nodes: Vec<TestServer> = (1..=count)
            .map(|i| {
                let addr = free_addr();
                let mut args = node_args(&endpoints, &format!("n{i}"), &addr);
                // A longer lease than the kill loop's: these tests kill on purpose only,
                // and a busy two-core machine must not depose a leader by itself.
                if let Some(ttl) = args.iter().position(|a| a == "--cluster-lease-ttl") {
                    args[ttl + 1] = LEASE_TTL.to_owned();
                }
                args.extend(
                    ["--snapshot-every", SNAPSHOT_EVERY, "--max-segment-size", SEGMENT_BYTES].map(str::to_owned),
                );
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                TestServer::start_sharing_keys(&addr, keys.path(), &args)
            })
            .collect();
        let urls = nodes.iter().map(TestServer::url).collect();
        Some(Self {
            nodes,
            urls,
            _keys: keys,
            etcd,
        })
    }

    /// Every node's output, for failure messages.
    fn outputs(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("n{}:\n{}\n", i + 1, n.output()))
            .collect()
    }

    /// Publishes `wasm` as [`DB`] on the first node for every node (`--replicas`)
    /// and returns the owner's API client and the database's identity (hex).
    fn publish(&self, wasm: &Path) -> (Cli, Api, String) {
        let cli = Cli::new(&self.nodes[0]);
        let replicas = self.nodes.len().to_string();
        let output = cli.publish_output(wasm, Some(DB), &["--replicas", &replicas]).ok();
        let identity = output
            .stdout
            .split_whitespace()
            .skip_while(|w| *w != "identity:")
            .nth(1)
            .unwrap_or_else(|| panic!("publish printed no identity:\n{}", output.stdout))
            .to_owned();
        let api = Api::new(
            cli.token().expect("the CLI logged in to publish"),
            Duration::from_secs(10),
        );
        (cli, api, identity)
    }

    /// Which of `nodes` leads the database (answers SQL), waiting for one.
    fn leader(&self, api: &Api, nodes: &[usize]) -> usize {
        wait::poll(
            "a leader",
            DEADLINE,
            || {
                nodes
                    .iter()
                    .copied()
                    .find(|&i| api.sql(&self.urls[i], "SELECT id FROM account WHERE id = 0").is_some())
            },
            || self.outputs(),
        )
    }

    /// Waits until node `i` follows the database as a standby.
    fn wait_standby(&self, api: &Api, i: usize) {
        wait::poll(
            &format!("n{} to follow the database as a standby", i + 1),
            DEADLINE,
            || api.is_standby(&self.urls[i]).then_some(()),
            || self.outputs(),
        );
    }

    /// The trim offset etcd holds for database `identity` (0 if never trimmed).
    fn trim(&self, identity: &str) -> u64 {
        self.etcd
            .read_prefix(&format!("{PREFIX}/db/{identity}/trim"))
            .and_then(|kvs| {
                kvs.first()
                    .map(|(_, v)| String::from_utf8_lossy(v).parse().unwrap_or(0))
            })
            .unwrap_or(0)
    }
}

/// Transfers of client 0 and the ones acknowledged: each call goes to the node that
/// leads; one not acknowledged (a leader change under way) is made again under the
/// next sequence number, so only acknowledged calls count.
struct Writer {
    next: u32,
    acked: Vec<u32>,
}

impl Writer {
    /// Makes `count` acknowledged calls to the nodes `nodes` (those alive).
    fn write(&mut self, cluster: &Cluster, api: &Api, nodes: &[usize], count: u32) {
        let target = self.acked.len() + count as usize;
        let mut node = 0;
        let deadline = Instant::now() + DEADLINE;
        while self.acked.len() < target {
            assert!(
                Instant::now() < deadline,
                "no leader acknowledged calls:\n{}",
                cluster.outputs()
            );
            let seq = self.next;
            self.next += 1;
            if api.call(&cluster.urls[nodes[node]], 0, seq) == Outcome::Acked {
                self.acked.push(seq);
            } else {
                node = (node + 1) % nodes.len();
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The acknowledged calls the node at `url` does not hold.
    fn missing_on(&self, api: &Api, url: &str) -> Vec<u32> {
        let (seqs, _, _) = state_on(api, url);
        self.acked.iter().copied().filter(|s| !seqs.contains(s)).collect()
    }
}

/// Removes everything of a node's data directory but the directory itself: a node
/// whose disk was replaced (its token keys live elsewhere, shared by the cluster).
fn wipe(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("list the data directory").flatten() {
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }
}

/// The files of every snapshot in a node's data directory.
fn snapshot_files(data_dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for replica in std::fs::read_dir(data_dir.join("replicas"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for file in std::fs::read_dir(replica.path().join("snapshots"))
            .into_iter()
            .flatten()
            .flatten()
        {
            if file.file_name().to_string_lossy().ends_with(".snapshot") {
                files.push(file.path());
            }
        }
    }
    files
}

/// The line of `output` that contains `marker`, if any.
fn line_with<'a>(output: &'a str, marker: &str) -> Option<&'a str> {
    output.lines().find(|l| l.contains(marker))
}

/// Writes the workload that gets trimmed: [`ROWS`] accounts in one transaction, then
/// [`CALLS_BEFORE`] transfers, until the leader has trimmed etcd's log.
fn trimmed_history(cluster: &Cluster, cli: &Cli, api: &Api, identity: &str) -> Writer {
    cli.call(DB, "seed", &[&ROWS.to_string(), &START.to_string()]).ok();
    let mut writer = Writer {
        next: 0,
        acked: Vec::new(),
    };
    let all: Vec<usize> = (0..cluster.nodes.len()).collect();
    writer.write(cluster, api, &all, CALLS_BEFORE);
    // Progress is reported and trimmed about every second: keep writing until it was.
    wait::poll(
        "the leader to trim the replicated log",
        DEADLINE,
        || {
            writer.write(cluster, api, &all, 10);
            (cluster.trim(identity) > u64::from(CALLS_BEFORE) / 2).then_some(())
        },
        || cluster.outputs(),
    );
    writer
}

/// Every `(client, seq)` entry and the account rows' count and total on the node at `url`.
fn state_on(api: &Api, url: &str) -> (BTreeSet<u32>, usize, i64) {
    let entries = api
        .sql(url, "SELECT seq FROM entry WHERE client = 0")
        .unwrap_or_else(|| panic!("{url} answers SQL"));
    let seqs = entries
        .iter()
        .map(|row| row[0].as_u64().expect("a seq") as u32)
        .collect();
    let accounts = api
        .sql(url, "SELECT balance FROM account")
        .unwrap_or_else(|| panic!("{url} answers SQL"));
    let total = accounts.iter().map(|row| row[0].as_i64().expect("a balance")).sum();
    (seqs, accounts.len(), total)
}

/// SIGKILLs n1 and n2, waits until n3 leads, and returns the acknowledged calls it
/// does not hold.
fn n3_takes_over(cluster: &mut Cluster, api: &Api, writer: &Writer) -> Vec<u32> {
    cluster.nodes[1].sigkill();
    cluster.nodes[0].sigkill();
    cluster.leader(api, &[2]);
    writer.missing_on(api, &cluster.urls[2])
}

#[test]
fn a_node_with_a_new_disk_bootstraps_from_the_leaders_snapshot_and_takes_over() {
    let Some(mut cluster) = Cluster::start(3) else {
        return;
    };
    let wasm = build_module(LEDGER, Bindings::Ours);
    let (cli, api, identity) = cluster.publish(&wasm);
    cluster.wait_standby(&api, 1);
    cluster.wait_standby(&api, 2);
    let mut writer = trimmed_history(&cluster, &cli, &api, &identity);

    // n3's disk is lost; the cluster moves on without it (etcd keeps what it lacks
    // since its last report, but not the trimmed start).
    cluster.nodes[2].sigkill();
    writer.write(&cluster, &api, &[0, 1], CALLS_AWAY);
    let restarted = Instant::now();
    cluster.nodes[2].restart_after(wipe);
    cluster.wait_standby(&api, 2);
    let standby_after = restarted.elapsed();
    let output = cluster.nodes[2].output();
    let line = line_with(&output, "bootstrapped from peer").unwrap_or_else(|| panic!("no bootstrap:\n{output}"));
    println!("bootstrap of {ROWS} rows and {} transfers: {line}", writer.acked.len());
    println!(
        "n3 restarted with an empty disk to standby in {} ms",
        standby_after.as_millis()
    );
    let replica = cluster.nodes[2].data_dir().join("replicas");
    assert!(
        !snapshot_files(&cluster.nodes[2].data_dir()).is_empty(),
        "the copy has the leader's snapshot: {:?}",
        std::fs::read_dir(replica).map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
    );

    // More writes n3 follows from etcd, then the other two nodes die: n3 takes over.
    writer.write(&cluster, &api, &[0, 1, 2], 20);
    let number = |key: &str| -> Option<u64> {
        let kvs = cluster.etcd.read_prefix(&format!("{PREFIX}/db/{identity}/{key}"))?;
        // The head may carry a checksum after the offset.
        String::from_utf8_lossy(&kvs.first()?.1).split(' ').next()?.parse().ok()
    };
    let written = number("head").expect("a head");
    // Replicas report progress when they apply a batch (at most once a second), so
    // a call now and then keeps n3 reporting until it has everything written above.
    wait::poll(
        "n3 to report that it persisted the calls",
        DEADLINE,
        || {
            writer.write(&cluster, &api, &[0, 1, 2], 1);
            (number("replica/n3")? >= written).then_some(())
        },
        || cluster.outputs(),
    );
    let missing = n3_takes_over(&mut cluster, &api, &writer);
    let (_, accounts, total) = state_on(&api, &cluster.urls[2]);
    assert!(
        missing.is_empty(),
        "acknowledged calls missing on n3: {missing:?}\n{}",
        cluster.outputs()
    );
    assert_eq!(accounts, ROWS as usize);
    assert_eq!(total, i64::from(ROWS) * START, "the total balance is constant");
    assert_eq!(
        api.call(&cluster.urls[2], 1, 0),
        Outcome::Acked,
        "n3 serves calls as the leader"
    );
}

#[test]
fn a_damaged_copy_is_refused_and_taken_from_another_peer_and_outsiders_are_refused() {
    let Some(mut cluster) = Cluster::start(3) else {
        return;
    };
    let wasm = build_module(LEDGER, Bindings::Ours);
    let (cli, api, identity) = cluster.publish(&wasm);
    cluster.wait_standby(&api, 1);
    cluster.wait_standby(&api, 2);
    let writer = trimmed_history(&cluster, &cli, &api, &identity);

    // Peer endpoints answer only the cluster's nodes.
    let files = format!("{}/v1/peer/database/{identity}/files", cluster.urls[0]);
    let http = reqwest::blocking::Client::new();
    let anonymous = http.get(&files).send().expect("the leader answers");
    assert_eq!(anonymous.status().as_u16(), 401);
    assert!(anonymous.text().unwrap_or_default().contains("peer secret"));
    let owner = http
        .get(&files)
        .bearer_auth(&api.token)
        .send()
        .expect("the leader answers");
    assert_eq!(owner.status().as_u16(), 401, "a user's token is not the peer secret");
    let program = http
        .get(format!("{}/v1/peer/program/{}", cluster.urls[0], "0".repeat(64)))
        .bearer_auth("guess")
        .send()
        .expect("the leader answers");
    assert_eq!(program.status().as_u16(), 401);
    let secret = cluster
        .etcd
        .read_prefix(&format!("{PREFIX}/peer-secret"))
        .and_then(|kvs| kvs.first().map(|(_, v)| String::from_utf8_lossy(v).into_owned()))
        .expect("the peer secret is in etcd");
    let listed: serde_json::Value = http
        .get(&files)
        .bearer_auth(&secret)
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .expect("a node's secret lists the files");
    assert!(
        listed["segments"].as_array().is_some_and(|s| !s.is_empty())
            && listed["snapshots"]
                .as_array()
                .is_some_and(|s| s.iter().all(|s| s["blake3"].as_str().is_some_and(|h| h.len() == 64))),
        "segments and snapshots with their hashes are listed: {listed}"
    );
    // Damage every snapshot on the leader's disk (one bit of the payload): n3's copy
    // from it fails its BLAKE3 check, and n3 copies the other standby's log instead.
    cluster.nodes[2].sigkill();
    let leader = cluster.leader(&api, &[0, 1]);
    let other = 1 - leader;
    let snapshots = snapshot_files(&cluster.nodes[leader].data_dir());
    assert!(!snapshots.is_empty(), "the leader took snapshots");
    for file in &snapshots {
        let mut bytes = std::fs::read(file).expect("read a snapshot");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(file, bytes).expect("damage a snapshot");
    }
    cluster.nodes[2].restart_after(wipe);
    cluster.wait_standby(&api, 2);
    let output = cluster.nodes[2].output();
    let refused = line_with(&output, &format!("refused the copy from peer n{}", leader + 1))
        .unwrap_or_else(|| panic!("{output}"));
    assert!(refused.contains("BLAKE3"), "{refused}");
    let line =
        line_with(&output, &format!("bootstrapped from peer n{}", other + 1)).unwrap_or_else(|| panic!("{output}"));
    println!("after a refused copy: {line}");
    assert!(
        snapshot_files(&cluster.nodes[2].data_dir()).is_empty(),
        "nothing of the leader's copy was installed"
    );

    // n3 holds everything: it takes over with every acknowledged call.
    let missing = n3_takes_over(&mut cluster, &api, &writer);
    let (_, accounts, _) = state_on(&api, &cluster.urls[2]);
    assert!(missing.is_empty(), "acknowledged calls missing on n3: {missing:?}");
    assert_eq!(accounts, ROWS as usize);
}

#[test]
fn a_program_too_large_for_etcd_reaches_the_standby_from_its_peer() {
    let Some(mut cluster) = Cluster::start(2) else {
        return;
    };
    let wasm = build_module(LEDGER_BIG, Bindings::Ours);
    let size = std::fs::metadata(&wasm).expect("the module").len();
    assert!(size > 3 << 19, "the module is over 1.5 MiB: {size} bytes");
    let (cli, api, _identity) = cluster.publish(&wasm);
    cluster.wait_standby(&api, 1);
    assert_eq!(
        cluster.etcd.count_keys(&format!("{PREFIX}/program/")),
        0,
        "etcd holds no program"
    );
    let fetched = line_with(&cluster.nodes[1].output(), "from peer n1")
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("n2 fetched no program:\n{}", cluster.outputs()));
    assert!(fetched.contains(&format!("fetched {size} bytes")), "{fetched}");
    cli.call(DB, "seed", &[&ACCOUNTS.to_string(), &START.to_string()]).ok();
    assert_eq!(api.call(&cluster.urls[0], 0, 0), Outcome::Acked);

    cluster.nodes[0].sigkill();
    wait::poll(
        "n2 to take over",
        DEADLINE,
        || {
            api.sql(&cluster.urls[1], "SELECT seq FROM entry")
                .filter(|rows| rows.len() == 1)
        },
        || cluster.outputs(),
    );
    assert_eq!(
        api.call(&cluster.urls[1], 0, 1),
        Outcome::Acked,
        "the big module runs on n2"
    );
}
