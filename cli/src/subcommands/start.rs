//! `spacetime start`: runs a Spacetime server in this process until Ctrl-C or SIGTERM.
//!
//! The listen address is `--listen-addr`, else `listen_addr` from cli.toml, else
//! `0.0.0.0:3000`. As upstream, the token key pair defaults to the CLI's configuration
//! directory, so tokens stay valid across data directories.

use crate::Ctx;
use anyhow::{anyhow, Context, Result};
use spacetime_server::{JwtKeySource, ServerConfig};
use std::path::PathBuf;

/// Arguments of `start`.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Where databases live (default: ~/.local/share/spacetime/data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The address to listen on, `host:port`; port 0 picks a free port.
    #[arg(short = 'l', long, value_name = "ADDR")]
    pub listen_addr: Option<String>,
    /// The directory holding the token key pair `id_ecdsa` / `id_ecdsa.pub` (default: the
    /// CLI's configuration directory); created there if missing.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["jwt_pub_key_path", "jwt_priv_key_path"])]
    pub jwt_key_dir: Option<PathBuf>,
    /// The token public key (SPKI PEM); use with --jwt-priv-key-path.
    #[arg(long, value_name = "FILE", requires = "jwt_priv_key_path")]
    pub jwt_pub_key_path: Option<PathBuf>,
    /// The token private key (PKCS#8 PEM); use with --jwt-pub-key-path.
    #[arg(long, value_name = "FILE", requires = "jwt_pub_key_path")]
    pub jwt_priv_key_path: Option<PathBuf>,
    /// Keep everything in memory: nothing survives a restart.
    #[arg(long)]
    pub in_memory: bool,
    /// Snapshot a database after this many logged transactions, so a restart replays
    /// at most that many (default 100000; 0: never).
    #[arg(long, value_name = "N")]
    pub snapshot_every: Option<u64>,
    /// The largest module a publish may send, in bytes (default 268435456, 256 MiB);
    /// a larger one is refused with 413.
    #[arg(long, value_name = "BYTES")]
    pub max_publish_body: Option<usize>,
    /// How many seconds a client may take to send a request's headers before it is
    /// disconnected (default 10).
    #[arg(long, value_name = "SECONDS")]
    pub header_read_timeout: Option<u64>,
    /// The most connections served at once (default 16384); more are closed at once.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// The most connections served at once from one IP address (default 4096).
    #[arg(long, value_name = "N")]
    pub max_connections_per_ip: Option<usize>,
}

/// Runs `start`.
///
/// # Errors
/// When the data directory or keys cannot be used or the address cannot be bound.
pub fn exec(ctx: &Ctx, args: StartArgs) -> Result<()> {
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    let mut config = ServerConfig::new(data_dir);
    if let Some(addr) = args.listen_addr.or_else(|| ctx.config.file.listen_addr.clone()) {
        config.listen_addr = addr;
    }
    config.jwt_keys = match (args.jwt_key_dir, args.jwt_priv_key_path, args.jwt_pub_key_path) {
        (Some(dir), _, _) => JwtKeySource::Dir(dir),
        (None, Some(private), Some(public)) => JwtKeySource::Files { private, public },
        _ => JwtKeySource::Dir(ctx.config.dir()),
    };
    config.in_memory = args.in_memory;
    if let Some(n) = args.snapshot_every {
        config.snapshot_every = n;
    }
    if let Some(n) = args.max_publish_body {
        config.max_publish_body = n;
    }
    if let Some(secs) = args.header_read_timeout {
        config.header_read_timeout = std::time::Duration::from_secs(secs);
    }
    if let Some(n) = args.max_connections {
        config.max_connections = n;
    }
    if let Some(n) = args.max_connections_per_ip {
        config.max_connections_per_ip = n;
    }
    crate::logging::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("spacetime-server")
        .build()
        .context("cannot start the async runtime")?;
    runtime
        .block_on(spacetime_server::serve(config))
        .map_err(anyhow::Error::from)
}

fn default_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("spacetime").join("data"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| anyhow!("cannot find a data directory: HOME is not set; pass --data-dir <dir>"))?;
    Ok(PathBuf::from(home)
        .join(".local")
        .join("share")
        .join("spacetime")
        .join("data"))
}
