//! A real three-member etcd cluster for tests: members on 127.0.0.1, .2 and .3 with
//! free ports, data directories in a temp dir, health polled with a deadline, and
//! every member killed when the cluster is dropped.

use spacetime_replication::{Cluster, ClusterOptions};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One etcd member process.
pub struct Member {
    pub name: String,
    pub client_url: String,
    peer_url: String,
    data_dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// Three etcd members forming one cluster.
pub struct EtcdCluster {
    pub members: Vec<Member>,
    initial_cluster: String,
    token: String,
    _dir: tempfile::TempDir,
}

/// A port on `ip` that was free a moment ago.
fn free_port(ip: Ipv4Addr) -> u16 {
    let listener = TcpListener::bind(SocketAddrV4::new(ip, 0)).expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

impl EtcdCluster {
    /// Starts three members and waits until every one answers through the cluster.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let members: Vec<Member> = (1..=3u8)
            .map(|i| {
                let ip = Ipv4Addr::new(127, 0, 0, i);
                Member {
                    name: format!("m{i}"),
                    client_url: format!("http://{ip}:{}", free_port(ip)),
                    peer_url: format!("http://{ip}:{}", free_port(ip)),
                    data_dir: dir.path().join(format!("m{i}")),
                    log: dir.path().join(format!("m{i}.log")),
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
            "test-{}",
            dir.path().file_name().and_then(|n| n.to_str()).unwrap_or("x")
        );
        let mut cluster = Self {
            members,
            initial_cluster,
            token,
            _dir: dir,
        };
        for i in 0..3 {
            cluster.spawn(i);
        }
        cluster.wait_healthy(Duration::from_secs(60));
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let m = &self.members[i];
        let log = std::fs::File::create(&m.log).expect("member log file");
        let child = Command::new("etcd")
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
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start etcd ({e}); run scripts/install-deps.sh to install etcd-server"));
        self.members[i].child = Some(child);
    }

    /// Every member's client URL.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// A connection to the whole cluster.
    pub fn connect(&self) -> Cluster {
        self.connect_with(ClusterOptions::default())
    }

    /// A connection to the whole cluster with `options`.
    pub fn connect_with(&self, options: ClusterOptions) -> Cluster {
        Cluster::connect(&self.endpoints(), options).expect("connect to etcd")
    }

    /// Waits until each running member serves a linearizable read (so a leader exists
    /// and the member is part of the quorum), or panics at the deadline with the logs.
    pub fn wait_healthy(&self, within: Duration) {
        let deadline = Instant::now() + within;
        for m in self.members.iter().filter(|m| m.child.is_some()) {
            let options = ClusterOptions::default().request_timeout(Duration::from_secs(1));
            loop {
                let ok = Cluster::connect(std::slice::from_ref(&m.client_url), options.clone())
                    .and_then(|c| c.epoch(&c.db("health-check")))
                    .is_ok();
                if ok {
                    break;
                }
                if Instant::now() > deadline {
                    panic!(
                        "etcd member {} not healthy within {within:?}; its log:\n{}",
                        m.name,
                        std::fs::read_to_string(&m.log).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// SIGKILLs member `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data directory (it rejoins the cluster).
    pub fn restart(&mut self, i: usize) {
        assert!(self.members[i].child.is_none(), "member {i} is running");
        self.spawn(i);
    }

    /// Sends `signal` (e.g. "STOP", "CONT") to member `i`.
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
}

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
