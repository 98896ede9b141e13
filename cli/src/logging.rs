//! The server's log output for `spacetime start`: a small stderr logger for the `log`
//! facade the server crates write to.
//!
//! `RUST_LOG` may name a level (`error`, `warn`, `info`, `debug`, `trace`, `off`); the
//! default is `info` for Spacetime's own crates and `warn` for libraries, whose info lines
//! are noise to an operator.

use log::{Level, LevelFilter, Log, Metadata, Record};
use spacetime_sats::Timestamp;
use std::io::Write;

struct StderrLogger {
    own: LevelFilter,
    libraries: LevelFilter,
}

impl StderrLogger {
    fn filter_for(&self, target: &str) -> LevelFilter {
        if target.starts_with("spacetime") {
            self.own
        } else {
            self.libraries
        }
    }
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.filter_for(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let label = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => " WARN",
            Level::Info => " INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        // A failed write to stderr has nowhere better to be reported.
        let _ = writeln!(
            std::io::stderr().lock(),
            "{} {label} {}: {}",
            Timestamp::now(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// Installs the logger (once; later calls do nothing).
pub fn init() {
    let requested = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok());
    let own = requested.unwrap_or(LevelFilter::Info);
    let libraries = requested.unwrap_or(LevelFilter::Warn).min(own);
    if log::set_boxed_logger(Box::new(StderrLogger { own, libraries })).is_ok() {
        log::set_max_level(own.max(libraries));
    }
}
