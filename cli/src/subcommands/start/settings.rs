//! The settings of `spacetime start` and where each comes from.
//!
//! Every setting is looked up in this order, the first found wins: its flag, its
//! environment variable, `config.toml` in the root directory, then its default. The root
//! directory itself comes from `--root-dir` or `SPACETIME_ROOT_DIR`, else it is upstream's
//! default, `$XDG_DATA_HOME/spacetime` (`~/.local/share/spacetime`); it holds
//! `config.toml`, the data directory `data/` and, when given explicitly, the key pair in
//! `config/` (as upstream's `--root-dir` layout). [`Settings::report`] keeps each value
//! with its [`Source`] for `--print-config`; a value that does not parse is a
//! [`SettingsError::Invalid`] naming the setting, the source and what is accepted.

use super::config_file::ConfigFile;
use super::values::{self, LogFormat};
use spacetime_server::auth::OidcIssuer;
use spacetime_server::{ClusterConfig, ClusterRole, JwtKeySource, ServerConfig};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One setting: its `config.toml` key, environment variable and flag, and what it accepts.
#[derive(Debug)]
pub struct Spec {
    /// The dotted key in `config.toml`, also its name in messages.
    pub key: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// An older variable read when `env` is unset (`RUST_LOG` for the log level).
    pub env_alias: Option<&'static str>,
    /// The flag of `spacetime start`, if it has one.
    pub flag: Option<&'static str>,
    /// What values are accepted, for error messages.
    pub accepted: &'static str,
}

const fn spec(key: &'static str, env: &'static str, flag: Option<&'static str>, accepted: &'static str) -> Spec {
    Spec {
        key,
        env,
        env_alias: None,
        flag,
        accepted,
    }
}

/// The root directory (flag and environment only: it says where `config.toml` is).
pub const ROOT_DIR: Spec = spec("root-dir", "SPACETIME_ROOT_DIR", Some("--root-dir"), "a directory path");
/// Where databases live.
pub const DATA_DIR: Spec = spec("data-dir", "SPACETIME_DATA_DIR", Some("--data-dir"), "a directory path");
/// Where to listen.
pub const LISTEN_ADDR: Spec = spec(
    "listen-addr",
    "SPACETIME_LISTEN_ADDR",
    Some("--listen-addr"),
    "host:port, e.g. 0.0.0.0:3000 or [::1]:3000 (port 0 picks a free port)",
);
/// The log filter.
pub const LOG_LEVEL: Spec = Spec {
    key: "logs.level",
    env: "SPACETIME_LOG_LEVEL",
    env_alias: Some("RUST_LOG"),
    flag: Some("--log-level"),
    accepted: "a level (off, error, warn, info, debug, trace) or a tracing filter such as \
               `warn,spacetime_engine=debug`",
};
/// The log line format.
pub const LOG_FORMAT: Spec = spec(
    "logs.format",
    "SPACETIME_LOG_FORMAT",
    Some("--log-format"),
    "text or json",
);
/// Memory-only databases.
pub const IN_MEMORY: Spec = spec(
    "in-memory",
    "SPACETIME_IN_MEMORY",
    Some("--in-memory"),
    "true or false (also on/off, yes/no, 1/0)",
);
/// The snapshot interval.
pub const SNAPSHOT_EVERY: Spec = spec(
    "snapshot-every",
    "SPACETIME_SNAPSHOT_EVERY",
    Some("--snapshot-every"),
    "a whole number of transactions, 0 for never",
);
/// How many snapshots each database keeps.
pub const SNAPSHOTS_TO_KEEP: Spec = spec(
    "snapshots-to-keep",
    "SPACETIME_SNAPSHOTS_TO_KEEP",
    Some("--snapshots-to-keep"),
    "a whole number of snapshots, at least 1",
);
/// The commit log segment size (upstream's key).
pub const MAX_SEGMENT_SIZE: Spec = spec(
    "durability.commitlog.max-segment-size",
    "SPACETIME_MAX_SEGMENT_SIZE",
    Some("--max-segment-size"),
    "a whole number of bytes, at least 4096",
);
/// The PostgreSQL wire protocol port.
pub const PG_PORT: Spec = spec(
    "pg-port",
    "SPACETIME_PG_PORT",
    Some("--pg-port"),
    "a TCP port 1-65535, or off",
);
/// Whether modules may make HTTP requests to private addresses (issue 14 reads it).
pub const ALLOW_PRIVATE_HTTP: Spec = spec(
    "allow-private-http",
    "SPACETIME_ALLOW_PRIVATE_HTTP",
    Some("--allow-private-http"),
    "true or false (also on/off, yes/no, 1/0)",
);
/// Whether `/metrics` is served.
pub const METRICS: Spec = spec(
    "metrics",
    "SPACETIME_METRICS",
    Some("--metrics"),
    "on or off (also true/false, yes/no, 1/0)",
);
/// The graceful shutdown deadline.
pub const SHUTDOWN_TIMEOUT: Spec = spec(
    "shutdown-timeout",
    "SPACETIME_SHUTDOWN_TIMEOUT",
    Some("--shutdown-timeout"),
    "a whole number of seconds, e.g. 10 or 10s",
);
/// The key pair's directory.
pub const JWT_KEY_DIR: Spec = spec(
    "jwt-key-dir",
    "SPACETIME_JWT_KEY_DIR",
    Some("--jwt-key-dir"),
    "a directory path",
);
/// The private key file.
pub const JWT_PRIV_KEY_PATH: Spec = spec(
    "certificate-authority.jwt-priv-key-path",
    "SPACETIME_JWT_PRIV_KEY_PATH",
    Some("--jwt-priv-key-path"),
    "a file path (PKCS#8 PEM)",
);
/// The public key file.
pub const JWT_PUB_KEY_PATH: Spec = spec(
    "certificate-authority.jwt-pub-key-path",
    "SPACETIME_JWT_PUB_KEY_PATH",
    Some("--jwt-pub-key-path"),
    "a file path (SPKI PEM)",
);
/// Trusted OpenID Connect issuers.
pub const OIDC_ISSUERS: Spec = spec(
    "oidc-issuers",
    spacetime_server::auth::OIDC_ISSUERS_ENV,
    None,
    "comma-separated `<issuer URL>` or `<issuer URL>|<audience>` entries (a list of them in config.toml)",
);
/// The publish body limit.
pub const MAX_PUBLISH_BODY: Spec = spec(
    "max-publish-body",
    "SPACETIME_MAX_PUBLISH_BODY",
    Some("--max-publish-body"),
    "a whole number of bytes",
);
/// The header read timeout.
pub const HEADER_READ_TIMEOUT: Spec = spec(
    "header-read-timeout",
    "SPACETIME_HEADER_READ_TIMEOUT",
    Some("--header-read-timeout"),
    "a whole number of seconds, e.g. 10 or 10s",
);
/// The connection cap.
pub const MAX_CONNECTIONS: Spec = spec(
    "max-connections",
    "SPACETIME_MAX_CONNECTIONS",
    Some("--max-connections"),
    "a whole number of connections",
);
/// The per-address connection cap.
pub const MAX_CONNECTIONS_PER_IP: Spec = spec(
    "max-connections-per-ip",
    "SPACETIME_MAX_CONNECTIONS_PER_IP",
    Some("--max-connections-per-ip"),
    "a whole number of connections",
);

/// The etcd endpoints of cluster mode.
pub const CLUSTER: Spec = spec(
    "cluster.endpoints",
    "SPACETIME_CLUSTER",
    Some("--cluster"),
    "comma-separated etcd client URLs, e.g. http://10.0.0.1:2379,http://10.0.0.2:2379 (host:port means http://)",
);
/// This node's id in the cluster.
pub const NODE_ID: Spec = spec(
    "cluster.node-id",
    "SPACETIME_NODE_ID",
    Some("--node-id"),
    "a node name of letters, digits, '-', '_' and '.' (at most 64)",
);
/// Where other nodes and clients reach this node.
pub const ADVERTISE_ADDR: Spec = spec(
    "cluster.advertise-addr",
    "SPACETIME_ADVERTISE_ADDR",
    Some("--advertise-addr"),
    "host:port that clients and other nodes can reach, e.g. 10.0.0.1:3000",
);

/// The leader lease's time to live in cluster mode.
pub const LEASE_TTL: Spec = spec(
    "cluster.lease-ttl",
    "SPACETIME_CLUSTER_LEASE_TTL",
    Some("--cluster-lease-ttl"),
    "a whole number of seconds, at least 2, e.g. 3 or 3s",
);

/// What a cluster node is for the databases it does not lead.
pub const ROLE: Spec = spec(
    "cluster.role",
    "SPACETIME_CLUSTER_ROLE",
    Some("--cluster-role"),
    "standby (follows and may take over) or reader (follows and serves reads, never leads)",
);

/// How far behind its leader a follower may be and still serve reads itself.
pub const MAX_READ_LAG: Spec = spec(
    "cluster.max-read-lag",
    "SPACETIME_CLUSTER_MAX_READ_LAG",
    Some("--cluster-max-read-lag"),
    "milliseconds, e.g. 500, 500ms or 2s",
);

/// How long a placed node may be gone before its databases are placed elsewhere.
pub const REPLACE_AFTER: Spec = spec(
    "cluster.replace-after",
    "SPACETIME_CLUSTER_REPLACE_AFTER",
    Some("--cluster-replace-after"),
    "milliseconds, e.g. 30000, 500ms or 30s",
);

/// Every setting `config.toml` may hold (all but the root directory).
pub const FILE_SETTINGS: &[&Spec] = &[
    &LISTEN_ADDR,
    &DATA_DIR,
    &LOG_LEVEL,
    &LOG_FORMAT,
    &IN_MEMORY,
    &SNAPSHOT_EVERY,
    &SNAPSHOTS_TO_KEEP,
    &MAX_SEGMENT_SIZE,
    &PG_PORT,
    &ALLOW_PRIVATE_HTTP,
    &METRICS,
    &SHUTDOWN_TIMEOUT,
    &JWT_KEY_DIR,
    &JWT_PRIV_KEY_PATH,
    &JWT_PUB_KEY_PATH,
    &OIDC_ISSUERS,
    &MAX_PUBLISH_BODY,
    &HEADER_READ_TIMEOUT,
    &MAX_CONNECTIONS,
    &MAX_CONNECTIONS_PER_IP,
    &CLUSTER,
    &NODE_ID,
    &ADVERTISE_ADDR,
    &LEASE_TTL,
    &ROLE,
    &MAX_READ_LAG,
    &REPLACE_AFTER,
];

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A flag of `spacetime start`.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// A key of `config.toml`.
    File {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: &'static str,
    },
    /// `listen_addr` in the CLI's cli.toml, read before this file existed.
    CliToml(PathBuf),
    /// The built-in default; the text says what it followed from, if anything.
    Default(Option<&'static str>),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(flag) => write!(f, "flag {flag}"),
            Self::Env(var) => write!(f, "environment variable {var}"),
            Self::File { path, key } => write!(f, "{} key {key}", path.display()),
            Self::CliToml(path) => write!(f, "{} key listen_addr", path.display()),
            Self::Default(None) => f.write_str("default"),
            Self::Default(Some(why)) => write!(f, "default, {why}"),
        }
    }
}

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value does not parse.
    #[error("invalid value {value:?} for {key} (from {origin}): expected {accepted}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// The text given.
        value: String,
        /// Where it came from.
        origin: Source,
        /// What is accepted.
        accepted: &'static str,
    },
    /// `config.toml` exists but cannot be read.
    #[error("cannot read the config file {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `config.toml` is not TOML.
    #[error("the config file {} is not valid TOML: {message}", path.display())]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the line.
        message: String,
    },
    /// `config.toml` has a key no setting has.
    #[error("unknown setting `{key}` in {}; the settings are: {known}", path.display())]
    UnknownKey {
        /// The key.
        key: String,
        /// The file.
        path: PathBuf,
        /// Every known key.
        known: String,
    },
    /// A `config.toml` value is a table or a date.
    #[error(
        "{key} in {} must be a string, a number, true/false or a list of strings",
        path.display()
    )]
    WrongType {
        /// The key.
        key: String,
        /// The file.
        path: PathBuf,
    },
    /// Only one of the two key files is given.
    #[error(
        "{given} is set (from {origin}) but {missing} is not: give both key files, or neither to use a key \
         directory"
    )]
    HalfKeyPair {
        /// The key that is set.
        given: &'static str,
        /// Where it is set.
        origin: Source,
        /// The key that is missing.
        missing: &'static str,
    },
    /// Cluster mode is asked for without a setting it cannot do without.
    #[error(
        "cluster mode is on ({cluster} from {origin}) but {missing} is not set: give {flag} (or {env}, or \
         {missing} in config.toml)"
    )]
    ClusterIncomplete {
        /// The cluster setting.
        cluster: &'static str,
        /// Where cluster mode was turned on.
        origin: Source,
        /// The missing setting.
        missing: &'static str,
        /// Its flag.
        flag: &'static str,
        /// Its environment variable.
        env: &'static str,
    },
    /// No root directory is given and there is no home directory to default to.
    #[error("cannot find a root directory: HOME is not set; pass --root-dir <dir> or set SPACETIME_ROOT_DIR")]
    NoHome,
}

/// What the settings are resolved from, besides `config.toml`.
pub struct Inputs<'a> {
    /// Flags given, by setting key, as text.
    pub flags: BTreeMap<&'static str, String>,
    /// The environment (a function, so tests need not change the process's).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// `listen_addr` from cli.toml, with the file, if set.
    pub cli_toml_listen_addr: Option<(String, PathBuf)>,
    /// The CLI's configuration directory: the key pair's home when no root dir is given.
    pub cli_config_dir: PathBuf,
}

/// One line of `--print-config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// The setting.
    pub key: &'static str,
    /// Its value, as it would be written in `config.toml`.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// The resolved settings of `spacetime start`.
#[derive(Debug)]
pub struct Settings {
    /// The server's configuration.
    pub server: ServerConfig,
    /// The log filter (`EnvFilter` syntax).
    pub log_filter: String,
    /// The log line format.
    pub log_format: LogFormat,
    /// Each setting with its value and source, in a stable order.
    pub report: Vec<Reported>,
    /// The config file and whether it exists.
    pub config_file: (PathBuf, bool),
    /// Things to log once logging is set up (ignored config sections).
    pub warnings: Vec<String>,
}

impl Settings {
    /// The `--print-config` text: `config.toml` lines, each with its source as a comment.
    pub fn render(&self) -> String {
        let (path, found) = &self.config_file;
        let mut out = format!(
            "# spacetime start: effective settings; config file {} ({})\n",
            path.display(),
            if *found { "read" } else { "not found" }
        );
        let width = self
            .report
            .iter()
            .map(|r| r.key.len() + r.value.len() + 3)
            .max()
            .unwrap_or(0);
        for r in &self.report {
            let line = format!("{} = {}", r.key, r.value);
            out.push_str(&format!("{line:width$}  # {}\n", r.source));
        }
        out
    }
}

/// The default root directory: `$XDG_DATA_HOME/spacetime`, else
/// `$HOME/.local/share/spacetime`; `None` when neither is set. An empty variable counts
/// as unset, as the XDG base directory specification says.
pub fn default_root_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |key| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = set("XDG_DATA_HOME").or_else(|| Some(set("HOME")?.join(".local/share")))?;
    Some(base.join("spacetime"))
}

/// Resolves every setting.
///
/// # Errors
/// See [`SettingsError`]: the first bad value, or an unreadable or bad `config.toml`.
pub fn resolve(inputs: &Inputs<'_>) -> Result<Settings, SettingsError> {
    let mut r = Resolver {
        inputs,
        file: ConfigFile::default(),
        report: Vec::new(),
    };
    let home_default = || default_root_dir(inputs.env).ok_or(SettingsError::NoHome);
    let (root_dir, root_source) = match r.lookup(&ROOT_DIR) {
        Some((text, source)) => (r.parse(&ROOT_DIR, text, source.clone(), values::path)?, source),
        None => (home_default()?, Source::Default(Some("$XDG_DATA_HOME/spacetime"))),
    };
    r.report.push(Reported {
        key: ROOT_DIR.key,
        value: show_path(&root_dir),
        source: root_source.clone(),
    });
    let known: Vec<&str> = FILE_SETTINGS.iter().map(|s| s.key).collect();
    r.file = ConfigFile::load(&root_dir.join("config.toml"), &known)?;
    let root_given = !matches!(root_source, Source::Default(_));

    let data_dir = r.get(&DATA_DIR, values::path, show_path, || {
        (root_dir.join("data"), Some("<root-dir>/data"))
    })?;
    let mut server = ServerConfig::new(data_dir);
    server.listen_addr = match (r.lookup(&LISTEN_ADDR), &inputs.cli_toml_listen_addr) {
        (None, Some((text, path))) => {
            let source = Source::CliToml(path.clone());
            let addr = r.parse(&LISTEN_ADDR, text.clone(), source.clone(), values::listen_addr)?;
            r.report.push(Reported {
                key: LISTEN_ADDR.key,
                value: quote(&addr),
                source,
            });
            addr
        }
        _ => r.get(
            &LISTEN_ADDR,
            values::listen_addr,
            |a| quote(a),
            || (ServerConfig::DEFAULT_LISTEN_ADDR.to_owned(), None),
        )?,
    };
    let log_filter = r.get(
        &LOG_LEVEL,
        values::log_filter,
        |f| quote(f),
        || (values::log_filter("info").unwrap_or_default(), Some("info")),
    )?;
    let log_format = r.get(
        &LOG_FORMAT,
        values::log_format,
        |f| quote(f.name()),
        || (LogFormat::Text, None),
    )?;
    server.in_memory = r.get(&IN_MEMORY, values::boolean, bool::to_string, || (false, None))?;
    server.snapshot_every = r.get(&SNAPSHOT_EVERY, values::number, u64::to_string, || {
        (server.snapshot_every, None)
    })?;
    server.snapshots_to_keep = r.get(
        &SNAPSHOTS_TO_KEEP,
        |t| values::number::<usize>(t).filter(|n| *n >= 1),
        usize::to_string,
        || (server.snapshots_to_keep, None),
    )?;
    server.max_segment_size = r.get(
        &MAX_SEGMENT_SIZE,
        |t| values::number::<u64>(t).filter(|n| *n >= 4096),
        u64::to_string,
        || (server.max_segment_size, None),
    )?;
    server.pg_port = r.get(
        &PG_PORT,
        values::pg_port,
        |p| p.map_or_else(|| quote("off"), |p| p.to_string()),
        || (None, None),
    )?;
    server.allow_private_http = r.get(&ALLOW_PRIVATE_HTTP, values::boolean, bool::to_string, || (false, None))?;
    server.metrics = r.get(
        &METRICS,
        values::boolean,
        |m| quote(if *m { "on" } else { "off" }),
        || (true, None),
    )?;
    server.shutdown_timeout = r.get(&SHUTDOWN_TIMEOUT, values::seconds, show_secs, || {
        (server.shutdown_timeout, None)
    })?;
    server.jwt_keys = r.jwt_keys(&root_dir, root_given)?;
    server.oidc_issuers = r.get(
        &OIDC_ISSUERS,
        |t| OidcIssuer::parse_list(t).ok(),
        |list| {
            let entries: Vec<String> = list
                .iter()
                .map(|i| match &i.audience {
                    Some(audience) => format!("{}|{audience}", i.issuer),
                    None => i.issuer.clone(),
                })
                .collect();
            quote(&entries.join(","))
        },
        || (Vec::new(), None),
    )?;
    server.max_publish_body = r.get(&MAX_PUBLISH_BODY, values::number, usize::to_string, || {
        (server.max_publish_body, None)
    })?;
    server.header_read_timeout = r.get(&HEADER_READ_TIMEOUT, values::seconds, show_secs, || {
        (server.header_read_timeout, None)
    })?;
    server.max_connections = r.get(&MAX_CONNECTIONS, values::number, usize::to_string, || {
        (server.max_connections, None)
    })?;
    server.max_connections_per_ip = r.get(&MAX_CONNECTIONS_PER_IP, values::number, usize::to_string, || {
        (server.max_connections_per_ip, None)
    })?;
    server.cluster = r.cluster(&server.listen_addr)?;
    Ok(Settings {
        server,
        log_filter,
        log_format,
        report: r.report,
        config_file: (r.file.path.clone(), r.file.found),
        warnings: r.file.warnings,
    })
}

struct Resolver<'a> {
    inputs: &'a Inputs<'a>,
    file: ConfigFile,
    report: Vec<Reported>,
}

impl Resolver<'_> {
    /// The text of `spec` from the first source that has it.
    fn lookup(&self, spec: &Spec) -> Option<(String, Source)> {
        if let (Some(text), Some(flag)) = (self.inputs.flags.get(spec.key), spec.flag) {
            return Some((text.clone(), Source::Flag(flag)));
        }
        let env = |var: &'static str| {
            (self.inputs.env)(var)
                .filter(|v| !v.is_empty())
                .map(|v| (v, Source::Env(var)))
        };
        if let Some(found) = env(spec.env).or_else(|| spec.env_alias.and_then(env)) {
            return Some(found);
        }
        self.file.values.get(spec.key).map(|text| {
            (
                text.clone(),
                Source::File {
                    path: self.file.path.clone(),
                    key: spec.key,
                },
            )
        })
    }

    fn parse<T>(
        &self,
        spec: &'static Spec,
        text: String,
        origin: Source,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, SettingsError> {
        parse(&text).ok_or(SettingsError::Invalid {
            key: spec.key,
            value: text,
            origin,
            accepted: spec.accepted,
        })
    }

    /// Looks `spec` up, parses it (or takes the default) and records it for the report.
    fn get<T>(
        &mut self,
        spec: &'static Spec,
        parse: impl Fn(&str) -> Option<T>,
        show: impl Fn(&T) -> String,
        default: impl FnOnce() -> (T, Option<&'static str>),
    ) -> Result<T, SettingsError> {
        let (value, source) = match self.lookup(spec) {
            Some((text, source)) => (self.parse(spec, text, source.clone(), parse)?, source),
            None => {
                let (value, why) = default();
                (value, Source::Default(why))
            }
        };
        self.report.push(Reported {
            key: spec.key,
            value: show(&value),
            source,
        });
        Ok(value)
    }

    /// Cluster mode: off unless [`CLUSTER`] is set; then [`NODE_ID`] is required and
    /// [`ADVERTISE_ADDR`] defaults to the listen address when that names a host and a
    /// port (not `0.0.0.0` or port 0).
    fn cluster(&mut self, listen_addr: &str) -> Result<Option<ClusterConfig>, SettingsError> {
        let Some((text, origin)) = self.lookup(&CLUSTER) else {
            self.report.push(Reported {
                key: CLUSTER.key,
                value: quote("off"),
                source: Source::Default(None),
            });
            return Ok(None);
        };
        let endpoints = self.parse(&CLUSTER, text, origin.clone(), values::endpoints)?;
        self.report.push(Reported {
            key: CLUSTER.key,
            value: quote(&endpoints.join(",")),
            source: origin.clone(),
        });
        let missing = |spec: &Spec| SettingsError::ClusterIncomplete {
            cluster: CLUSTER.key,
            origin: origin.clone(),
            missing: spec.key,
            flag: spec.flag.unwrap_or_default(),
            env: spec.env,
        };
        let Some((text, source)) = self.lookup(&NODE_ID) else {
            return Err(missing(&NODE_ID));
        };
        let node_id = self.parse(&NODE_ID, text, source.clone(), values::node_id)?;
        self.report.push(Reported {
            key: NODE_ID.key,
            value: quote(&node_id),
            source,
        });
        let advertise_addr = match self.lookup(&ADVERTISE_ADDR) {
            Some((text, source)) => {
                let addr = self.parse(&ADVERTISE_ADDR, text, source.clone(), values::advertise_addr)?;
                self.report.push(Reported {
                    key: ADVERTISE_ADDR.key,
                    value: quote(&addr),
                    source,
                });
                addr
            }
            None => {
                let addr = values::advertise_addr(listen_addr).ok_or_else(|| missing(&ADVERTISE_ADDR))?;
                self.report.push(Reported {
                    key: ADVERTISE_ADDR.key,
                    value: quote(&addr),
                    source: Source::Default(Some("the listen address")),
                });
                addr
            }
        };
        let mut cluster = ClusterConfig::new(endpoints, node_id, advertise_addr);
        cluster.lease_ttl = self.get(
            &LEASE_TTL,
            |t| values::seconds(t).filter(|d| d.as_secs() >= 2),
            show_secs,
            || (ClusterConfig::DEFAULT_LEASE_TTL, None),
        )?;
        cluster.role = self.get(
            &ROLE,
            ClusterRole::parse,
            |r| quote(r.name()),
            || (ClusterRole::Standby, None),
        )?;
        cluster.max_read_lag = self.get(&MAX_READ_LAG, values::millis, show_millis, || {
            (ClusterConfig::DEFAULT_MAX_READ_LAG, None)
        })?;
        cluster.replace_after = self.get(&REPLACE_AFTER, values::millis, show_millis, || {
            (ClusterConfig::DEFAULT_REPLACE_AFTER, None)
        })?;
        Ok(Some(cluster))
    }

    /// Both key files, or a key directory: given, `<root-dir>/config` when the root
    /// directory is given (upstream's layout), else the CLI's configuration directory.
    fn jwt_keys(&mut self, root_dir: &Path, root_given: bool) -> Result<JwtKeySource, SettingsError> {
        let private = self.lookup(&JWT_PRIV_KEY_PATH);
        let public = self.lookup(&JWT_PUB_KEY_PATH);
        match (private, public) {
            (Some((private, private_source)), Some((public, public_source))) => {
                let private = self.parse(&JWT_PRIV_KEY_PATH, private, private_source.clone(), values::path)?;
                let public = self.parse(&JWT_PUB_KEY_PATH, public, public_source.clone(), values::path)?;
                for (spec, path, source) in [
                    (&JWT_PRIV_KEY_PATH, &private, private_source),
                    (&JWT_PUB_KEY_PATH, &public, public_source),
                ] {
                    self.report.push(Reported {
                        key: spec.key,
                        value: show_path(path),
                        source,
                    });
                }
                Ok(JwtKeySource::Files { private, public })
            }
            (Some((_, origin)), None) => Err(SettingsError::HalfKeyPair {
                given: JWT_PRIV_KEY_PATH.key,
                origin,
                missing: JWT_PUB_KEY_PATH.key,
            }),
            (None, Some((_, origin))) => Err(SettingsError::HalfKeyPair {
                given: JWT_PUB_KEY_PATH.key,
                origin,
                missing: JWT_PRIV_KEY_PATH.key,
            }),
            (None, None) => {
                let cli_dir = self.inputs.cli_config_dir.clone();
                let dir = self.get(&JWT_KEY_DIR, values::path, show_path, || {
                    if root_given {
                        (root_dir.join("config"), Some("<root-dir>/config"))
                    } else {
                        (cli_dir, Some("the CLI's configuration directory"))
                    }
                })?;
                Ok(JwtKeySource::Dir(dir))
            }
        }
    }
}

fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn show_path(path: &impl AsRef<Path>) -> String {
    let path = path.as_ref();
    quote(&path.display().to_string())
}

fn show_millis(d: &Duration) -> String {
    quote(&format!("{}ms", d.as_millis()))
}

fn show_secs(d: &Duration) -> String {
    quote(&format!("{}s", d.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolves with `flags`, the environment `env` and `config.toml` text `file` in a
    /// temporary root directory (given as `--root-dir`).
    fn resolve_with(
        flags: &[(&'static str, &str)],
        env: &[(&str, &str)],
        file: Option<&str>,
    ) -> (Result<Settings, SettingsError>, tempfile::TempDir) {
        let root = tempfile::tempdir().unwrap();
        if let Some(text) = file {
            std::fs::write(root.path().join("config.toml"), text).unwrap();
        }
        let mut flag_map: BTreeMap<&'static str, String> = flags.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        flag_map.insert(ROOT_DIR.key, root.path().display().to_string());
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let lookup = move |var: &str| env.get(var).cloned();
        let inputs = Inputs {
            flags: flag_map,
            env: &lookup,
            cli_toml_listen_addr: None,
            cli_config_dir: PathBuf::from("/cli-config"),
        };
        (resolve(&inputs), root)
    }

    fn source_of(settings: &Settings, key: &str) -> Source {
        settings.report.iter().find(|r| r.key == key).unwrap().source.clone()
    }

    /// For every setting that has a flag, an environment variable and a file key: a
    /// value given at each level wins over the ones below it.
    #[test]
    fn flags_beat_env_beat_file_beat_defaults_for_every_setting() {
        // (spec, three distinct valid values, how the resolved value reads back)
        type Read = fn(&Settings) -> String;
        let cases: [(&Spec, [&str; 3], Read); 13] = [
            (&SNAPSHOTS_TO_KEEP, ["1", "3", "5"], |s| {
                s.server.snapshots_to_keep.to_string()
            }),
            (&MAX_SEGMENT_SIZE, ["5000", "6000", "7000"], |s| {
                s.server.max_segment_size.to_string()
            }),
            (&LISTEN_ADDR, ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"], |s| {
                s.server.listen_addr.clone()
            }),
            (&DATA_DIR, ["/d1", "/d2", "/d3"], |s| {
                s.server.data_dir.display().to_string()
            }),
            (&LOG_LEVEL, ["debug", "trace", "error"], |s| s.log_filter.clone()),
            (&LOG_FORMAT, ["json", "text", "json"], |s| {
                s.log_format.name().to_owned()
            }),
            (&SNAPSHOT_EVERY, ["1", "2", "3"], |s| {
                s.server.snapshot_every.to_string()
            }),
            (&PG_PORT, ["5001", "5002", "5003"], |s| {
                format!("{:?}", s.server.pg_port)
            }),
            (&METRICS, ["off", "on", "off"], |s| s.server.metrics.to_string()),
            (&SHUTDOWN_TIMEOUT, ["1", "2s", "3"], |s| {
                s.server.shutdown_timeout.as_secs().to_string()
            }),
            (&MAX_PUBLISH_BODY, ["11", "12", "13"], |s| {
                s.server.max_publish_body.to_string()
            }),
            (&HEADER_READ_TIMEOUT, ["21", "22", "23"], |s| {
                s.server.header_read_timeout.as_secs().to_string()
            }),
            (&MAX_CONNECTIONS, ["31", "32", "33"], |s| {
                s.server.max_connections.to_string()
            }),
        ];
        for (spec, [flag, env, file], read) in cases {
            let flag_name = spec.flag.unwrap();
            let file_text = toml_line(spec.key, file);
            let (default, _root) = resolve_with(&[], &[], None);
            let default = read(&default.unwrap());
            let (from_file, _root) = resolve_with(&[], &[], Some(&file_text));
            let from_file = from_file.unwrap();
            assert!(
                matches!(source_of(&from_file, spec.key), Source::File { .. }),
                "{}",
                spec.key
            );
            let (from_env, _root) = resolve_with(&[], &[(spec.env, env)], Some(&file_text));
            let from_env = from_env.unwrap();
            assert_eq!(source_of(&from_env, spec.key), Source::Env(spec.env));
            let (from_flag, _root) = resolve_with(&[(spec.key, flag)], &[(spec.env, env)], Some(&file_text));
            let from_flag = from_flag.unwrap();
            assert_eq!(source_of(&from_flag, spec.key), Source::Flag(flag_name));
            let [d, f, e, g] = [default, read(&from_file), read(&from_env), read(&from_flag)];
            assert!(d != f && f != e && e != g, "{}: {d} / {f} / {e} / {g}", spec.key);
        }
    }

    /// A `config.toml` line for a dotted key.
    fn toml_line(key: &str, value: &str) -> String {
        match key.split_once('.') {
            Some((section, name)) => format!("[{section}]\n{name} = {}\n", quote(value)),
            None => format!("{key} = {}\n", quote(value)),
        }
    }

    #[test]
    fn booleans_and_lists_through_each_source() {
        for spec in [&IN_MEMORY, &ALLOW_PRIVATE_HTTP] {
            let (s, _root) = resolve_with(&[], &[], Some(&format!("{} = true\n", spec.key)));
            let s = s.unwrap();
            assert!(matches!(source_of(&s, spec.key), Source::File { .. }));
            let (s2, _root) = resolve_with(&[], &[(spec.env, "off")], Some(&format!("{} = true\n", spec.key)));
            let s2 = s2.unwrap();
            assert_eq!(source_of(&s2, spec.key), Source::Env(spec.env));
            let read = |s: &Settings| {
                if spec.key == IN_MEMORY.key {
                    s.server.in_memory
                } else {
                    s.server.allow_private_http
                }
            };
            assert!(read(&s) && !read(&s2), "{}", spec.key);
        }
        let (s, _root) = resolve_with(&[("in-memory", "true")], &[("SPACETIME_IN_MEMORY", "0")], None);
        assert!(s.unwrap().server.in_memory, "the flag wins");

        let file = "oidc-issuers = [\"https://a.example\", \"https://b.example|aud\"]\n";
        let (s, _root) = resolve_with(&[], &[], Some(file));
        let issuers = s.unwrap().server.oidc_issuers;
        assert_eq!(issuers.len(), 2);
        assert_eq!(issuers[1].audience.as_deref(), Some("aud"));
        let (s, _root) = resolve_with(&[], &[(OIDC_ISSUERS.env, "https://c.example")], Some(file));
        assert_eq!(s.unwrap().server.oidc_issuers[0].issuer, "https://c.example");
    }

    #[test]
    fn rust_log_is_read_when_spacetime_log_level_is_not_set() {
        let (s, _root) = resolve_with(&[], &[("RUST_LOG", "debug")], None);
        let s = s.unwrap();
        assert_eq!(s.log_filter, "warn,spacetime=debug");
        assert_eq!(source_of(&s, LOG_LEVEL.key), Source::Env("RUST_LOG"));
        let (s, _root) = resolve_with(&[], &[("RUST_LOG", "debug"), ("SPACETIME_LOG_LEVEL", "error")], None);
        assert_eq!(s.unwrap().log_filter, "error,spacetime=error");
    }

    #[test]
    fn key_files_from_the_file_and_the_root_dirs_key_directory() {
        let (s, root) = resolve_with(&[], &[], None);
        assert_eq!(
            s.unwrap().server.jwt_keys,
            JwtKeySource::Dir(root.path().join("config"))
        );
        let file = "[certificate-authority]\njwt-priv-key-path = \"/k/priv\"\njwt-pub-key-path = \"/k/pub\"\n";
        let (s, _root) = resolve_with(&[], &[], Some(file));
        assert_eq!(
            s.unwrap().server.jwt_keys,
            JwtKeySource::Files {
                private: "/k/priv".into(),
                public: "/k/pub".into()
            }
        );
        let (s, _root) = resolve_with(&[], &[("SPACETIME_JWT_PRIV_KEY_PATH", "/k/priv")], None);
        let e = s.unwrap_err().to_string();
        assert!(
            e.contains("SPACETIME_JWT_PRIV_KEY_PATH") && e.contains("jwt-pub-key-path"),
            "{e}"
        );
    }

    #[test]
    fn without_a_root_dir_the_defaults_are_upstreams() {
        let env = |var: &str| (var == "HOME").then(|| "/home/u".to_owned());
        let inputs = Inputs {
            flags: BTreeMap::new(),
            env: &env,
            cli_toml_listen_addr: Some(("127.0.0.1:9".to_owned(), PathBuf::from("/c/cli.toml"))),
            cli_config_dir: PathBuf::from("/home/u/.config/spacetime"),
        };
        let s = resolve(&inputs).unwrap();
        assert_eq!(s.server.data_dir, PathBuf::from("/home/u/.local/share/spacetime/data"));
        assert_eq!(
            s.server.jwt_keys,
            JwtKeySource::Dir(PathBuf::from("/home/u/.config/spacetime"))
        );
        assert_eq!(s.server.listen_addr, "127.0.0.1:9");
        assert_eq!(
            source_of(&s, LISTEN_ADDR.key),
            Source::CliToml(PathBuf::from("/c/cli.toml"))
        );
        assert_eq!(s.server.shutdown_timeout, Duration::from_secs(10));
        assert!(s.server.metrics && !s.server.in_memory && s.server.pg_port.is_none());
        let no_home = |_: &str| None;
        let inputs = Inputs {
            env: &no_home,
            ..inputs
        };
        assert!(matches!(resolve(&inputs), Err(SettingsError::NoHome)));
    }

    #[test]
    fn a_bad_value_names_the_setting_its_source_and_what_is_accepted() {
        let (s, root) = resolve_with(&[], &[], Some("snapshot-every = \"often\"\n"));
        let e = s.unwrap_err().to_string();
        let path = root.path().join("config.toml").display().to_string();
        assert_eq!(
            e,
            format!(
                "invalid value \"often\" for snapshot-every (from {path} key snapshot-every): expected a whole \
                 number of transactions, 0 for never"
            )
        );
        let (s, _root) = resolve_with(&[], &[("SPACETIME_LOG_FORMAT", "xml")], None);
        let e = s.unwrap_err().to_string();
        assert!(
            e.contains("logs.format")
                && e.contains("environment variable SPACETIME_LOG_FORMAT")
                && e.contains("text or json"),
            "{e}"
        );
        let (s, _root) = resolve_with(&[("pg-port", "99999")], &[], None);
        let e = s.unwrap_err().to_string();
        assert!(
            e.contains("pg-port") && e.contains("flag --pg-port") && e.contains("1-65535"),
            "{e}"
        );
        let (s, _root) = resolve_with(&[], &[("SPACETIME_METRICS", "sometimes")], None);
        assert!(s.unwrap_err().to_string().contains("on or off"));
        let (s, _root) = resolve_with(&[], &[("SPACETIME_SNAPSHOTS_TO_KEEP", "0")], None);
        assert!(s.unwrap_err().to_string().contains("at least 1"));
        let (s, _root) = resolve_with(&[], &[], Some("[durability.commitlog]\nmax-segment-size = 100\n"));
        assert!(s
            .unwrap_err()
            .to_string()
            .contains("durability.commitlog.max-segment-size"));
        let (s, _root) = resolve_with(&[], &[(OIDC_ISSUERS.env, "ftp://x")], None);
        assert!(s.unwrap_err().to_string().contains("oidc-issuers"));
    }

    #[test]
    fn the_report_lists_every_setting_once_with_its_source() {
        let (s, _root) = resolve_with(&[("listen-addr", "127.0.0.1:7")], &[("SPACETIME_METRICS", "off")], None);
        let s = s.unwrap();
        let text = s.render();
        assert!(text.contains("listen-addr = \"127.0.0.1:7\""), "{text}");
        assert!(text.contains("# flag --listen-addr"), "{text}");
        assert!(text.contains("metrics = \"off\""), "{text}");
        assert!(text.contains("# environment variable SPACETIME_METRICS"), "{text}");
        assert!(text.contains("(not found)"), "{text}");
        let mut keys: Vec<&str> = s.report.iter().map(|r| r.key).collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "a setting is reported twice");
        // Every setting but the two key files (a key directory is used instead) and
        // those only cluster mode has (every `cluster.*` but the endpoints) is shown.
        let cluster_only = FILE_SETTINGS
            .iter()
            .filter(|s| s.key.starts_with("cluster.") && s.key != CLUSTER.key)
            .count();
        assert_eq!(n, FILE_SETTINGS.len() + 1 - 2 - cluster_only);
        assert!(text.contains("cluster.endpoints = \"off\""), "{text}");
    }

    #[test]
    fn cluster_mode_from_flags_environment_and_config_file() {
        let flags = [
            ("cluster.endpoints", "127.0.0.1:2379,http://127.0.0.2:2379"),
            ("cluster.node-id", "n1"),
            ("listen-addr", "127.0.0.1:3001"),
        ];
        let (s, _root) = resolve_with(&flags, &[], None);
        let s = s.unwrap();
        let cluster = s.server.cluster.clone().expect("cluster mode");
        assert_eq!(cluster.endpoints, ["http://127.0.0.1:2379", "http://127.0.0.2:2379"]);
        assert_eq!(cluster.lease_ttl, ClusterConfig::DEFAULT_LEASE_TTL);
        assert_eq!(
            (cluster.node_id.as_str(), cluster.advertise_addr.as_str()),
            ("n1", "127.0.0.1:3001")
        );
        let text = s.render();
        assert!(text.contains("# default, the listen address"), "{text}");
        assert!(text.contains("# flag --node-id"), "{text}");

        let env = [
            ("SPACETIME_CLUSTER", "http://10.0.0.1:2379"),
            ("SPACETIME_NODE_ID", "n2"),
            ("SPACETIME_ADVERTISE_ADDR", "10.0.0.2:3000"),
            ("SPACETIME_CLUSTER_LEASE_TTL", "5s"),
        ];
        let (s, _root) = resolve_with(&[], &env, None);
        let cluster = s.unwrap().server.cluster.expect("cluster mode");
        assert_eq!(cluster.lease_ttl, Duration::from_secs(5));
        assert_eq!(cluster.role, ClusterRole::Standby);
        assert_eq!(cluster.max_read_lag, ClusterConfig::DEFAULT_MAX_READ_LAG);
        assert_eq!(
            (cluster.node_id.as_str(), cluster.advertise_addr.as_str()),
            ("n2", "10.0.0.2:3000")
        );

        let toml =
            "[cluster]\nendpoints = [\"http://10.0.0.1:2379\"]\nnode-id = \"n3\"\nadvertise-addr = \"h3:3000\"\n\
                    role = \"reader\"\nmax-read-lag = \"250ms\"\n";
        let (s, _root) = resolve_with(&[], &[], Some(toml));
        let cluster = s.unwrap().server.cluster.expect("cluster mode");
        assert_eq!(cluster.role, ClusterRole::Reader);
        assert_eq!(cluster.max_read_lag, Duration::from_millis(250));
        assert_eq!(
            (cluster.node_id.as_str(), cluster.advertise_addr.as_str()),
            ("n3", "h3:3000")
        );
    }

    #[test]
    fn cluster_mode_without_node_id_or_reachable_address_is_refused() {
        let (s, _root) = resolve_with(&[("cluster.endpoints", "127.0.0.1:2379")], &[], None);
        let message = s.unwrap_err().to_string();
        assert!(
            message.contains("--node-id") && message.contains("SPACETIME_NODE_ID"),
            "{message}"
        );
        let flags = [("cluster.endpoints", "127.0.0.1:2379"), ("cluster.node-id", "n1")];
        let (s, _root) = resolve_with(&flags, &[], None);
        let message = s.unwrap_err().to_string();
        assert!(message.contains("--advertise-addr"), "{message}");
        let (s, _root) = resolve_with(&[("cluster.endpoints", "not a url")], &[], None);
        assert!(s.unwrap_err().to_string().contains("etcd client URLs"));
        let flags = [
            ("cluster.endpoints", "127.0.0.1:2379"),
            ("cluster.node-id", "n1"),
            ("cluster.advertise-addr", "h:1"),
            ("cluster.lease-ttl", "1"),
        ];
        let (s, _root) = resolve_with(&flags, &[], None);
        assert!(s.unwrap_err().to_string().contains("at least 2"));
    }
}
