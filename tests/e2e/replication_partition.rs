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
//!   node, and `T_end` is the moment before the cut is healed. While the cut keeps X
//!   from etcd's quorum (every kind but `Bridge`), X cannot win a newer epoch, so it
//!   leads none in `[T_obs, T_end)`; after a `Bridge` cut the round counts only if
//!   etcd still named the observed epoch and leader just before the heal.
//! - A call sent to X at or after `T_obs` and answered by X before `T_end` reached X
//!   after the epoch moved past E and was handled while X led no newer epoch. X's
//!   appends are fenced by the epoch, so such a call can never be committed: **it
//!   must not be acknowledged, and it must not be applied** in the final state,
//!   whatever X answered. A call without an answer by `T_end` (a timeout) is left
//!   out: its bytes may still reach X after the heal (TCP retransmits them, a proxy
//!   delivers what it held), when X may have won a newer epoch.
//! - A "prober" client keeps calling X for the whole round (the workload's clients
//!   move to whichever node acknowledges), and a deposing round is held until X
//!   answered the prober a call sent after `T_obs` (for `LeaderIsolated`, where the
//!   clients cannot reach X, until such a call timed out), so every round in which
//!   the clients reach X checks calls inside its window.
//!
//! A second test makes the same rounds through TCP proxies (`spacetime_testing::proxy`)
//! on each node's link to each etcd member and on the clients' link to each node, for
//! machines without namespaces (etcd's peer links are not proxied, so there a "minority"
//! is the leader's node cut from every member). Every probe of who leads is bracketed
//! by two etcd reads: a node that answers SQL while etcd names the other node both
//! before and after served a read without the lease, which fails the test, as does
//! the named leader answering as anything but the leader of etcd's epoch (each answer
//! names its node, role and epoch in a `spacetime-served-by` header).
//!
//! The default run makes 12 partitions in namespaces (two of each kind) and 6 through
//! proxies (12 where namespaces are unavailable); `SPACETIME_STRESS=1` makes 54 each.
//! Figures (partitions, acknowledged calls, lost, duplicated, failover after the cut
//! p50/p99) are printed. Skipped, with a message, where etcd is not installed; the
//! namespace test also where namespaces cannot be made.

use crate::pg_wire;
use crate::replication_workload::{
    count_dropped, free_addr, node_args, quantile, skip_without_etcd, spawn_clients, try_check, Api, Call, Outcome,
    Records, ACCOUNTS, DB, LEDGER, START,
};
use spacetime_testing::cli::Cli;
use spacetime_testing::etcd::{EtcdCluster, MemberHost};
use spacetime_testing::modules::{build_module, Bindings};
use spacetime_testing::netns::{self, Network};
use spacetime_testing::proxy::{Proxy, Way};
use spacetime_testing::server::TestServer;
use spacetime_testing::wait;
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Concurrent clients of the workload (the prober comes on top).
const CLIENTS: u32 = 3;
/// The prober's client number in the records.
const PROBER: u32 = 100;
/// Rounds in the default run (two of each kind).
const DEFAULT_ROUNDS: usize = 12;
/// Rounds with `SPACETIME_STRESS=1` (the bar is 50).
const STRESS_ROUNDS: usize = 54;
/// How long a failover, a rejoin, or the cluster's reaction to a cut may take.
const DEADLINE: Duration = Duration::from_secs(40);
/// The run's overall deadline per round (a round takes about 15 s on a quiet
/// machine): a run that overruns it fails rather than hanging.
const PER_ROUND_BUDGET: Duration = Duration::from_secs(60);
/// The port every node serves on, in its own namespace.
const PORT: u16 = 3000;
/// How long a cut that need not depose the leader lasts.
const NON_DEPOSING_HOLD: Duration = Duration::from_secs(6);

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
    /// Cuts the links of this kind; `leader` and `standby` are node indexes.
    fn cut(self, links: &Links, leader: usize, standby: usize) {
        match links {
            Links::Namespaces(net) => self.cut_hosts(net, leader as u8 + 1, standby as u8 + 1),
            Links::Proxies(proxies) => self.cut_proxies(proxies, leader, standby),
        }
    }

    /// In namespaces: `leader` and `standby` are hosts.
    fn cut_hosts(self, net: &Network, leader: u8, standby: u8) {
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

    /// Through proxies, which sit on each node's link to each etcd member and on the
    /// clients' link to each node (etcd's own peer links are not proxied: a member's
    /// peers share one URL for it, so a proxy could not tell them apart). The leader's
    /// node cut from every member stands for its host cut from the others; `Bridge`
    /// cuts only the leader's link to the standby's member.
    fn cut_proxies(self, proxies: &Proxies, leader: usize, standby: usize) {
        let to_etcd = |node: usize, cut: &dyn Fn(&Proxy)| proxies.to_etcd[node].iter().for_each(cut);
        match self {
            Kind::LeaderMinorityReachable => to_etcd(leader, &Proxy::cut_both),
            Kind::LeaderIsolated => {
                to_etcd(leader, &Proxy::cut_both);
                proxies.to_node[leader].cut_both();
            }
            Kind::LeaderDeaf => to_etcd(leader, &|p| p.cut(Way::FromPeer)),
            Kind::LeaderMute => to_etcd(leader, &|p| p.cut(Way::ToPeer)),
            Kind::Bridge => proxies.to_etcd[leader][standby].cut_both(),
            Kind::StandbyIsolated => {
                to_etcd(standby, &Proxy::cut_both);
                proxies.to_node[standby].cut_both();
            }
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
    /// Just before the heal: until then it could not win a newer epoch.
    end: Instant,
}

/// Where the test cuts: namespaces (hosts 1–3 hold etcd's members, hosts 1 and 2 the
/// nodes, host 0 is the clients'), or proxies on the links of processes in the test's
/// own namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Namespaces,
    Proxies,
}

/// The links a test can cut.
enum Links {
    Namespaces(Network),
    Proxies(Proxies),
}

/// The proxied links of [`Mode::Proxies`].
struct Proxies {
    /// `to_etcd[node][member]`: the node's link to an etcd member.
    to_etcd: Vec<Vec<Proxy>>,
    /// The clients' link to each node.
    to_node: Vec<Proxy>,
}

impl Links {
    fn heal_all(&self) {
        match self {
            Links::Namespaces(net) => net.heal_all(),
            Links::Proxies(p) => p.to_etcd.iter().flatten().chain(&p.to_node).for_each(Proxy::heal),
        }
    }

    /// What is cut, for failure messages.
    fn cuts(&self) -> String {
        match self {
            Links::Namespaces(net) => format!("directed host cuts {:?}", net.cuts()),
            Links::Proxies(p) => {
                let etcd: Vec<String> = (0..p.to_etcd.len())
                    .flat_map(|n| (0..p.to_etcd[n].len()).map(move |m| (n, m)))
                    .filter(|(n, m)| p.to_etcd[*n][*m].is_cut())
                    .map(|(n, m)| format!("n{}-m{}", n + 1, m + 1))
                    .collect();
                let clients: Vec<String> = (0..p.to_node.len())
                    .filter(|n| p.to_node[*n].is_cut())
                    .map(|n| format!("clients-n{}", n + 1))
                    .collect();
                format!("proxied links cut: {etcd:?} {clients:?}")
            }
        }
    }
}

/// etcd's three members and nodes `n1`, `n2`, in namespaces or behind proxies (see
/// [`Mode`]), with the ledger database published on `n1` and seeded.
struct Fixture {
    // Declared first, dropped first: the servers stop before etcd, both before the
    // network's namespaces are deleted.
    nodes: Vec<TestServer>,
    urls: Vec<String>,
    api: Api,
    etcd: EtcdCluster,
    _keys: tempfile::TempDir,
    /// Every time a node answered SQL while etcd named the other node as leader both
    /// before and after (a read served without the lease): what and when.
    non_leader_reads: Mutex<Vec<String>>,
    /// How many SQL answers were bracketed by two etcd reads naming the same leader
    /// and epoch (and so checked).
    bracketed_reads: AtomicUsize,
    net: Links,
}

impl Fixture {
    fn start(mode: Mode) -> Option<Self> {
        if skip_without_etcd() {
            return None;
        }
        let (etcd, keys, nodes, urls, net) = match mode {
            Mode::Namespaces => {
                if let Some(why) = netns::unavailable() {
                    eprintln!(
                        "SKIPPED: network partitions in namespaces need root and `ip` from iproute2 ({why}); the \
                         proxy variant runs instead"
                    );
                    return None;
                }
                Self::in_namespaces()
            }
            Mode::Proxies => Self::behind_proxies(),
        };
        let wasm = build_module(LEDGER, Bindings::Ours);
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
            non_leader_reads: Mutex::new(Vec::new()),
            bracketed_reads: AtomicUsize::new(0),
            net,
        };
        fx.settled();
        Some(fx)
    }

    /// etcd and the nodes in namespaces; the clients reach the nodes directly.
    fn in_namespaces() -> (EtcdCluster, tempfile::TempDir, Vec<TestServer>, Vec<String>, Links) {
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
        let urls = nodes.iter().map(TestServer::url).collect();
        (etcd, keys, nodes, urls, Links::Namespaces(net))
    }

    /// etcd and the nodes on loopback; each node reaches each member, and the clients
    /// each node, through a proxy of its own.
    fn behind_proxies() -> (EtcdCluster, tempfile::TempDir, Vec<TestServer>, Vec<String>, Links) {
        let etcd = EtcdCluster::start();
        let members: Vec<SocketAddr> = etcd
            .client_urls()
            .iter()
            .map(|u| u.trim_start_matches("http://").parse().expect("a member's address"))
            .collect();
        let keys = tempfile::tempdir().expect("a key directory");
        let to_etcd: Vec<Vec<Proxy>> = (0..2)
            .map(|_| members.iter().map(|m| Proxy::start(Ipv4Addr::LOCALHOST, *m)).collect())
            .collect();
        let nodes: Vec<TestServer> = (0..2)
            .map(|i| {
                let addr = TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("a free port")
                    .to_string();
                let endpoints: Vec<String> = to_etcd[i].iter().map(|p| format!("http://{}", p.addr())).collect();
                let args = node_args(&endpoints.join(","), &format!("n{}", i + 1), &addr);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                TestServer::start_sharing_keys(&addr, keys.path(), &args)
            })
            .collect();
        let to_node: Vec<Proxy> = nodes
            .iter()
            .map(|n| {
                let addr = n.url().trim_start_matches("http://").parse().expect("a node's address");
                Proxy::start(Ipv4Addr::LOCALHOST, addr)
            })
            .collect();
        let urls = to_node.iter().map(|p| format!("http://{}", p.addr())).collect();
        (etcd, keys, nodes, urls, Links::Proxies(Proxies { to_etcd, to_node }))
    }

    /// Asks the node at `url` for a row, not following a redirect: `Some` with the
    /// role it says it served as (its `spacetime-served-by` header: `<node> leader
    /// epoch=<e>`) if it answered, `None` if it did not (a redirect, a 503, no answer).
    fn probe_read(&self, url: &str) -> Option<String> {
        let response = self
            .api
            .http
            .post(format!("{url}/v1/database/{DB}/sql"))
            .bearer_auth(&self.api.token)
            .body("SELECT id FROM account WHERE id = 0")
            .send()
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let served_by = response
            .headers()
            .get("spacetime-served-by")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no spacetime-served-by header")
            .to_owned();
        // A whole answer, with its row: not one cut short by the partition.
        let json: serde_json::Value = serde_json::from_str(&response.text().ok()?).ok()?;
        json.get(0)?.get("rows")?.as_array()?;
        Some(served_by)
    }

    /// Both nodes' output, for failure messages.
    fn outputs(&self) -> String {
        format!("n1:\n{}\nn2:\n{}", self.nodes[0].output(), self.nodes[1].output())
    }

    /// Waits until etcd names a leader, the same before and after the probe, that
    /// node answers SQL and the other answers as its standby (307); the leader. A node
    /// that answers SQL while etcd names the other node both before and after served a
    /// read without holding the lease, and the named node answering as anything but
    /// the leader of etcd's epoch (its `spacetime-served-by` header) is as wrong: each
    /// is recorded in `non_leader_reads`.
    fn settled(&self) -> usize {
        wait::poll(
            "one node to lead and the other to follow",
            DEADLINE,
            || {
                let before = etcd_leader(&self.etcd)?;
                let probes: Vec<Option<String>> = self.urls.iter().map(|url| self.probe_read(url)).collect();
                let after = etcd_leader(&self.etcd)?;
                if before != after {
                    return None;
                }
                let named = (before.1.strip_prefix('n')?.parse::<usize>().ok()?)
                    .checked_sub(1)
                    .filter(|i| *i < self.urls.len())?;
                // The leader etcd names answers as the leader of that epoch; the other
                // node answers nothing.
                let as_leader = format!("{} leader epoch={}", before.1, before.0);
                for (i, served_as) in probes.iter().enumerate() {
                    let Some(served_as) = served_as else { continue };
                    self.bracketed_reads.fetch_add(1, Ordering::Relaxed);
                    if i == named && *served_as == as_leader {
                        continue;
                    }
                    self.non_leader_reads.lock().expect("reads").push(format!(
                        "n{} answered SQL (served as {served_as:?}) while etcd named {} in epoch {} (before and \
                         after), at {} UTC",
                        i + 1,
                        before.1,
                        before.0,
                        utc_now()
                    ));
                }
                (probes[named].is_some() && self.api.is_standby(&self.urls[1 - named])).then_some(named)
            },
            || self.outputs(),
        )
    }
}

impl Fixture {
    /// Finds the leader and checks its state against `records` (see
    /// [`crate::replication_workload::check`]); if it stopped leading in between (an etcd
    /// election after a heal can cost a lease), finds the leader again. The leader and
    /// the calls it holds.
    ///
    /// If the check fails, both nodes are restarted from their local logs and it runs
    /// once more, to say whether what was missing is in the logs (the running state
    /// lacked it) or not; then the first failure goes on.
    fn checked(&mut self, records: &Mutex<Records>, quiet: &RwLock<()>, round: usize) -> (usize, BTreeSet<(u32, u32)>) {
        let failure = match std::panic::catch_unwind(AssertUnwindSafe(|| self.checked_once(records, quiet, round))) {
            Ok(checked) => return checked,
            Err(failure) => failure,
        };
        eprintln!("replication partitions: the check failed; both nodes restart from their local logs");
        for node in &mut self.nodes {
            node.restart();
        }
        let again = std::panic::catch_unwind(AssertUnwindSafe(|| self.checked_once(records, quiet, round)));
        eprintln!(
            "replication partitions: after both nodes restarted, the check {}",
            if again.is_ok() {
                "passes: what was missing is in the logs (the running leader's state lacked it)"
            } else {
                "fails again: what was missing is not in the logs"
            }
        );
        std::panic::resume_unwind(failure)
    }

    fn checked_once(
        &self,
        records: &Mutex<Records>,
        quiet: &RwLock<()>,
        round: usize,
    ) -> (usize, BTreeSet<(u32, u32)>) {
        wait::poll(
            &format!("round {round}: a leader that answers the check"),
            DEADLINE,
            || {
                let leader = self.settled();
                Some((leader, try_check(&self.api, &self.urls[leader], records, quiet, round)?))
            },
            || self.outputs(),
        )
    }
}

impl Drop for Fixture {
    /// A failed check names calls; what the nodes logged says why.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the nodes' output:\n{}", self.outputs());
        }
    }
}

/// The time of day in UTC, `HH:MM:SS.mmm`, to find a moment in the nodes' logs.
fn utc_now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let day_ms = ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
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
            let (outcome, status) = api.call_status(&url, PROBER, seq);
            records.lock().expect("records").record(Call {
                key: (PROBER, seq),
                node,
                sent,
                answered: Instant::now(),
                outcome,
                status,
            });
            seq += 1;
            // One call at a time, paced like the clients' backoff.
            std::thread::sleep(Duration::from_millis(20));
        }
        seq
    })
}

/// Hard partitions between hosts (network namespaces).
#[test]
fn partitions_in_network_namespaces() {
    partitions_lose_nothing_and_a_deposed_leader_acknowledges_nothing(Mode::Namespaces);
}

/// The same through proxies on the nodes' links to etcd and the clients' links to
/// the nodes, which also works without root; one round of each kind where namespaces
/// are available (the namespace test carries the default run's partitions), else
/// the full count.
#[test]
fn partitions_through_tcp_proxies() {
    partitions_lose_nothing_and_a_deposed_leader_acknowledges_nothing(Mode::Proxies);
}

fn partitions_lose_nothing_and_a_deposed_leader_acknowledges_nothing(mode: Mode) {
    let Some(mut fx) = Fixture::start(mode) else {
        return;
    };
    let stress = std::env::var("SPACETIME_STRESS").is_ok_and(|v| v == "1");
    let rounds = match (stress, mode) {
        (true, _) => STRESS_ROUNDS,
        (false, Mode::Proxies) if netns::unavailable().is_none() => KINDS.len(),
        (false, _) => DEFAULT_ROUNDS,
    };
    // `SPACETIME_PARTITION_KINDS=Bridge,StandbyIsolated` repeats only those kinds (to
    // reproduce a failure).
    let kinds: Vec<Kind> = match std::env::var("SPACETIME_PARTITION_KINDS") {
        Ok(names) => names
            .split(',')
            .map(|name| {
                *KINDS
                    .iter()
                    .find(|k| format!("{k:?}") == name.trim())
                    .unwrap_or_else(|| panic!("SPACETIME_PARTITION_KINDS: no kind {name:?}; the kinds: {KINDS:?}"))
            })
            .collect(),
        Err(_) => KINDS.to_vec(),
    };
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
    let watchdog = wait::Watchdog::start("the partition rounds", PER_ROUND_BUDGET * rounds as u32);
    for round in 1..=rounds {
        watchdog.check(|| format!("{} of {rounds} rounds done", round - 1));
        let kind = kinds[(round - 1) % kinds.len()];
        fx.checked(&records, &quiet, round);
        // The leader as the nodes and etcd agree on it (a heal can still move it).
        let (leader, epoch) = wait::poll(
            "the nodes and etcd to agree on the leader",
            DEADLINE,
            || {
                let leader = fx.settled();
                let (epoch, node) = etcd_leader(&fx.etcd)?;
                (node == format!("n{}", leader + 1)).then_some((leader, epoch))
            },
            || fx.outputs(),
        );
        let standby = 1 - leader;
        // The nodes' numbers (`n1`, `n2`).
        let (leader_no, standby_no) = (leader + 1, standby + 1);
        let prober_stop = Arc::new(AtomicBool::new(false));
        let prober = spawn_prober(&api, urls[leader].clone(), leader, prober_seq, &records, &prober_stop);
        let acks_before = records.lock().expect("records").acks.len();
        let cut_at = Instant::now();
        kind.cut(&fx.net, leader, standby);
        // The first time etcd's quorum is seen naming the standby in a newer epoch.
        let mut observed: Option<(Instant, u64)> = None;
        let mut observe = || {
            if observed.is_none() {
                if let Some((e, n)) = etcd_leader(&fx.etcd) {
                    if e > epoch && n == format!("n{standby_no}") {
                        observed = Some((Instant::now(), e));
                    }
                }
            }
            observed
        };
        if kind.deposes() {
            // Held until the cluster has reacted: a new epoch with the standby
            // leading, a call it acknowledged, the old leader's step-down, and an
            // answer to a call the prober sent it after the new epoch was seen.
            wait::poll(
                &format!("the cluster to react to a {kind:?} cut in round {round}"),
                DEADLINE,
                || {
                    let (seen, _) = observe()?;
                    let r = records.lock().expect("records");
                    let acked_by_new = r.acks.iter().any(|(at, n)| *at > cut_at && *n == standby);
                    // Answered by the deposed leader, unless the cut keeps the clients
                    // from it too.
                    let probed = r.calls.iter().any(|c| {
                        c.key.0 == PROBER && c.sent >= seen && (c.status.is_some() || kind == Kind::LeaderIsolated)
                    });
                    let stepped_down = fx.nodes[leader]
                        .output()
                        .contains(&format!("steps down as leader of epoch {epoch}"));
                    (acked_by_new && probed && stepped_down).then_some(())
                },
                || format!("{}\n{}", fx.net.cuts(), fx.outputs()),
            );
        } else {
            // Nothing has to happen: the fault lasts a fixed time (it is the fault,
            // not a wait for an event), noting a failover if there is one.
            wait::until(NON_DEPOSING_HOLD, || observe().and(None::<()>));
        }
        let acks_during = records.lock().expect("records").acks.len() - acks_before;
        // The deposed leader's window closes here: while cut off from etcd's quorum
        // it cannot win a newer epoch; after the heal it may.
        let at_heal = (Instant::now(), etcd_leader(&fx.etcd));
        fx.net.heal_all();
        fx.settled();
        prober_stop.store(true, Ordering::Relaxed);
        prober_seq = prober.join().expect("the prober");
        eprintln!(
            "replication partitions: round {round} ({kind:?}, leader n{leader_no}): {acks_during} calls \
             acknowledged during the cut; {}",
            match observed {
                Some((seen, e)) => format!(
                    "epoch {e} (n{standby_no}) seen {} ms after the cut",
                    (seen - cut_at).as_millis()
                ),
                None => "the leader kept its epoch".to_owned(),
            }
        );
        match observed {
            Some((seen, new_epoch)) => {
                let r = records.lock().expect("records");
                if let Some((at, _)) = r.acks.iter().find(|(at, n)| *at > cut_at && *n == standby) {
                    failovers.push(*at - cut_at);
                }
                drop(r);
                // A cut that keeps the old leader from etcd's quorum keeps it from
                // any newer epoch until the heal; after another cut, only if etcd
                // still named the observed epoch's leader just before the heal.
                let (end, at_heal) = at_heal;
                if kind.deposes() || at_heal == Some((new_epoch, format!("n{standby_no}"))) {
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
            None => undeposed += 1,
        }
        let held = fx.checked(&records, &quiet, round).1;
        check_deposed(&records, &deposed, &held);
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("a client thread");
    }
    let held = fx.checked(&records, &quiet, rounds + 1).1;
    let probed = check_deposed(&records, &deposed, &held);
    let cut: usize = fx.nodes.iter().map(|n| count_dropped(&n.data_dir())).sum();
    failovers.sort_unstable();
    let r = records.lock().expect("records");
    eprintln!(
        "replication partitions ({mode:?}): {rounds} partitions in {:.1} s ({} deposed the leader and were checked for \
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
    let deposing = (1..=rounds).filter(|r| kinds[(r - 1) % kinds.len()].deposes()).count();
    assert!(
        deposed.iter().filter(|d| d.kind.deposes()).count() == deposing,
        "{deposing} rounds must depose the leader: {deposed:?}"
    );
    let non_leader_reads = fx.non_leader_reads.lock().expect("reads").clone();
    eprintln!(
        "replication partitions ({mode:?}): {} SQL answers bracketed by two etcd reads naming the same leader and \
         epoch; {} of them not given by that leader as the leader of that epoch",
        fx.bracketed_reads.load(Ordering::Relaxed),
        non_leader_reads.len()
    );
    assert!(
        non_leader_reads.is_empty(),
        "a node served SQL without leading (stale reads are possible): {non_leader_reads:#?}"
    );
    assert!(
        deposing == 0 || probed > 0,
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
            .filter(|c| c.node == d.node && c.status.is_some() && c.sent >= d.observed && c.answered < d.end)
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

/// The read paths outside the partition rounds, on a quiet cluster: the leader's SQL
/// answer names it as the leader of etcd's epoch (`spacetime-served-by`), and the
/// standby answers no read on any path. Its hot standby runs a current copy and, with
/// no lease entry, used to be let in by every route the redirect middleware does not
/// guard: PostgreSQL wire queries were answered from it, and an HTTP request the
/// middleware let through while nothing ran here reached it once it started.
#[test]
fn only_the_leader_of_etcds_epoch_answers_reads() {
    if skip_without_etcd() {
        return;
    }
    let etcd = EtcdCluster::start();
    let keys = tempfile::tempdir().expect("a key directory");
    let pg_ports = [pg_wire::free_port(), pg_wire::free_port()];
    let nodes: Vec<TestServer> = (0..2)
        .map(|i| {
            let addr = free_addr();
            let mut args = node_args(&etcd.endpoints(), &format!("n{}", i + 1), &addr);
            args.extend(["--pg-port".to_owned(), pg_ports[i].to_string()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            TestServer::start_sharing_keys(&addr, keys.path(), &args)
        })
        .collect();
    let urls: Vec<String> = nodes.iter().map(TestServer::url).collect();
    let outputs = || format!("n1:\n{}\nn2:\n{}", nodes[0].output(), nodes[1].output());
    let cli = Cli::new(&nodes[0]);
    cli.publish(&build_module(LEDGER, Bindings::Ours), Some(DB));
    cli.call(DB, "seed", &[&ACCOUNTS.to_string(), &START.to_string()]).ok();
    let token = cli.token().expect("the CLI logged in to publish");
    let api = Api::new(token.clone(), Duration::from_secs(5));
    wait::poll(
        "n2 to follow the database as a standby",
        DEADLINE,
        || api.is_standby(&urls[1]).then_some(()),
        outputs,
    );
    let (epoch, leader) = etcd_leader(&etcd).expect("etcd names the leader");
    assert_eq!(leader, "n1", "{}", outputs());

    // The leader's answer says who gave it, in which role and epoch.
    let response = api
        .http
        .post(format!("{}/v1/database/{DB}/sql", urls[0]))
        .bearer_auth(&token)
        .body("SELECT id FROM account WHERE id = 0")
        .send()
        .expect("the leader answers");
    assert_eq!(response.status().as_u16(), 200);
    let served_by = response.headers().get("spacetime-served-by").cloned();
    assert_eq!(
        served_by.as_ref().and_then(|v| v.to_str().ok()),
        Some(format!("n1 leader epoch={epoch}").as_str())
    );

    // PostgreSQL wire: the leader answers, the standby refuses, saying why.
    let query = ["SELECT balance FROM account WHERE id = 0"];
    let out = pg_wire::psql(pg_ports[0], DB, &token, &query);
    assert!(out.status.success(), "{}", pg_wire::text(&out));
    let out = pg_wire::psql(pg_ports[1], DB, &token, &query);
    let printed = pg_wire::text(&out);
    assert!(!out.status.success(), "the standby answered a read: {printed}");
    assert!(printed.contains("(n2) does not lead it now"), "{printed}");
}
