//! Network partitions in cluster mode (issue 17 item 10, design §11): three hosts,
//! each a network namespace of its own (`spacetime_testing::netns`) joined to every
//! other and to the test's namespace (where the clients run) by a link of its own.
//! Host 1 and host 2 each run an etcd member and a `spacetime start` node; host 3 runs
//! the third etcd member. The ledger workload of `replication_workload.rs` runs
//! throughout, and each round cuts links around the leader (or the standby) in one of
//! several ways, holds the cut until the cluster has reacted, heals it, and waits
//! until one node leads and the other follows again.
//!
//! After every round the leader's state must hold every acknowledged call exactly
//! once, nothing refused or never sent, and a constant total (as after a kill). On
//! top of that, a deposed leader must acknowledge nothing after the new epoch; the
//! check, from the clients' records and the epoch in etcd:
//!
//! - For a round that deposes leader X of epoch E, `T_obs` is the first time the test
//!   read, from etcd's quorum, an epoch above E with the leader key naming the other
//!   node; `T_end` is when the test saw X answer as a standby after healing, and at
//!   `T_end` the epoch in etcd is still the one seen at `T_obs` (so X led no epoch in
//!   between; a round where it moved is not counted for this check).
//! - A call sent to X at or after `T_obs` and before `T_end` reached X after the epoch
//!   moved past E, while X led no newer epoch. X's appends are fenced by the epoch,
//!   so such a call can never be committed: **it must not be acknowledged, and it must
//!   not be applied** in the final state, whatever its client saw (a timeout
//!   included). A "prober" client keeps calling X for the whole round (the workload's
//!   clients move to whichever node acknowledges), so every deposing round sends X
//!   calls in that window.
//!
//! The default run makes 12 partitions (two of each kind); `SPACETIME_STRESS=1` makes
//! 54. Figures (partitions, acknowledged calls, lost, duplicated, failover after the
//! cut p50/p99) are printed. Skipped, with a message, where etcd or network
//! namespaces are unavailable.

use crate::replication_workload::{
    check, count_dropped, node_args, quantile, skip_without_etcd, spawn_clients, Api, Call, Outcome, Records, ACCOUNTS,
    DB, LEDGER, START,
};
use spacetime_testing::cli::Cli;
use spacetime_testing::etcd::{EtcdCluster, MemberHost};
use spacetime_testing::modules::{build_module, Bindings};
use spacetime_testing::netns::{self, Network};
use spacetime_testing::server::TestServer;
use spacetime_testing::wait;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Concurrent clients of the workload (the prober comes on top).
const CLIENTS: u32 = 3;
/// The prober's client number in the records.
const PROBER: u32 = 100;
/// Rounds in the default run and in the stress run.
const DEFAULT_ROUNDS: usize = 12;
const STRESS_ROUNDS: usize = 54;
/// How long a failover, a rejoin, or the cluster's reaction to a cut may take.
const DEADLINE: Duration = Duration::from_secs(40);
/// The port every node serves on, in its own namespace.
const PORT: u16 = 3000;
/// Calls the cluster must acknowledge during a cut that is not expected to depose the
/// leader before the cut is healed.
const ACKS_DURING_CUT: usize = 40;

/// How a round cuts the network. `L` is the leader's host, `S` the standby's, `E` the
/// host with only an etcd member, `C` the clients' (the test's own namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// L cut from S and E both ways; the clients still reach L. The leader's node
    /// keeps its own etcd member, which is now a minority: it must stop acknowledging
    /// and step down, and S takes over.
    LeaderMinorityReachable,
    /// L cut from every host and from the clients.
    LeaderIsolated,
    /// Nothing S or E sends reaches L; what L sends still arrives.
    LeaderDeaf,
    /// Nothing L sends reaches S or E; what they send still arrives.
    LeaderMute,
    /// Only L–S is cut: E still talks to both, so etcd keeps a quorum on either side
    /// of the cut; the leader may or may not be deposed.
    Bridge,
    /// S cut from L, E and the clients: the leader keeps its quorum (its member and
    /// E's) and must keep acknowledging; S catches up after healing.
    StandbyIsolated,
}

const KINDS: [Kind; 6] = [
    Kind::LeaderMinorityReachable,
    Kind::LeaderIsolated,
    Kind::LeaderDeaf,
    Kind::LeaderMute,
    Kind::Bridge,
    Kind::StandbyIsolated,
];

impl Kind {
    /// Cuts the links of this kind; `leader` and `standby` are hosts.
    fn cut(self, net: &Network, leader: u8, standby: u8) {
        const ETCD_ONLY: u8 = 3;
        const CLIENTS_HOST: u8 = 0;
        match self {
            Kind::LeaderMinorityReachable => net.isolate(leader, &[standby, ETCD_ONLY]),
            Kind::LeaderIsolated => net.isolate(leader, &[standby, ETCD_ONLY, CLIENTS_HOST]),
            Kind::LeaderDeaf => {
                net.cut_one_way(standby, leader);
                net.cut_one_way(ETCD_ONLY, leader);
            }
            Kind::LeaderMute => {
                net.cut_one_way(leader, standby);
                net.cut_one_way(leader, ETCD_ONLY);
            }
            Kind::Bridge => net.cut(leader, standby),
            Kind::StandbyIsolated => net.isolate(standby, &[leader, ETCD_ONLY, CLIENTS_HOST]),
        }
    }

    /// Whether the leader loses its etcd quorum, so it must be deposed.
    fn deposes(self) -> bool {
        matches!(
            self,
            Kind::LeaderMinorityReachable | Kind::LeaderIsolated | Kind::LeaderDeaf | Kind::LeaderMute
        )
    }
}

/// The epoch and the leading node's id, as etcd's quorum has them now (`None` if no
/// quorum member answers, or no leader key exists).
fn etcd_leader(etcd: &EtcdCluster) -> Option<(u64, String)> {
    let kvs = etcd.read_prefix("/stdb/v1/db/")?;
    let epoch = kvs
        .iter()
        .find(|(k, _)| k.ends_with("/epoch"))
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())?;
    let leader = kvs.iter().find(|(k, _)| k.ends_with("/leader"))?;
    let info: serde_json::Value = serde_json::from_slice(&leader.1).ok()?;
    Some((epoch, info.get("node")?.as_str()?.to_owned()))
}

/// One round that deposed a leader: the window in which it must acknowledge nothing.
#[derive(Debug)]
struct Deposed {
    round: usize,
    kind: Kind,
    /// The deposed node (index).
    node: usize,
    /// The epoch it led.
    epoch: u64,
    /// When the test first read a newer epoch in etcd.
    observed: Instant,
    /// When the test saw it follow again, with the epoch unchanged since `observed`.
    end: Instant,
}

/// The network, etcd on hosts 1–3, and nodes `n1`, `n2` on hosts 1 and 2 with the
/// ledger database published on `n1` and seeded.
struct Fixture {
    // Declared first, dropped first: the servers stop before etcd, both before the
    // network's namespaces are deleted.
    nodes: Vec<TestServer>,
    urls: Vec<String>,
    api: Api,
    etcd: EtcdCluster,
    _keys: tempfile::TempDir,
    net: Network,
}

impl Fixture {
    fn start() -> Option<Self> {
        if skip_without_etcd() {
            return None;
        }
        if let Some(why) = netns::unavailable() {
            eprintln!(
                "SKIPPED: network partitions need network namespaces (run as root with `ip` from iproute2): {why}"
            );
            return None;
        }
        let wasm = build_module(LEDGER, Bindings::Ours);
        let net = Network::new(3);
        let hosts: Vec<MemberHost> = (1..=3)
            .map(|h| MemberHost {
                ip: net.ip(h),
                netns: Some(net.namespace(h).to_owned()),
            })
            .collect();
        let etcd = EtcdCluster::start_on(&hosts);
        let keys = tempfile::tempdir().expect("a key directory");
        let endpoints = etcd.endpoints();
        let nodes: Vec<TestServer> = (1..=2u8)
            .map(|h| {
                let addr = format!("{}:{PORT}", net.ip(h));
                let args = node_args(&endpoints, &format!("n{h}"), &addr);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                TestServer::start_in_netns(net.namespace(h), &addr, keys.path(), &args)
            })
            .collect();
        let urls: Vec<String> = nodes.iter().map(TestServer::url).collect();
        let cli = Cli::new(&nodes[0]);
        cli.publish(&wasm, Some(DB));
        cli.call(DB, "seed", &[&ACCOUNTS.to_string(), &START.to_string()]).ok();
        let api = Api::new(
            cli.token().expect("the CLI logged in to publish"),
            Duration::from_secs(5),
        );
        let fx = Self {
            nodes,
            urls,
            api,
            etcd,
            _keys: keys,
            net,
        };
        fx.settled();
        Some(fx)
    }

    /// Both nodes' output, for failure messages.
    fn outputs(&self) -> String {
        format!("n1:\n{}\nn2:\n{}", self.nodes[0].output(), self.nodes[1].output())
    }

    /// Waits until one node leads (answers SQL) and the other follows it; the leader.
    fn settled(&self) -> usize {
        wait::poll(
            "one node to lead and the other to follow",
            DEADLINE,
            || {
                let leader = (0..2).find(|&i| {
                    self.api
                        .sql(&self.urls[i], "SELECT id FROM account WHERE id = 0")
                        .is_some()
                })?;
                self.api.is_standby(&self.urls[1 - leader]).then_some(leader)
            },
            || self.outputs(),
        )
    }
}

/// Calls node `node` at `url` as client [`PROBER`] until `stop`, recording each call.
fn spawn_prober(
    api: &Api,
    url: String,
    node: usize,
    first_seq: u32,
    records: &Arc<Mutex<Records>>,
    stop: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<u32> {
    let (api, records, stop) = (api.clone(), records.clone(), stop.clone());
    std::thread::spawn(move || {
        let mut seq = first_seq;
        while !stop.load(Ordering::Relaxed) {
            let sent = Instant::now();
            let outcome = api.call(&url, PROBER, seq);
            records.lock().expect("records").record(Call {
                key: (PROBER, seq),
                node,
                sent,
                answered: Instant::now(),
                outcome,
            });
            seq += 1;
            // One call at a time, paced like the clients' backoff.
            std::thread::sleep(Duration::from_millis(20));
        }
        seq
    })
}

#[test]
fn partitions_lose_nothing_and_a_deposed_leader_acknowledges_nothing() {
    let Some(fx) = Fixture::start() else {
        return;
    };
    let stress = std::env::var("SPACETIME_STRESS").is_ok_and(|v| v == "1");
    let rounds = if stress { STRESS_ROUNDS } else { DEFAULT_ROUNDS };
    let (api, urls) = (fx.api.clone(), fx.urls.clone());
    let records = Arc::new(Mutex::new(Records::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let quiet = Arc::new(RwLock::new(()));
    let clients = spawn_clients(CLIENTS, &api, &urls, &records, &stop, &quiet);

    let started = Instant::now();
    let mut failovers: Vec<Duration> = Vec::new();
    let mut deposed: Vec<Deposed> = Vec::new();
    let mut undeposed = 0usize;
    let mut prober_seq = 0u32;
    for round in 1..=rounds {
        let kind = KINDS[(round - 1) % KINDS.len()];
        let leader = fx.settled();
        check(&api, &urls[leader], &records, &quiet, round);
        let standby = 1 - leader;
        let (leader_host, standby_host) = (leader as u8 + 1, standby as u8 + 1);
        let (epoch, node) = wait::poll(
            "etcd to name the leader",
            DEADLINE,
            || etcd_leader(&fx.etcd),
            || fx.outputs(),
        );
        assert_eq!(
            node,
            format!("n{leader_host}"),
            "round {round}: etcd and the nodes disagree"
        );
        let prober_stop = Arc::new(AtomicBool::new(false));
        let prober = spawn_prober(&api, urls[leader].clone(), leader, prober_seq, &records, &prober_stop);
        let acks_before = records.lock().expect("records").acks.len();
        let cut_at = Instant::now();
        kind.cut(&fx.net, leader_host, standby_host);
        // Hold the cut until the cluster has reacted: a new epoch with the standby
        // leading (then until it acknowledged a call, the old leader stepped down,
        // and the prober had an answer to a call sent after the new epoch was seen),
        // or, for a cut that need not depose, enough acknowledged calls.
        let mut observed: Option<(Instant, u64)> = None;
        let reacted = wait::poll(
            &format!("the cluster to react to a {kind:?} cut in round {round}"),
            DEADLINE,
            || {
                if observed.is_none() {
                    if let Some((e, n)) = etcd_leader(&fx.etcd) {
                        if e > epoch && n == format!("n{standby_host}") {
                            observed = Some((Instant::now(), e));
                        }
                    }
                }
                let r = records.lock().expect("records");
                match observed {
                    Some((seen, _)) => {
                        let acked_by_new = r.acks.iter().find(|(at, n)| *at > cut_at && *n == standby)?;
                        let probed = r.calls.iter().any(|c| c.key.0 == PROBER && c.sent >= seen);
                        let stepped_down = fx.nodes[leader]
                            .output()
                            .contains(&format!("steps down as leader of epoch {epoch}"));
                        (probed && stepped_down).then_some(Some(acked_by_new.0 - cut_at))
                    }
                    None if !kind.deposes() => (r.acks.len() >= acks_before + ACKS_DURING_CUT).then_some(None),
                    None => None,
                }
            },
            || format!("cuts {:?}\n{}", fx.net.cuts(), fx.outputs()),
        );
        fx.net.heal_all();
        let new_leader = fx.settled();
        prober_stop.store(true, Ordering::Relaxed);
        prober_seq = prober.join().expect("the prober");
        match (reacted, observed) {
            (Some(took), Some((seen, new_epoch))) => {
                failovers.push(took);
                // The window ends when the deposed node is seen following, with no
                // election since the one observed.
                let end = Instant::now();
                let (epoch_now, _) = wait::poll("etcd to answer", DEADLINE, || etcd_leader(&fx.etcd), || fx.outputs());
                if epoch_now == new_epoch && new_leader == standby {
                    deposed.push(Deposed {
                        round,
                        kind,
                        node: leader,
                        epoch,
                        observed: seen,
                        end,
                    });
                }
            }
            _ => {
                assert!(!kind.deposes(), "round {round}: a {kind:?} cut must depose the leader");
                undeposed += 1;
            }
        }
        let held = check(&api, &urls[new_leader], &records, &quiet, round);
        check_deposed(&records, &deposed, &held);
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("a client thread");
    }
    let leader = fx.settled();
    let held = check(&api, &urls[leader], &records, &quiet, rounds + 1);
    let probed = check_deposed(&records, &deposed, &held);
    let cut: usize = fx.nodes.iter().map(|n| count_dropped(&n.data_dir())).sum();
    failovers.sort_unstable();
    let r = records.lock().expect("records");
    eprintln!(
        "replication partitions: {rounds} partitions in {:.1} s ({} deposed the leader and were checked for \
         acknowledgements after the new epoch, {undeposed} did not depose it); {} calls acknowledged, {} unknown, \
         {} refused; {} applied, 0 lost, 0 duplicated, total constant; {probed} calls sent to a deposed leader \
         after the new epoch: 0 acknowledged, 0 applied; failover (cut to first acknowledged call on the new \
         leader) p50 {} ms, p99 {} ms, max {} ms; {cut} uncommitted tail(s) cut on rejoin",
        started.elapsed().as_secs_f64(),
        deposed.len(),
        r.count(Outcome::Acked),
        r.count(Outcome::Unknown),
        r.count(Outcome::Standby),
        held.len(),
        quantile(&failovers, 0.5),
        quantile(&failovers, 0.99),
        quantile(&failovers, 1.0),
    );
    assert!(
        deposed.len() >= rounds / 2,
        "only {} of {rounds} rounds deposed a leader: {deposed:?}",
        deposed.len()
    );
    assert!(
        probed > 0,
        "no call reached a deposed leader: the check checked nothing"
    );
}

/// The check of the module's comment: no call sent to a deposed node inside its
/// window is acknowledged or applied (`held` is what the leader holds). Returns how
/// many calls fell inside a window.
fn check_deposed(records: &Mutex<Records>, deposed: &[Deposed], held: &BTreeSet<(u32, u32)>) -> usize {
    let r = records.lock().expect("records");
    let mut inside = 0;
    for d in deposed {
        for call in r
            .calls
            .iter()
            .filter(|c| c.node == d.node && c.sent >= d.observed && c.sent < d.end)
        {
            inside += 1;
            assert_ne!(
                call.outcome,
                Outcome::Acked,
                "round {} ({:?}): node n{} acknowledged call {:?} sent {:?} after the test saw epoch {} end",
                d.round,
                d.kind,
                d.node + 1,
                call.key,
                call.sent - d.observed,
                d.epoch
            );
            assert!(
                !held.contains(&call.key),
                "round {} ({:?}): call {:?} sent to the deposed node n{} {:?} after epoch {} ended was applied",
                d.round,
                d.kind,
                call.key,
                d.node + 1,
                call.sent - d.observed,
                d.epoch
            );
        }
    }
    inside
}
