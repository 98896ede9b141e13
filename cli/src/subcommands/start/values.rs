//! The value parsers of `spacetime start`'s settings: one function per kind of value,
//! each returning `None` for text it does not accept, so the caller can report the
//! setting, where the text came from and what is accepted in one place.

use std::path::PathBuf;
use std::time::Duration;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    /// The name used in settings.
    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

/// `text` or `json`.
pub fn log_format(text: &str) -> Option<LogFormat> {
    match text.trim().to_ascii_lowercase().as_str() {
        "text" => Some(LogFormat::Text),
        "json" => Some(LogFormat::Json),
        _ => None,
    }
}

/// The levels a bare log level may name, most to least severe.
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// A log filter in `tracing-subscriber`'s `EnvFilter` syntax. A bare level applies to
/// Spacetime's own crates, while libraries stay at `warn` at most: their info lines are
/// noise to an operator. Anything else is taken as written (`warn,spacetime_engine=debug`).
pub fn log_filter(text: &str) -> Option<String> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let filter = match LEVELS.iter().position(|l| *l == lower) {
        Some(i) => format!("{},spacetime={lower}", LEVELS[i.min(2)]),
        None if text.is_empty() => return None,
        None => text.to_owned(),
    };
    tracing_subscriber::EnvFilter::builder()
        .parse(&filter)
        .ok()
        .map(|_| filter)
}

/// `true`/`false`, `on`/`off`, `yes`/`no` or `1`/`0`.
pub fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Some(true),
        "false" | "off" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A whole number (`_` separators allowed, as in TOML).
pub fn number<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.trim().replace('_', "").parse().ok()
}

/// A whole number of seconds, with or without an `s` suffix.
pub fn seconds(text: &str) -> Option<Duration> {
    let text = text.trim();
    number(text.strip_suffix('s').unwrap_or(text)).map(Duration::from_secs)
}

/// A duration in milliseconds: a whole number with an optional `ms` suffix, or whole
/// seconds with an `s` suffix.
pub fn millis(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        return number(ms).map(Duration::from_millis);
    }
    match text.strip_suffix('s') {
        Some(secs) => number(secs).map(Duration::from_secs),
        None => number(text).map(Duration::from_millis),
    }
}

/// `host:port`, the host a name or an IP address (IPv6 in brackets), the port 0–65535.
pub fn listen_addr(text: &str) -> Option<String> {
    let text = text.trim();
    let (host, port) = text.rsplit_once(':')?;
    let host_ok = !host.is_empty() && (!host.contains(':') || (host.starts_with('[') && host.ends_with(']')));
    (host_ok && port.parse::<u16>().is_ok()).then(|| text.to_owned())
}

/// A TCP port for the PostgreSQL server, 1–65535, or `off` for none.
pub fn pg_port(text: &str) -> Option<Option<u16>> {
    match text.trim() {
        "off" | "none" => Some(None),
        port => number::<u16>(port).filter(|p| *p != 0).map(Some),
    }
}

/// A file or directory path; a leading `~/` is the home directory, as in upstream's
/// config.toml.
pub fn path(text: &str) -> Option<PathBuf> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match (text.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Some(PathBuf::from(home).join(rest)),
        _ => Some(PathBuf::from(text)),
    }
}

/// etcd client URLs, comma-separated; `host:port` gets `http://`.
pub fn endpoints(text: &str) -> Option<Vec<String>> {
    let urls: Vec<String> = text
        .split(',')
        .map(str::trim)
        .map(|e| {
            let (scheme, rest) = match e.split_once("://") {
                Some((scheme, rest)) => (scheme, rest),
                None => ("http", e),
            };
            let (host, port) = rest.trim_end_matches('/').rsplit_once(':')?;
            let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
            (matches!(scheme, "http" | "https") && !host.is_empty() && !host.contains('/'))
                .then(|| format!("{scheme}://{host}:{port}"))
        })
        .collect::<Option<_>>()?;
    (!urls.is_empty()).then_some(urls)
}

/// A node id: 1 to 64 letters, digits, `-`, `_` or `.`.
pub fn node_id(text: &str) -> Option<String> {
    let id = text.trim();
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then(|| id.to_owned())
}

/// An address others can reach: `host:port` with a host that is not unspecified
/// (`0.0.0.0`, `::`) and a port that is not 0.
pub fn advertise_addr(text: &str) -> Option<String> {
    let addr = text.trim();
    let (host_part, port) = addr.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let host = host_part.trim_start_matches('[').trim_end_matches(']');
    let unspecified = host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_unspecified());
    (!host.is_empty() && !unspecified).then(|| format!("{host_part}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_level_is_for_our_crates_and_caps_libraries_at_warn() {
        assert_eq!(log_filter("DEBUG").as_deref(), Some("warn,spacetime=debug"));
        assert_eq!(log_filter("error").as_deref(), Some("error,spacetime=error"));
        assert_eq!(log_filter("info").as_deref(), Some("warn,spacetime=info"));
        assert_eq!(
            log_filter("warn,spacetime_engine=trace").as_deref(),
            Some("warn,spacetime_engine=trace")
        );
        assert_eq!(log_filter("loud"), Some("loud".to_owned()), "a bare target is a filter");
        assert_eq!(log_filter("spacetime=noisy"), None);
        assert_eq!(log_filter(""), None);
    }

    #[test]
    fn addresses_need_a_host_and_a_port() {
        assert!(listen_addr("0.0.0.0:3000").is_some());
        assert!(listen_addr("localhost:0").is_some());
        assert!(listen_addr("[::1]:3000").is_some());
        assert!(listen_addr("::1:3000").is_none());
        assert!(listen_addr("3000").is_none());
        assert!(listen_addr(":3000").is_none());
        assert!(listen_addr("host:70000").is_none());
    }

    #[test]
    fn scalars() {
        assert_eq!(boolean("On"), Some(true));
        assert_eq!(boolean("0"), Some(false));
        assert_eq!(boolean("maybe"), None);
        assert_eq!(number::<u64>("100_000"), Some(100_000));
        assert_eq!(number::<u64>("-1"), None);
        assert_eq!(seconds("30s"), Some(Duration::from_secs(30)));
        assert_eq!(seconds("soon"), None);
        assert_eq!(pg_port("5432"), Some(Some(5432)));
        assert_eq!(pg_port("off"), Some(None));
        assert_eq!(pg_port("0"), None);
        assert_eq!(
            endpoints("127.0.0.1:2379, http://127.0.0.2:2379"),
            Some(vec![
                "http://127.0.0.1:2379".to_owned(),
                "http://127.0.0.2:2379".to_owned()
            ])
        );
        assert_eq!(endpoints(""), None);
        assert_eq!(endpoints("127.0.0.1"), None);
        assert_eq!(endpoints("ftp://a:1"), None);
        assert_eq!(node_id("n-1.a"), Some("n-1.a".to_owned()));
        assert_eq!(node_id("a b"), None);
        assert_eq!(advertise_addr("10.0.0.1:3000"), Some("10.0.0.1:3000".to_owned()));
        assert_eq!(advertise_addr("0.0.0.0:3000"), None);
        assert_eq!(advertise_addr("[::]:3000"), None);
        assert_eq!(advertise_addr("127.0.0.1:0"), None);
        assert_eq!(log_format("JSON"), Some(LogFormat::Json));
        assert_eq!(log_format("xml"), None);
    }
}
