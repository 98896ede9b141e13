//! A real three-member etcd cluster for tests of cluster mode (the end-to-end tests here
//! and the replication crate's own): the Debian `etcd` binary (package `etcd-server`,
//! installed by `scripts/install-deps.sh`), members on 127.0.0.1, .2 and .3 with free
//! ports and data directories in a temporary directory, health polled through each
//! member's `/health` endpoint with a deadline, members that can be killed, stopped and
//! restarted, and every member killed when the value is dropped.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long a new cluster may take to elect its leader and answer on every member.
const HEALTHY_DEADLINE: Duration = Duration::from_secs(60);

/// One etcd member process.
pub struct Member {
    /// Its name in the cluster.
    pub name: String,
    /// The URL clients reach it on.
    pub client_url: String,
    peer_url: String,
    data_dir: PathBuf,
    log: PathBuf,
    /// The network namespace it runs in (partition tests), or `None` for the test's own.
    netns: Option<String>,
    child: Option<Child>,
}

/// Where a member runs: its address and, for partition tests (`crate::netns`), the
/// network namespace that holds the address.
#[derive(Debug, Clone)]
pub struct MemberHost {
    /// The address it listens on, for clients and peers.
    pub ip: Ipv4Addr,
    /// Its network namespace, or `None` for the test's own.
    pub netns: Option<String>,
}

/// The client and peer ports of a member in a namespace of its own, where nothing
/// else listens.
const NETNS_PORTS: (u16, u16) = (2379, 2380);

/// Three etcd members forming one cluster.
pub struct EtcdCluster {
    /// The members, in the order they were configured.
    pub members: Vec<Member>,
    initial_cluster: String,
    token: String,
    _dir: tempfile::TempDir,
}

/// Whether the `etcd` binary can be run here; tests of cluster mode are skipped (with
/// a message saying how to install it) when it cannot.
pub fn etcd_available() -> bool {
    Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Extra flags for every member, whitespace-separated, from `SPACETIME_TEST_ETCD_ARGS`
/// (e.g. `--backend-batch-interval=10ms`), to measure the effect of etcd's own settings.
fn extra_args() -> Vec<String> {
    std::env::var("SPACETIME_TEST_ETCD_ARGS")
        .map(|a| a.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A port on `ip` that was free a moment ago.
fn free_port(ip: Ipv4Addr) -> u16 {
    let listener = TcpListener::bind(SocketAddrV4::new(ip, 0)).expect("bind a free port");
    listener.local_addr().expect("a bound socket has an address").port()
}

impl EtcdCluster {
    /// Starts three members and waits until each reports itself healthy (the cluster
    /// has a leader and the member is in its quorum).
    ///
    /// # Panics
    /// If `etcd` cannot be started or a member is not healthy by the deadline (the
    /// panic carries the member's log).
    pub fn start() -> Self {
        let hosts: Vec<MemberHost> = (1..=3u8)
            .map(|i| MemberHost {
                ip: Ipv4Addr::new(127, 0, 0, i),
                netns: None,
            })
            .collect();
        Self::start_on(&hosts)
    }

    /// Starts one member on each of `hosts` (named `m1`, `m2`, … in order) and waits
    /// until each reports itself healthy. A member in a network namespace listens on
    /// etcd's usual ports; the test process reaches it through the namespace's link.
    ///
    /// # Panics
    /// As [`EtcdCluster::start`].
    pub fn start_on(hosts: &[MemberHost]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("spacetime-etcd-")
            .tempdir()
            .expect("create a temporary directory");
        let members: Vec<Member> = hosts
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let (i, ip) = (i + 1, host.ip);
                let (client, peer) = match host.netns {
                    Some(_) => NETNS_PORTS,
                    None => (free_port(ip), free_port(ip)),
                };
                Member {
                    name: format!("m{i}"),
                    client_url: format!("http://{ip}:{client}"),
                    peer_url: format!("http://{ip}:{peer}"),
                    data_dir: dir.path().join(format!("m{i}")),
                    log: dir.path().join(format!("m{i}.log")),
                    netns: host.netns.clone(),
                    child: None,
                }
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url))
            .collect::<Vec<_>>()
            .join(",");
        let token = format!(
            "e2e-{}",
            dir.path().file_name().and_then(|n| n.to_str()).unwrap_or("cluster")
        );
        let mut cluster = Self {
            members,
            initial_cluster,
            token,
            _dir: dir,
        };
        for i in 0..cluster.members.len() {
            cluster.spawn(i);
        }
        cluster.wait_healthy(HEALTHY_DEADLINE);
        cluster
    }

    /// Starts member `i` on its data directory (a new member, or one rejoining).
    fn spawn(&mut self, i: usize) {
        let m = &self.members[i];
        let log = std::fs::File::create(&m.log).expect("create the member's log file");
        let mut command = match &m.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "etcd"]);
                c
            }
            None => Command::new("etcd"),
        };
        let child = command
            .args(["--name", &m.name])
            .arg("--data-dir")
            .arg(&m.data_dir)
            .args(["--listen-client-urls", &m.client_url])
            .args(["--advertise-client-urls", &m.client_url])
            .args(["--listen-peer-urls", &m.peer_url])
            .args(["--initial-advertise-peer-urls", &m.peer_url])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-state", "new"])
            .args(["--initial-cluster-token", &self.token])
            .args([
                "--auto-compaction-mode",
                "periodic",
                "--auto-compaction-retention",
                "1m",
            ])
            .args(extra_args())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start etcd ({e}); scripts/install-deps.sh installs etcd-server"));
        self.members[i].child = Some(child);
    }

    /// SIGKILLs member `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data directory (it rejoins the cluster).
    ///
    /// # Panics
    /// If it is running.
    pub fn restart(&mut self, i: usize) {
        assert!(self.members[i].child.is_none(), "member {i} is running");
        self.spawn(i);
    }

    /// Sends `signal` (e.g. "STOP", "CONT") to member `i`.
    ///
    /// # Panics
    /// If it is not running or `kill` fails.
    pub fn signal(&self, i: usize, signal: &str) {
        let pid = self.members[i].child.as_ref().expect("member running").id();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Bytes on disk of member `i`'s data directory.
    pub fn data_size(&self, i: usize) -> u64 {
        dir_size(&self.members[i].data_dir)
    }

    /// Every member's client URL.
    pub fn client_urls(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// Every member's client URL, comma-separated: the value of `--cluster`.
    pub fn endpoints(&self) -> String {
        self.client_urls().join(",")
    }

    /// How many keys start with `prefix` (through the first member's JSON gateway,
    /// `/v3/kv/range` with `count_only`), e.g. to see a replicated log stay trimmed.
    ///
    /// # Panics
    /// If the member does not answer.
    pub fn count_keys(&self, prefix: &str) -> u64 {
        let mut end = prefix.as_bytes().to_vec();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        let body = format!(
            r#"{{"key":"{}","range_end":"{}","count_only":true}}"#,
            base64(prefix.as_bytes()),
            base64(&end)
        );
        let url = format!("{}/v3/kv/range", self.members[0].client_url);
        let text = reqwest::blocking::Client::new()
            .post(&url)
            .body(body)
            .send()
            .and_then(|r| r.text())
            .unwrap_or_else(|e| panic!("etcd {url}: {e}"));
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("etcd {url}: {e}: {text}"));
        // The gateway writes 64-bit numbers as strings and leaves out zero values.
        json.get("count")
            .and_then(|c| c.as_str().and_then(|s| s.parse().ok()).or_else(|| c.as_u64()))
            .unwrap_or(0)
    }

    /// The keys under `prefix` and their values, read linearizably from the first
    /// member that answers within a second (`/v3/kv/range` of the JSON gateway), so
    /// a member cut off from its quorum is passed over; `None` if none answers.
    pub fn read_prefix(&self, prefix: &str) -> Option<Vec<(String, Vec<u8>)>> {
        let mut end = prefix.as_bytes().to_vec();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        let body = format!(
            r#"{{"key":"{}","range_end":"{}"}}"#,
            base64(prefix.as_bytes()),
            base64(&end)
        );
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .expect("build an HTTP client");
        self.members.iter().find_map(|m| {
            let url = format!("{}/v3/kv/range", m.client_url);
            let response = client.post(&url).body(body.clone()).send().ok()?;
            if !response.status().is_success() {
                return None;
            }
            let json: serde_json::Value = serde_json::from_str(&response.text().ok()?).ok()?;
            // The gateway leaves out an empty list.
            let kvs = json.get("kvs").and_then(|k| k.as_array()).cloned().unwrap_or_default();
            kvs.iter()
                .map(|kv| {
                    let key = unbase64(kv.get("key")?.as_str()?)?;
                    let value = kv
                        .get("value")
                        .and_then(|v| v.as_str())
                        .map_or(Some(Vec::new()), unbase64)?;
                    Some((String::from_utf8_lossy(&key).into_owned(), value))
                })
                .collect()
        })
    }

    /// Puts `value` under `key` through the first member that accepts it (`/v3/kv/put`
    /// of the JSON gateway): for tests that damage what a cluster holds.
    ///
    /// # Panics
    /// If no member accepts it.
    pub fn put(&self, key: &str, value: &[u8]) {
        let body = format!(r#"{{"key":"{}","value":"{}"}}"#, base64(key.as_bytes()), base64(value));
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("build an HTTP client");
        let stored = self.members.iter().any(|m| {
            let url = format!("{}/v3/kv/put", m.client_url);
            client
                .post(&url)
                .body(body.clone())
                .send()
                .is_ok_and(|r| r.status().is_success())
        });
        assert!(stored, "no etcd member accepted a put of {key}");
    }

    /// Member `i`'s backend as etcd reports it (`/v3/maintenance/status` of the JSON
    /// gateway): the size of its database file and the bytes in use in it (the rest
    /// are pages compaction freed, reused before the file grows); `None` if it does not
    /// answer.
    pub fn db_size(&self, i: usize) -> Option<(u64, u64)> {
        let url = format!("{}/v3/maintenance/status", self.members[i].client_url);
        let text = reqwest::blocking::Client::new()
            .post(&url)
            .body("{}")
            .timeout(Duration::from_secs(2))
            .send()
            .and_then(|r| r.text())
            .ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        // The gateway writes 64-bit numbers as strings.
        let number = |key: &str| {
            json.get(key)
                .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_u64()))
        };
        Some((number("dbSize")?, number("dbSizeInUse").unwrap_or(0)))
    }

    /// The index of the member that leads the etcd cluster (raft leader), as the first
    /// running member that answers `/v3/maintenance/status` says; `None` if none answers
    /// or there is no leader.
    pub fn leader_index(&self) -> Option<usize> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .ok()?;
        let status = |m: &Member| -> Option<serde_json::Value> {
            let url = format!("{}/v3/maintenance/status", m.client_url);
            serde_json::from_str(&client.post(&url).body("{}").send().ok()?.text().ok()?).ok()
        };
        // The gateway writes 64-bit numbers as strings.
        let id = |v: Option<&serde_json::Value>| -> Option<u64> {
            v.and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_u64()))
        };
        let running = || self.members.iter().enumerate().filter(|(_, m)| m.child.is_some());
        let leader = running().find_map(|(_, m)| id(status(m)?.get("leader")))?;
        running()
            .find(|(_, m)| {
                status(m).is_some_and(|s| id(s.get("header").and_then(|h| h.get("member_id"))) == Some(leader))
            })
            .map(|(i, _)| i)
    }

    /// Member `i`'s histogram `name` from its `/metrics` page (Prometheus text), as
    /// `(upper bound in seconds, cumulative count)` per bucket, e.g.
    /// `etcd_disk_wal_fsync_duration_seconds`: where an append's time goes. Empty if
    /// the member does not answer.
    pub fn histogram(&self, i: usize, name: &str) -> Vec<(f64, u64)> {
        let url = format!("{}/metrics", self.members[i].client_url);
        let Ok(text) = reqwest::blocking::Client::new()
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .and_then(|r| r.text())
        else {
            return Vec::new();
        };
        let prefix = format!("{name}_bucket{{le=\"");
        text.lines()
            .filter_map(|line| {
                let (le, count) = line.strip_prefix(&prefix)?.split_once("\"} ")?;
                let bound = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
                Some((bound, count.trim().parse::<f64>().ok()? as u64))
            })
            .collect()
    }

    /// A one-line summary of [`Self::histogram`]: the count and, for a few bounds,
    /// the share of observations at or under it (`≤2ms 97.1%`).
    pub fn histogram_summary(&self, i: usize, name: &str) -> String {
        let buckets = self.histogram(i, name);
        let Some(&(_, total)) = buckets.last() else {
            return format!("{name}: not available");
        };
        let shares: Vec<String> = buckets
            .iter()
            .filter(|(bound, _)| {
                [0.002, 0.008, 0.032, 0.128, 0.512]
                    .iter()
                    .any(|b| (b - bound).abs() < 1e-9)
            })
            .map(|(bound, n)| format!("<={}ms {:.1}%", bound * 1000.0, 100.0 * *n as f64 / total.max(1) as f64))
            .collect();
        format!("{name}: {total} observations, {}", shares.join(", "))
    }

    /// Waits until each running member reports itself healthy (the cluster has a leader
    /// and the member is in its quorum).
    ///
    /// # Panics
    /// If one is not by `within` (the panic carries the member's log).
    pub fn wait_healthy(&self, within: Duration) {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("build an HTTP client");
        for m in self.members.iter().filter(|m| m.child.is_some()) {
            let url = format!("{}/health", m.client_url);
            let healthy = crate::wait::until(within, || {
                let body = client.get(&url).send().ok()?.text().ok()?;
                body.contains("\"health\":\"true\"").then_some(())
            });
            assert!(
                healthy.is_some(),
                "etcd member {} not healthy within {within:?}; its log:\n{}",
                m.name,
                std::fs::read_to_string(&m.log).unwrap_or_default()
            );
        }
    }
}

/// Standard base64 with padding, as etcd's JSON gateway takes keys.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 with padding; `None` if `text` is not that.
fn unbase64(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let digits: Vec<u32> = text
        .trim_end_matches('=')
        .bytes()
        .map(|b| ALPHABET.iter().position(|a| *a == b).map(|p| p as u32))
        .collect::<Option<_>>()?;
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, d)| n | d << (18 - 6 * i));
        out.extend(n.to_be_bytes()[1..chunk.len()].iter());
    }
    Some(out)
}

/// The bytes of the files below `path`.
fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"/stdb/v1/"), "L3N0ZGIvdjEv");
    }

    #[test]
    fn unbase64_reverses_base64() {
        for text in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"/stdb/v1/db/x/epoch",
            &[0, 255, 128],
        ] {
            assert_eq!(super::unbase64(&super::base64(text)).as_deref(), Some(text));
        }
        assert_eq!(super::unbase64("Z"), None);
        assert_eq!(super::unbase64("Zm9v!"), None);
    }
}
