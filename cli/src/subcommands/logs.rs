//! `spacetime logs <db>`: prints a database's module logs (owner only), as text or as the
//! server's NDJSON records, optionally following new lines and filtering by level.

use crate::{Auth, Ctx};
use anyhow::{Context, Result};
use reqwest::Method;
use spacetime_sats::Timestamp;
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

/// Arguments of `logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The name or identity of the database (default: `database` in spacetime.json).
    pub database: Option<String>,
    /// Print only the last N lines (`--follow` defaults this to 10).
    #[arg(short = 'n', long)]
    pub num_lines: Option<u32>,
    /// Keep waiting for new lines.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// `text` for people, `json` for the server's records as they are.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Only print lines at this level or more severe.
    #[arg(short = 'l', long, value_enum)]
    pub level: Option<Level>,
    /// With --level: only print lines at exactly that level.
    #[arg(long, requires = "level")]
    pub level_exact: bool,
}

/// Output formats of `logs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `<time> <LEVEL>: <file>:<line>: <message>`.
    Text,
    /// One JSON record per line, as the server sends it.
    Json,
}

/// Log levels, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Level {
    /// Trace.
    Trace,
    /// Debug.
    Debug,
    /// Info.
    Info,
    /// Warn.
    Warn,
    /// Error.
    Error,
    /// A panic (or trap) of the module.
    Panic,
}

impl Level {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "trace" => Self::Trace,
            "debug" => Self::Debug,
            "info" => Self::Info,
            "warn" => Self::Warn,
            "error" => Self::Error,
            "panic" => Self::Panic,
            _ => return None,
        })
    }

    fn label(self) -> &'static str {
        match self {
            Self::Trace => "TRACE",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
            Self::Panic => "PANIC",
        }
    }
}

/// Runs `logs`.
///
/// # Errors
/// When the database is unknown, the user is not its owner, or the stream breaks.
pub fn exec(ctx: &mut Ctx, args: LogsArgs) -> Result<()> {
    let database = ctx.database(args.database.clone())?;
    let api = ctx.api(Auth::Required)?;
    let db = api.resolve_database(&database)?;
    let num_lines = args.num_lines.or(args.follow.then_some(10));
    let mut request = api.request(Method::GET, &format!("/database/{}/logs", db.identity));
    if let Some(n) = num_lines {
        request = request.query(&[("num_lines", n.to_string())]);
    }
    if args.follow {
        // A followed stream ends only when the user stops it.
        request = request
            .query(&[("follow", "true")])
            .timeout(Duration::from_secs(100 * 365 * 24 * 3600));
    }
    let response = api.send_ok(request, &format!("reading the logs of `{}`", db.name))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in BufReader::new(response).lines() {
        let line = line.context("the log stream broke off")?;
        if line.trim().is_empty() {
            continue;
        }
        let record: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("the server sent a log line that is not JSON: {line}"))?;
        let level = record
            .get("level")
            .and_then(serde_json::Value::as_str)
            .and_then(Level::parse);
        if let (Some(wanted), Some(level)) = (args.level, level) {
            let keep = if args.level_exact {
                level == wanted
            } else {
                level >= wanted
            };
            if !keep {
                continue;
            }
        }
        let written = match args.format {
            Format::Json => writeln!(out, "{line}"),
            Format::Text => writeln!(out, "{}", text_line(&record, level)),
        };
        if written.is_err() {
            // The reader went away (e.g. `| head`): stop quietly.
            return Ok(());
        }
        if args.follow {
            let _ = out.flush();
        }
    }
    Ok(())
}

/// `<time> <LEVEL>: <file>:<line>: <message>`, as upstream's text format.
fn text_line(record: &serde_json::Value, level: Option<Level>) -> String {
    let mut line = String::new();
    if let Some(ts) = record.get("ts").and_then(serde_json::Value::as_i64) {
        line.push_str(&Timestamp::from_micros_since_unix_epoch(ts).to_string());
        line.push(' ');
    }
    let label = level.map_or("?", Level::label);
    line.push_str(&format!("{label:>5}: "));
    // The source location only when the record has one (a panic or a host message may
    // not), so such a line reads `ERROR: msg`, not `ERROR: : msg`.
    if let Some(file) = record
        .get("filename")
        .and_then(serde_json::Value::as_str)
        .filter(|f| !f.is_empty())
    {
        line.push_str(file);
        if let Some(n) = record.get("line_number").and_then(serde_json::Value::as_u64) {
            line.push_str(&format!(":{n}"));
        }
        line.push_str(": ");
    }
    let message = record.get("message").and_then(serde_json::Value::as_str).unwrap_or("");
    line.push_str(message);
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format() {
        let record = serde_json::json!({
            "level": "Info", "ts": 1_000_000, "target": "m", "filename": "src/lib.rs",
            "line_number": 12, "function": "f", "message": "Hello, World!"
        });
        assert_eq!(
            text_line(&record, Some(Level::Info)),
            "1970-01-01T00:00:01+00:00  INFO: src/lib.rs:12: Hello, World!"
        );
        let bare = serde_json::json!({ "level": "Error", "ts": 1_000_000, "filename": "", "message": "boom" });
        assert_eq!(
            text_line(&bare, Some(Level::Error)),
            "1970-01-01T00:00:01+00:00 ERROR: boom"
        );
        let none = serde_json::json!({ "level": "Error", "ts": 1_000_000, "message": "boom" });
        assert_eq!(
            text_line(&none, Some(Level::Error)),
            "1970-01-01T00:00:01+00:00 ERROR: boom"
        );
        assert_eq!(Level::parse("PANIC"), Some(Level::Panic));
        assert!(Level::Warn > Level::Info);
    }
}
