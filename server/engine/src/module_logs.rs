//! Module logs of one database: a bounded in-memory tail, an NDJSON file per day under
//! `module_logs/`, and live delivery to followers.
//!
//! Every record is one JSON line,
//! `{"level":"Info","ts":<µs>,"target":…,"filename":…,"line_number":…,"function":…,"message":…}`,
//! exactly what `GET /logs` streams. Appending, snapshotting and subscribing share one
//! lock, so a follower sees every line exactly once: the tail, then everything after it.

use serde::Serialize;
use spacetime_host::{LogLevel, LogSink, ModuleLogRecord};
use spacetime_sats::Timestamp;
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// How many lines the in-memory tail keeps at most.
pub const TAIL_CAPACITY: usize = 10_000;
/// How many bytes the in-memory tail keeps at most: a module may log lines of up to
/// 64 KiB, and 10,000 of those would hold 625 MiB per database. The oldest lines go
/// first; the daily files keep everything.
pub const TAIL_BYTES: usize = 16 << 20;
/// How many new lines a slow follower may fall behind before it skips some.
const FOLLOW_BUFFER: usize = 1024;

/// A module log record as one NDJSON line, fields in upstream's order.
#[derive(Serialize)]
struct Line<'a> {
    level: &'static str,
    ts: i64,
    target: Option<&'a str>,
    filename: Option<&'a str>,
    line_number: Option<u32>,
    function: Option<&'a str>,
    message: &'a str,
}

/// The level as the NDJSON spells it.
fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "Error",
        LogLevel::Warn => "Warn",
        LogLevel::Info => "Info",
        LogLevel::Debug => "Debug",
        LogLevel::Trace => "Trace",
        LogLevel::Panic => "Panic",
    }
}

/// The NDJSON line of `record`, without its newline.
fn to_line(record: &ModuleLogRecord) -> String {
    let line = Line {
        level: level_name(record.level),
        ts: record.ts.to_micros_since_unix_epoch(),
        target: record.target.as_deref(),
        filename: record.filename.as_deref(),
        line_number: record.line_number,
        function: record.function.as_deref(),
        message: &record.message,
    };
    serde_json::to_string(&line).expect("a log line is plain JSON data")
}

/// A record written by the server itself (not by module code), timestamped now.
pub fn system_record(level: LogLevel, function: Option<&str>, message: impl Into<String>) -> ModuleLogRecord {
    ModuleLogRecord {
        level,
        ts: Timestamp::now(),
        target: None,
        filename: None,
        line_number: None,
        function: function.map(str::to_owned),
        message: message.into(),
    }
}

/// Writes a line from the server (not the module) into a database's module log.
pub fn log_system(logs: &ModuleLogs, level: LogLevel, function: Option<&str>, message: impl Into<String>) {
    logs.append(&system_record(level, function, message));
}

/// Forwards a module's log lines (what the host's [`LogSink`] receives) to its
/// database's [`ModuleLogs`].
pub struct LogForwarder(pub Arc<ModuleLogs>);

impl LogSink for LogForwarder {
    fn log(&self, record: ModuleLogRecord) {
        self.0.append(&record);
    }
}

/// The newest lines, bounded by [`TAIL_CAPACITY`] lines and [`TAIL_BYTES`] bytes.
#[derive(Default)]
struct Tail {
    lines: VecDeque<Arc<str>>,
    bytes: usize,
}

impl Tail {
    /// Adds the newest line, dropping the oldest ones past either bound (a single line
    /// over [`TAIL_BYTES`] is still kept, alone).
    fn push(&mut self, line: Arc<str>) {
        self.bytes += line.len();
        self.lines.push_back(line);
        while self.lines.len() > TAIL_CAPACITY || (self.bytes > TAIL_BYTES && self.lines.len() > 1) {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len();
            }
        }
    }
}

struct Inner {
    tail: Tail,
    file: Option<(String, File)>,
    followers: Option<broadcast::Sender<Arc<str>>>,
}

/// The logs of one database. Shared between its actor (which appends) and the HTTP
/// layer (which reads and follows).
pub struct ModuleLogs {
    dir: Option<PathBuf>,
    inner: Mutex<Inner>,
}

/// What a reader gets: the requested tail, and new lines if it follows.
pub struct LogsSnapshot {
    /// The last lines, oldest first, each without its newline.
    pub lines: Vec<Arc<str>>,
    /// New lines as they are appended, if following; closed when the database goes away.
    pub follow: Option<broadcast::Receiver<Arc<str>>>,
}

impl ModuleLogs {
    /// Logs kept in memory only.
    pub fn in_memory() -> Self {
        Self::with_dir(None, Tail::default())
    }

    /// Logs written to files in `dir` (created if missing); the tail of the newest file
    /// is loaded, so a restarted server still shows earlier lines.
    pub fn open(dir: &Path) -> Self {
        let tail = load_tail(dir).unwrap_or_else(|e| {
            log::warn!("cannot read earlier module logs in {}: {e}", dir.display());
            Tail::default()
        });
        Self::with_dir(Some(dir.to_owned()), tail)
    }

    fn with_dir(dir: Option<PathBuf>, tail: Tail) -> Self {
        let (sender, _) = broadcast::channel(FOLLOW_BUFFER);
        Self {
            dir,
            inner: Mutex::new(Inner {
                tail,
                file: None,
                followers: Some(sender),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `record`: to the tail, to today's file, and to every follower.
    pub fn append(&self, record: &ModuleLogRecord) {
        let line: Arc<str> = to_line(record).into();
        let mut inner = self.lock();
        if let Some(dir) = &self.dir {
            if let Err(e) = write_line(&mut inner.file, dir, record.ts, &line) {
                log::warn!("cannot write module log in {}: {e}", dir.display());
            }
        }
        inner.tail.push(line.clone());
        if let Some(followers) = &inner.followers {
            // No receivers is fine: nobody is following.
            let _ = followers.send(line);
        }
    }

    /// The last `num_lines` lines (all kept lines if `None`) and, if `follow`, a
    /// receiver of the lines appended after them.
    pub fn read(&self, num_lines: Option<usize>, follow: bool) -> LogsSnapshot {
        let inner = self.lock();
        let skip = num_lines.map_or(0, |n| inner.tail.lines.len().saturating_sub(n));
        let lines = inner.tail.lines.iter().skip(skip).cloned().collect();
        let follow = if follow {
            inner.followers.as_ref().map(broadcast::Sender::subscribe)
        } else {
            None
        };
        LogsSnapshot { lines, follow }
    }

    /// Ends every follow stream (the database was deleted or replaced).
    pub fn close(&self) {
        self.lock().followers = None;
    }
}

/// Appends `line` to the file for the day of `ts`, opening it when the day changes.
fn write_line(file: &mut Option<(String, File)>, dir: &Path, ts: Timestamp, line: &str) -> std::io::Result<()> {
    let day = ts.to_string()[..10].to_owned();
    if file.as_ref().is_none_or(|(open_day, _)| *open_day != day) {
        fs::create_dir_all(dir)?;
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{day}.log")))?;
        *file = Some((day, f));
    }
    let (_, f) = file.as_mut().expect("opened just above");
    f.write_all(format!("{line}\n").as_bytes())
}

/// The last lines of the newest `*.log` file in `dir`, within the tail's bounds.
fn load_tail(dir: &Path) -> std::io::Result<Tail> {
    let mut tail = Tail::default();
    let newest = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .max(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(path) = newest {
        for line in BufReader::new(File::open(path)?).lines() {
            let line = line?;
            if line.is_empty() {
                continue;
            }
            tail.push(line.into());
        }
    }
    Ok(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(message: &str) -> ModuleLogRecord {
        system_record(LogLevel::Info, Some("add"), message)
    }

    #[test]
    fn lines_are_ndjson_in_a_daily_file_and_reload_after_restart() {
        let dir = tempfile::tempdir().unwrap();
        let logs = ModuleLogs::open(dir.path());
        logs.append(&record("one"));
        logs.append(&record("two"));

        let files: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files.len(), 1);
        let name = files[0].to_string_lossy().into_owned();
        assert!(name.len() == "2026-01-01.log".len() && name.ends_with(".log"), "{name}");

        let reopened = ModuleLogs::open(dir.path());
        let lines = reopened.read(Some(1), false).lines;
        let json: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(json["message"], "two");
        assert_eq!(json["level"], "Info");
        assert_eq!(json["function"], "add");
        assert_eq!(reopened.read(None, false).lines.len(), 2);
    }

    #[test]
    fn the_tail_is_bounded_in_lines_and_in_bytes() {
        let logs = ModuleLogs::in_memory();
        for i in 0..TAIL_CAPACITY + 5 {
            logs.append(&record(&format!("line {i}")));
        }
        let lines = logs.read(None, false).lines;
        assert_eq!(lines.len(), TAIL_CAPACITY);
        assert!(
            lines[0].contains("\"line 5\""),
            "the oldest lines go first: {}",
            lines[0]
        );

        // 600 lines of 64 KiB (37.5 MiB) keep only the newest 16 MiB.
        let big = "x".repeat(64 << 10);
        for _ in 0..600 {
            logs.append(&record(&big));
        }
        let lines = logs.read(None, false).lines;
        let bytes: usize = lines.iter().map(|l| l.len()).sum();
        assert!(bytes <= TAIL_BYTES, "{bytes} bytes kept");
        assert!(
            lines.len() >= 200 && lines.iter().all(|l| l.contains(&big)),
            "{} lines",
            lines.len()
        );

        // One line over the byte bound is kept alone rather than lost.
        logs.append(&record(&"y".repeat(TAIL_BYTES + 1)));
        assert_eq!(logs.read(None, false).lines.len(), 1);
    }

    #[test]
    fn followers_get_new_lines_until_closed() {
        let logs = ModuleLogs::in_memory();
        logs.append(&record("before"));
        let mut snapshot = logs.read(Some(10), true);
        assert_eq!(snapshot.lines.len(), 1);
        logs.append(&record("after"));
        let follow = snapshot.follow.as_mut().unwrap();
        assert!(follow.try_recv().unwrap().contains("\"after\""));
        logs.close();
        assert!(matches!(follow.try_recv(), Err(broadcast::error::TryRecvError::Closed)));
    }
}
