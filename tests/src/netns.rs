//! Network partitions for tests of cluster mode (design §11): each host of a test
//! cluster is a Linux network namespace of its own, every pair of hosts (and the
//! test's own namespace, host 0, where the clients run) is joined by a veth link of
//! its own, and a partition is made by cutting links.
//!
//! Every namespace has one address, `10.a.b.<host>/32`, put on each of its link ends,
//! with one host route per peer through the link to that peer (no default route, no
//! forwarding), so a packet between two hosts can only take their own link. The test's
//! namespace is `10.a.b.254`. `a.b` is chosen per network so that parallel or leftover
//! runs do not collide, and the names carry the test process's id, so a namespace a
//! killed run left behind is removed by the next run.
//!
//! A cut drops packets silently, as a real partition does (no error, no reset: TCP
//! connections stall, new ones time out): the sending side's neighbour entry for the
//! peer is replaced by a permanent one with a MAC address nobody has, so frames leave
//! but the peer's stack discards them. That needs only `ip` (there is no `iptables`
//! here, and `tc` has no classifiers or `netem` in this kernel), and it cuts one
//! direction at a time: [`Network::cut_one_way`] gives asymmetric partitions,
//! [`Network::cut`] both directions. Healing deletes the entry; the kernel resolves
//! the peer again.
//!
//! Dropping the [`Network`] deletes its namespaces (which destroys their links). Stop
//! the processes running in them first.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// The prefix of every namespace this module creates: `<prefix><pid>-<run>-<host>`.
const PREFIX: &str = "stdbnet-";

/// A MAC address no interface has (locally administered): frames sent to it are
/// dropped by the peer, which is what a cut is.
const NOWHERE_MAC: &str = "02:00:00:00:00:00";

/// The last octet of the test's own address (host 0).
const OUTSIDE_OCTET: u8 = 254;

/// Networks created by this process so far, to name each uniquely.
static RUNS: AtomicU32 = AtomicU32::new(0);

/// Why network namespaces cannot be used here (not root, no `ip`, a kernel or
/// container that refuses them), or `None` if they can: the probe creates and deletes
/// a namespace.
pub fn unavailable() -> Option<String> {
    let probe = format!("{PREFIX}probe-{}", std::process::id());
    match ip(&["netns", "add", &probe]) {
        Ok(()) => {
            let _ = ip(&["netns", "del", &probe]);
            None
        }
        Err(why) => Some(why),
    }
}

/// Runs `ip args…`; the error says what was run and what it printed.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip {}`: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs `ip args…`, panicking with its error.
#[track_caller]
fn must(args: &[&str]) {
    if let Err(why) = ip(args) {
        panic!("{why}");
    }
}

/// Deletes the namespaces left by test processes that no longer run.
fn remove_leftovers() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name.strip_prefix(PREFIX).and_then(|rest| rest.split('-').next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// Namespaces and links for `hosts` hosts (numbered from 1) plus the test's own
/// namespace (host 0), fully meshed.
pub struct Network {
    hosts: u8,
    /// The namespace names, by host (index 0 unused: the test's namespace).
    namespaces: Vec<String>,
    /// The root namespace's link ends, by peer host (index 0 unused).
    outside_links: Vec<String>,
    /// `10.a.b`, the first three octets of every address.
    subnet: [u8; 3],
    /// The directed cuts in place, `(from, to)`.
    cuts: Mutex<Vec<(u8, u8)>>,
}

impl Network {
    /// Creates the namespaces and links of `hosts` hosts (at most 200).
    ///
    /// # Panics
    /// If a namespace or link cannot be made (call [`unavailable`] first to skip
    /// where namespaces are not available); what was made is deleted first.
    pub fn new(hosts: u8) -> Self {
        assert!((1..=200).contains(&hosts), "between 1 and 200 hosts");
        remove_leftovers();
        let pid = std::process::id();
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let subnet = free_subnet(pid, run);
        let tag = format!("{:05}{:02}", pid % 100_000, run % 100);
        // Made before anything exists, so a failure part way drops it and its Drop
        // deletes whatever was made.
        let network = Self {
            hosts,
            // Host 0 is the test's own namespace: none to create or delete.
            namespaces: (0..=hosts)
                .map(|h| {
                    if h == 0 {
                        String::new()
                    } else {
                        format!("{PREFIX}{pid}-{run}-{h}")
                    }
                })
                .collect(),
            // At most 15 bytes: "sn" + 7 + "h" + up to 3.
            outside_links: (0..=hosts).map(|h| format!("sn{tag}h{h}")).collect(),
            subnet,
            cuts: Mutex::new(Vec::new()),
        };
        for h in 1..=hosts {
            let ns = network.namespaces[usize::from(h)].clone();
            must(&["netns", "add", &ns]);
            must(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        for a in 0..=hosts {
            for b in a + 1..=hosts {
                network.link(a, b);
            }
        }
        network
    }

    /// The veth pair between hosts `a` < `b`, addressed and routed on both ends.
    fn link(&self, a: u8, b: u8) {
        let (dev_a, dev_b) = (self.device(a, b), self.device(b, a));
        let ns_b = self.namespaces[usize::from(b)].as_str();
        let mut add = vec!["link", "add", dev_a.as_str()];
        if a != 0 {
            add.extend(["netns", self.namespaces[usize::from(a)].as_str()]);
        }
        add.extend(["type", "veth", "peer", "name", dev_b.as_str(), "netns", ns_b]);
        must(&add);
        for (host, dev, peer) in [(a, &dev_a, b), (b, &dev_b, a)] {
            let (me, them) = (self.ip(host).to_string(), self.ip(peer).to_string());
            self.run_in(host, &["addr", "add", &format!("{me}/32"), "dev", dev]);
            self.run_in(host, &["link", "set", dev, "up"]);
            self.run_in(host, &["route", "add", &format!("{them}/32"), "dev", dev, "src", &me]);
        }
    }

    /// Runs `ip args…` in `host`'s namespace, panicking on failure.
    #[track_caller]
    fn run_in(&self, host: u8, args: &[&str]) {
        if let Err(why) = self.try_in(host, args) {
            panic!("{why}");
        }
    }

    fn try_in(&self, host: u8, args: &[&str]) -> Result<(), String> {
        if host == 0 {
            ip(args)
        } else {
            let mut all = vec!["-n", self.namespaces[usize::from(host)].as_str()];
            all.extend_from_slice(args);
            ip(&all)
        }
    }

    /// The name, in `host`'s namespace, of its end of the link to `peer`.
    fn device(&self, host: u8, peer: u8) -> String {
        if host == 0 {
            self.outside_links[usize::from(peer)].clone()
        } else {
            format!("to{peer}")
        }
    }

    /// How many hosts (not counting the test's own namespace).
    pub fn hosts(&self) -> u8 {
        self.hosts
    }

    /// The address of `host` (0: the test's namespace).
    pub fn ip(&self, host: u8) -> Ipv4Addr {
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, if host == 0 { OUTSIDE_OCTET } else { host })
    }

    /// The namespace of `host` (1 and up), for `ip netns exec`.
    pub fn namespace(&self, host: u8) -> &str {
        assert!((1..=self.hosts).contains(&host), "no host {host}");
        &self.namespaces[usize::from(host)]
    }

    /// Drops every packet `from` sends to `to` from now on, silently (no error on
    /// either side); packets from `to` to `from` still pass.
    ///
    /// # Panics
    /// If `ip` fails.
    pub fn cut_one_way(&self, from: u8, to: u8) {
        let (peer, dev) = (self.ip(to).to_string(), self.device(from, to));
        self.run_in(
            from,
            &[
                "neigh",
                "replace",
                &peer,
                "lladdr",
                NOWHERE_MAC,
                "dev",
                &dev,
                "nud",
                "permanent",
            ],
        );
        let mut cuts = self.cuts.lock().unwrap_or_else(|e| e.into_inner());
        if !cuts.contains(&(from, to)) {
            cuts.push((from, to));
        }
    }

    /// Cuts the link between `a` and `b` in both directions.
    ///
    /// # Panics
    /// If `ip` fails.
    pub fn cut(&self, a: u8, b: u8) {
        self.cut_one_way(a, b);
        self.cut_one_way(b, a);
    }

    /// Cuts `host` off from every host in `from`, both ways.
    ///
    /// # Panics
    /// If `ip` fails.
    pub fn isolate(&self, host: u8, from: &[u8]) {
        for &other in from.iter().filter(|&&o| o != host) {
            self.cut(host, other);
        }
    }

    /// Lets packets from `from` to `to` through again.
    ///
    /// # Panics
    /// If `ip` fails.
    pub fn heal_one_way(&self, from: u8, to: u8) {
        let (peer, dev) = (self.ip(to).to_string(), self.device(from, to));
        self.run_in(from, &["neigh", "del", &peer, "dev", &dev]);
        self.cuts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|c| *c != (from, to));
    }

    /// Heals every cut.
    ///
    /// # Panics
    /// If `ip` fails.
    pub fn heal_all(&self) {
        let cuts = self.cuts();
        for (from, to) in cuts {
            self.heal_one_way(from, to);
        }
    }

    /// The directed cuts in place, `(from, to)`.
    pub fn cuts(&self) -> Vec<(u8, u8)> {
        self.cuts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// `10.a.b` for network `run` of process `pid`, avoiding any the test namespace
/// already routes (another run's, or a real network's).
fn free_subnet(pid: u32, run: u32) -> [u8; 3] {
    let routes = Command::new("ip")
        .args(["-4", "route", "show"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let addrs = Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let start = (pid % 150) * 256 + run;
    (0..150 * 256)
        .map(|i| (start + i) % (150 * 256))
        .map(|n| [10, 100 + (n / 256) as u8, (n % 256) as u8])
        .find(|[a, b, c]| {
            let prefix = format!("{a}.{b}.{c}.");
            !routes.contains(&prefix) && !addrs.contains(&prefix)
        })
        .unwrap_or_else(|| panic!("no free 10.x.y.0/24 subnet for a test network"))
}

impl Drop for Network {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().filter(|n| !n.is_empty()) {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;
    use std::net::{SocketAddr, SocketAddrV4, TcpStream};
    use std::time::Duration;

    /// What a connection from the test's namespace to a port of `host` where nothing
    /// listens meets: `ConnectionRefused` when the host answers (its reset came back),
    /// `TimedOut` when a cut swallows the packets.
    fn probe(net: &Network, host: u8) -> ErrorKind {
        let addr = SocketAddr::V4(SocketAddrV4::new(net.ip(host), 9));
        match TcpStream::connect_timeout(&addr, Duration::from_millis(700)) {
            Ok(_) => panic!("nothing listens on {addr}"),
            Err(e) => e.kind(),
        }
    }

    /// Hosts are reachable from the test's namespace through their own links; a cut
    /// in either direction swallows packets silently (a timeout, not an error), a cut
    /// between two other hosts changes nothing here, and healing restores the path.
    /// Skipped (with a message) where namespaces cannot be made.
    #[test]
    fn cuts_are_silent_one_way_and_heal() {
        if let Some(why) = unavailable() {
            eprintln!("SKIPPED: network namespaces are not available: {why}");
            return;
        }
        let net = Network::new(2);
        assert!(net.namespace(2).starts_with(PREFIX));
        assert_eq!(probe(&net, 1), ErrorKind::ConnectionRefused);
        assert_eq!(probe(&net, 2), ErrorKind::ConnectionRefused);
        net.cut_one_way(0, 1);
        assert_eq!(probe(&net, 1), ErrorKind::TimedOut, "requests to host 1 are dropped");
        assert_eq!(probe(&net, 2), ErrorKind::ConnectionRefused);
        net.heal_all();
        assert_eq!(probe(&net, 1), ErrorKind::ConnectionRefused);
        net.cut_one_way(1, 0);
        assert_eq!(probe(&net, 1), ErrorKind::TimedOut, "host 1's answers are dropped");
        net.heal_one_way(1, 0);
        net.cut(1, 2);
        assert_eq!(net.cuts(), vec![(1, 2), (2, 1)]);
        assert_eq!(probe(&net, 1), ErrorKind::ConnectionRefused);
        assert_eq!(probe(&net, 2), ErrorKind::ConnectionRefused);
        net.heal_all();
        assert!(net.cuts().is_empty());
        let names = net.namespaces.clone();
        drop(net);
        let list = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .expect("ip netns list");
        let list = String::from_utf8_lossy(&list.stdout);
        assert!(
            names
                .iter()
                .filter(|n| !n.is_empty())
                .all(|n| !list.contains(n.as_str())),
            "namespaces left behind: {list}"
        );
    }
}
