//! [`ServerConfig`]: everything `serve` needs to know, and where each file lives in the
//! data directory.
//!
//! Layout of the data directory (`<data_dir>`):
//! - `id_ecdsa`, `id_ecdsa.pub`: the token key pair, unless key paths or a key dir are given;
//! - `control-db/registry.json`: databases, owners, names, program hashes;
//! - `program-bytes/<blake3 hex>`: module binaries, content-addressed;
//! - `replicas/<replica id>/`: one directory per database instance (a reset gets a new
//!   one), holding `module_logs/<YYYY-MM-DD>.log`, the commit log `clog/` and
//!   `snapshots/` (unless `in_memory`).

use crate::auth::OidcIssuer;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the token key pair lives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum JwtKeySource {
    /// `id_ecdsa` and `id_ecdsa.pub` in the data directory.
    #[default]
    DataDir,
    /// `id_ecdsa` and `id_ecdsa.pub` in this directory (`--jwt-key-dir`, which
    /// `spacetime start` points at the CLI's config directory).
    Dir(PathBuf),
    /// Explicit files (`--jwt-priv-key-path`, `--jwt-pub-key-path`).
    Files {
        /// The PKCS#8 PEM private key.
        private: PathBuf,
        /// The SPKI PEM public key.
        public: PathBuf,
    },
}

/// How to run a server.
///
/// # Examples
/// ```
/// let mut config = spacetime_server::ServerConfig::new("/tmp/spacetime-data");
/// config.listen_addr = "127.0.0.1:0".into();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The data directory; created if missing.
    pub data_dir: PathBuf,
    /// Where to listen, `host:port`; port 0 picks a free port.
    pub listen_addr: String,
    /// Where the token key pair lives; created there if missing.
    pub jwt_keys: JwtKeySource,
    /// Keep databases, programs and module logs in memory only: nothing of them is
    /// written to the data directory (the key pair still is, so tokens stay valid).
    pub in_memory: bool,
    /// How long one reducer call may run before it is stopped (10 s by default).
    pub reducer_time_budget: Duration,
    /// Write a snapshot of a database after this many logged transactions, so a
    /// restart replays at most that many (100,000 by default; 0: never).
    pub snapshot_every: u64,
    /// How long a client may take to send a request's headers before its connection is
    /// closed (10 s by default), so half-open requests (slowloris) cannot hold connections.
    /// It applies while hyper waits for a request's headers, never to an upgraded WebSocket.
    pub header_read_timeout: Duration,
    /// The most connections served at once (16,384 by default); a connection past it is
    /// accepted and closed at once, with a log line, while existing ones keep being served.
    pub max_connections: usize,
    /// The most connections served at once from one IP address (4,096 by default),
    /// treated as [`ServerConfig::max_connections`] is.
    pub max_connections_per_ip: usize,
    /// The largest module a publish may send, in bytes
    /// ([`DEFAULT_MAX_PUBLISH_BODY`](Self::DEFAULT_MAX_PUBLISH_BODY) by default;
    /// `spacetime start --max-publish-body`). A larger body is refused with 413 as soon
    /// as it passes the limit, so a huge upload cannot exhaust the server's memory.
    pub max_publish_body: usize,
    /// OpenID Connect issuers whose tokens are accepted besides this server's own
    /// (none by default). `spacetime start` reads them from `SPACETIME_OIDC_ISSUERS`
    /// (format in [`OIDC_ISSUERS_ENV`](crate::auth::OIDC_ISSUERS_ENV)) or `oidc-issuers`
    /// in `config.toml`.
    pub oidc_issuers: Vec<OidcIssuer>,
    /// How long a graceful shutdown may take (10 s by default): after the first SIGTERM or
    /// SIGINT the server stops accepting, lets running reducers finish, closes WebSockets
    /// with 1001 and flushes the logs; whatever is still running at the deadline is
    /// abandoned (the logs are flushed first, so nothing acknowledged is lost).
    pub shutdown_timeout: Duration,
    /// Whether modules may make HTTP requests to private and loopback addresses (off by
    /// default; `SPACETIME_ALLOW_PRIVATE_HTTP`, `allow-private-http` in `config.toml`).
    pub allow_private_http: bool,
    /// Whether `GET /metrics` serves Prometheus metrics (on by default).
    pub metrics: bool,
    /// The port of the PostgreSQL wire protocol server, on the listen address's host;
    /// none by default.
    pub pg_port: Option<u16>,
    /// How many snapshots each database keeps (2 by default, at least 1). Once a
    /// snapshot is written, log segments wholly before the oldest kept one are removed,
    /// so the data directory stops growing under a steady load.
    pub snapshots_to_keep: usize,
    /// The size in bytes past which a commit log starts a new segment (1 GiB by default,
    /// as upstream's `max-segment-size`); retention removes whole segments only.
    pub max_segment_size: u64,
    /// Cluster mode (`spacetime start --cluster`): each database's commit log is
    /// replicated through etcd, with a leader elected per database and this node a
    /// hot standby of the databases it does not lead. `None` (the default) is a
    /// standalone server, exactly as without this setting.
    pub cluster: Option<ClusterConfig>,
}

/// How a server joins a cluster (issue 17; design `design-replication.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The etcd members' client URLs (`http://host:port`).
    pub endpoints: Vec<String>,
    /// This node's id, unique in the cluster: it names the node in leader records.
    pub node_id: String,
    /// Where other nodes and clients reach this node's HTTP API (`host:port`): the
    /// address a standby names when it sends a client to the leader.
    pub advertise_addr: String,
    /// The leader lease's time to live: how long a dead leader keeps its databases
    /// before a standby takes over (whole seconds; 3 by default).
    pub lease_ttl: Duration,
    /// What this node is for the databases it does not lead: a standby that may take
    /// over (the default), or a reader that never campaigns (`--cluster-role reader`).
    pub role: ClusterRole,
    /// How far behind the leader a follower may be and still serve SQL and new
    /// subscriptions itself (design §8's lag bound; 5 s by default): past it, they are
    /// sent to the leader. Measured as how long ago the follower last held every
    /// transaction the cluster had committed.
    pub max_read_lag: Duration,
    /// How long a node placed to hold a database may be gone (its registration
    /// expired) before the placement controller puts the database on another node
    /// instead (30 s by default): long enough that a restart is not a re-placement.
    pub replace_after: Duration,
}

/// What a cluster node is for the databases it does not lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClusterRole {
    /// A hot standby: follows each database and campaigns when its leader is gone.
    #[default]
    Standby,
    /// A read replica: follows each database and serves reads, but never campaigns,
    /// so it never leads.
    Reader,
}

impl ClusterRole {
    /// The role's name in settings (`standby`, `reader`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Standby => "standby",
            Self::Reader => "reader",
        }
    }

    /// The role named `text` (as [`Self::name`] spells it).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "standby" => Some(Self::Standby),
            "reader" => Some(Self::Reader),
            _ => None,
        }
    }
}

impl ClusterConfig {
    /// The default [`Self::lease_ttl`].
    pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(3);

    /// The default [`Self::max_read_lag`].
    pub const DEFAULT_MAX_READ_LAG: Duration = Duration::from_secs(5);

    /// The default [`Self::replace_after`].
    pub const DEFAULT_REPLACE_AFTER: Duration = Duration::from_secs(30);

    /// Joins the cluster of etcd `endpoints` as node `node_id`, reachable at
    /// `advertise_addr`, with the default lease.
    pub fn new(endpoints: Vec<String>, node_id: impl Into<String>, advertise_addr: impl Into<String>) -> Self {
        Self {
            endpoints,
            node_id: node_id.into(),
            advertise_addr: advertise_addr.into(),
            lease_ttl: Self::DEFAULT_LEASE_TTL,
            role: ClusterRole::Standby,
            max_read_lag: Self::DEFAULT_MAX_READ_LAG,
            replace_after: Self::DEFAULT_REPLACE_AFTER,
        }
    }
}

impl ServerConfig {
    /// The default listen address, as upstream.
    pub const DEFAULT_LISTEN_ADDR: &'static str = "0.0.0.0:3000";

    /// The default publish body limit: 256 MiB, far above any real module (a release
    /// build of a large module is a few MiB), far below what would hurt the server.
    pub const DEFAULT_MAX_PUBLISH_BODY: usize = 256 << 20;

    /// A configuration with the defaults: listen on `0.0.0.0:3000`, keys in the data dir,
    /// persistent.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen_addr: Self::DEFAULT_LISTEN_ADDR.to_owned(),
            jwt_keys: JwtKeySource::DataDir,
            in_memory: false,
            reducer_time_budget: Duration::from_secs(10),
            snapshot_every: 100_000,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 16_384,
            max_connections_per_ip: 4_096,
            max_publish_body: Self::DEFAULT_MAX_PUBLISH_BODY,
            oidc_issuers: Vec::new(),
            shutdown_timeout: Duration::from_secs(10),
            allow_private_http: false,
            metrics: true,
            pg_port: None,
            snapshots_to_keep: 2,
            max_segment_size: 1 << 30,
            cluster: None,
        }
    }

    /// The private and public key files, in that order.
    pub fn jwt_key_paths(&self) -> (PathBuf, PathBuf) {
        let in_dir = |dir: &Path| (dir.join("id_ecdsa"), dir.join("id_ecdsa.pub"));
        match &self.jwt_keys {
            JwtKeySource::DataDir => in_dir(&self.data_dir),
            JwtKeySource::Dir(dir) => in_dir(dir),
            JwtKeySource::Files { private, public } => (private.clone(), public.clone()),
        }
    }

    /// The registry file.
    pub(crate) fn registry_path(&self) -> PathBuf {
        self.data_dir.join("control-db").join("registry.json")
    }

    /// The content-addressed program store.
    pub(crate) fn program_dir(&self) -> PathBuf {
        self.data_dir.join("program-bytes")
    }

    /// The directory of replica `replica_id`.
    pub(crate) fn replica_dir(&self, replica_id: u64) -> PathBuf {
        self.data_dir.join("replicas").join(replica_id.to_string())
    }
}
