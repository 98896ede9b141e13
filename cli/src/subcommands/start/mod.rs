//! `spacetime start`: runs a Spacetime server in this process until SIGTERM or SIGINT.
//!
//! Each setting comes from its flag, else its environment variable, else `config.toml`
//! in the root directory, else its default ([`settings`]); `--print-config` shows the
//! result with the source of each value and exits. As upstream, `--root-dir` (also a
//! global flag: `spacetime --root-dir=/stdb start`) holds `config.toml`, `data/` and,
//! when given, the key pair in `config/`; without it the key pair lives in the CLI's
//! configuration directory, so tokens stay valid across data directories.

pub mod config_file;
pub mod settings;
pub mod values;

use crate::Ctx;
use anyhow::{Context, Result};
use settings::{Inputs, Settings};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `start`. Values are taken as text and parsed with the other sources, so
/// a bad value gets the same message whether it came from a flag, the environment or
/// `config.toml`.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Where databases live [env: SPACETIME_DATA_DIR] (default: <root-dir>/data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// The address to listen on, `host:port`; port 0 picks a free port
    /// [env: SPACETIME_LISTEN_ADDR] (default 0.0.0.0:3000).
    #[arg(short = 'l', long, value_name = "ADDR")]
    pub listen_addr: Option<String>,
    /// The directory holding the token key pair `id_ecdsa` / `id_ecdsa.pub`, created
    /// there if missing [env: SPACETIME_JWT_KEY_DIR] (default: <root-dir>/config when
    /// --root-dir is given, else the CLI's configuration directory).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["jwt_pub_key_path", "jwt_priv_key_path"])]
    pub jwt_key_dir: Option<String>,
    /// The token public key (SPKI PEM); use with --jwt-priv-key-path
    /// [env: SPACETIME_JWT_PUB_KEY_PATH].
    #[arg(long, value_name = "FILE", requires = "jwt_priv_key_path")]
    pub jwt_pub_key_path: Option<String>,
    /// The token private key (PKCS#8 PEM); use with --jwt-pub-key-path
    /// [env: SPACETIME_JWT_PRIV_KEY_PATH].
    #[arg(long, value_name = "FILE", requires = "jwt_pub_key_path")]
    pub jwt_priv_key_path: Option<String>,
    /// Keep everything in memory: nothing survives a restart [env: SPACETIME_IN_MEMORY].
    #[arg(long)]
    pub in_memory: bool,
    /// Snapshot a database after this many logged transactions, so a restart replays
    /// at most that many [env: SPACETIME_SNAPSHOT_EVERY] (default 100000; 0: never).
    #[arg(long, value_name = "N")]
    pub snapshot_every: Option<String>,
    /// How many snapshots each database keeps; older log segments are removed
    /// [env: SPACETIME_SNAPSHOTS_TO_KEEP] (default 2).
    #[arg(long, value_name = "N")]
    pub snapshots_to_keep: Option<String>,
    /// Start a new commit log segment past this many bytes; retention removes whole
    /// segments [env: SPACETIME_MAX_SEGMENT_SIZE] (default 1073741824, 1 GiB).
    #[arg(long, value_name = "BYTES")]
    pub max_segment_size: Option<String>,
    /// The log level (error, warn, info, debug, trace) or a tracing filter
    /// [env: SPACETIME_LOG_LEVEL, else RUST_LOG] (default info).
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// The log line format, text or json [env: SPACETIME_LOG_FORMAT] (default text).
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Serve Prometheus metrics at /metrics, on or off [env: SPACETIME_METRICS]
    /// (default on).
    #[arg(long, value_name = "ON|OFF")]
    pub metrics: Option<String>,
    /// Seconds a graceful shutdown may take after SIGTERM/SIGINT
    /// [env: SPACETIME_SHUTDOWN_TIMEOUT] (default 10).
    #[arg(long, value_name = "SECONDS")]
    pub shutdown_timeout: Option<String>,
    /// Serve the PostgreSQL wire protocol on this port [env: SPACETIME_PG_PORT]
    /// (default: off).
    #[arg(long, value_name = "PORT")]
    pub pg_port: Option<String>,
    /// The largest module a publish may send, in bytes [env: SPACETIME_MAX_PUBLISH_BODY]
    /// (default 268435456, 256 MiB); a larger one is refused with 413.
    #[arg(long, value_name = "BYTES")]
    pub max_publish_body: Option<String>,
    /// How many seconds a client may take to send a request's headers before it is
    /// disconnected [env: SPACETIME_HEADER_READ_TIMEOUT] (default 10).
    #[arg(long, value_name = "SECONDS")]
    pub header_read_timeout: Option<String>,
    /// The most connections served at once; more are closed at once
    /// [env: SPACETIME_MAX_CONNECTIONS] (default 16384).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<String>,
    /// The most connections served at once from one IP address
    /// [env: SPACETIME_MAX_CONNECTIONS_PER_IP] (default 4096).
    #[arg(long, value_name = "N")]
    pub max_connections_per_ip: Option<String>,
    /// Let procedures' outbound HTTP reach loopback, private and link-local addresses
    /// [env: SPACETIME_ALLOW_PRIVATE_HTTP] (default: refused).
    #[arg(long)]
    pub allow_private_http: bool,
    /// Cluster mode: the etcd endpoints (comma-separated client URLs) through which
    /// each database's commit log is replicated, with a leader per database and hot
    /// standbys on the other nodes [env: SPACETIME_CLUSTER] (default: off, standalone).
    #[arg(long, value_name = "ENDPOINTS")]
    pub cluster: Option<String>,
    /// This node's id in the cluster, unique among its nodes; required with --cluster
    /// [env: SPACETIME_NODE_ID].
    #[arg(long, value_name = "ID")]
    pub node_id: Option<String>,
    /// Where clients and other nodes reach this node, host:port
    /// [env: SPACETIME_ADVERTISE_ADDR] (default: the listen address, if it names a
    /// host and a port).
    #[arg(long, value_name = "ADDR")]
    pub advertise_addr: Option<String>,
    /// Cluster mode: how long a dead leader keeps its databases before a standby takes
    /// over, whole seconds, at least 2 [env: SPACETIME_CLUSTER_LEASE_TTL] (default 3).
    #[arg(long, value_name = "SECONDS")]
    pub cluster_lease_ttl: Option<String>,
    /// Cluster mode: `standby` (the default) follows each database it does not lead and
    /// may take over; `reader` follows and serves SQL and subscriptions, forwards calls
    /// to the leader, and never leads [env: SPACETIME_CLUSTER_ROLE].
    #[arg(long, value_name = "ROLE")]
    pub cluster_role: Option<String>,
    /// Cluster mode: how far behind its leader (milliseconds, or e.g. 2s) a follower may
    /// be and still serve SQL and new subscriptions itself; past it they go to the
    /// leader [env: SPACETIME_CLUSTER_MAX_READ_LAG] (default 5000).
    #[arg(long, value_name = "MS")]
    pub cluster_max_read_lag: Option<String>,
    /// Cluster mode: how long (milliseconds, or e.g. 30s) a node placed to hold a
    /// database may be gone before the placement controller places the database on
    /// another node [env: SPACETIME_CLUSTER_REPLACE_AFTER] (default 30s).
    #[arg(long, value_name = "MS")]
    pub cluster_replace_after: Option<String>,
    /// Print the effective settings, each with where it came from, and exit.
    #[arg(long)]
    pub print_config: bool,
}

impl StartArgs {
    /// The flags given, by setting key.
    fn flags(&self, root_dir: Option<&PathBuf>) -> BTreeMap<&'static str, String> {
        use settings::*;
        let text = [
            (&ROOT_DIR, root_dir.map(|d| d.display().to_string())),
            (&DATA_DIR, self.data_dir.clone()),
            (&LISTEN_ADDR, self.listen_addr.clone()),
            (&JWT_KEY_DIR, self.jwt_key_dir.clone()),
            (&JWT_PUB_KEY_PATH, self.jwt_pub_key_path.clone()),
            (&JWT_PRIV_KEY_PATH, self.jwt_priv_key_path.clone()),
            (&IN_MEMORY, self.in_memory.then(|| "true".to_owned())),
            (&SNAPSHOT_EVERY, self.snapshot_every.clone()),
            (&SNAPSHOTS_TO_KEEP, self.snapshots_to_keep.clone()),
            (&MAX_SEGMENT_SIZE, self.max_segment_size.clone()),
            (&LOG_LEVEL, self.log_level.clone()),
            (&LOG_FORMAT, self.log_format.clone()),
            (&METRICS, self.metrics.clone()),
            (&SHUTDOWN_TIMEOUT, self.shutdown_timeout.clone()),
            (&PG_PORT, self.pg_port.clone()),
            (&ALLOW_PRIVATE_HTTP, self.allow_private_http.then(|| "true".to_owned())),
            (&MAX_PUBLISH_BODY, self.max_publish_body.clone()),
            (&HEADER_READ_TIMEOUT, self.header_read_timeout.clone()),
            (&MAX_CONNECTIONS, self.max_connections.clone()),
            (&MAX_CONNECTIONS_PER_IP, self.max_connections_per_ip.clone()),
            (&CLUSTER, self.cluster.clone()),
            (&NODE_ID, self.node_id.clone()),
            (&ADVERTISE_ADDR, self.advertise_addr.clone()),
            (&LEASE_TTL, self.cluster_lease_ttl.clone()),
            (&ROLE, self.cluster_role.clone()),
            (&MAX_READ_LAG, self.cluster_max_read_lag.clone()),
            (&REPLACE_AFTER, self.cluster_replace_after.clone()),
        ];
        text.into_iter()
            .filter_map(|(spec, value)| Some((spec.key, value?)))
            .collect()
    }
}

/// Resolves the settings of `start` from `args`, the process environment, `config.toml`
/// and cli.toml.
///
/// # Errors
/// See [`settings::SettingsError`].
pub fn resolve(ctx: &Ctx, args: &StartArgs) -> Result<Settings, settings::SettingsError> {
    let env = |var: &str| std::env::var(var).ok();
    settings::resolve(&Inputs {
        flags: args.flags(ctx.root_dir.as_ref()),
        env: &env,
        cli_toml_listen_addr: ctx
            .config
            .file
            .listen_addr
            .clone()
            .map(|addr| (addr, ctx.config.path().to_owned())),
        cli_config_dir: ctx.config.dir(),
    })
}

/// Runs `start`.
///
/// # Errors
/// When a setting is invalid, or the data directory or keys cannot be used or the address
/// cannot be bound.
#[allow(clippy::print_stdout)]
pub fn exec(ctx: &Ctx, args: StartArgs) -> Result<()> {
    let settings = resolve(ctx, &args)?;
    if args.print_config {
        print!("{}", settings.render());
        return Ok(());
    }
    crate::logging::init(&settings.log_filter, settings.log_format)?;
    for warning in &settings.warnings {
        log::warn!("{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("spacetime-server")
        .build()
        .context("cannot start the async runtime")?;
    runtime
        .block_on(spacetime_server::serve(settings.server))
        .map_err(anyhow::Error::from)
}
