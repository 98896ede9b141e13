//! Module logs: [`ModuleLogRecord`], what a module's `console_log` (and the host, for
//! console timers) produces, and [`LogSink`], where the owner of an instance wants
//! them to go. The host never prints a module's logs itself.

use spacetime_sats::Timestamp;
use std::sync::{mpsc, Arc, Mutex};

/// The level of a module log line, as the ABI numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// ABI level 0.
    Error,
    /// ABI level 1.
    Warn,
    /// ABI level 2.
    Info,
    /// ABI level 3.
    Debug,
    /// ABI level 4.
    Trace,
    /// ABI level 101: the module panicked; the message is the panic's, and a trap
    /// follows.
    Panic,
}

impl LogLevel {
    /// The level for an ABI level byte. Unknown bytes are logged at `Info` rather than
    /// dropped, so a newer module's lines still show up.
    pub fn from_abi(level: u8) -> Self {
        match level {
            0 => Self::Error,
            1 => Self::Warn,
            3 => Self::Debug,
            4 => Self::Trace,
            101 => Self::Panic,
            _ => Self::Info,
        }
    }

    /// The lower-case name used in log output (`panic` for [`LogLevel::Panic`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
            Self::Panic => "panic",
        }
    }
}

/// One line a module logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleLogRecord {
    /// The level.
    pub level: LogLevel,
    /// When the host received it.
    pub ts: Timestamp,
    /// The `log` target (usually the module path), if the module gave one.
    pub target: Option<String>,
    /// The source file, if the module gave one.
    pub filename: Option<String>,
    /// The source line, if the module gave one.
    pub line_number: Option<u32>,
    /// The reducer that was running, or `None` while the module was being set up.
    pub function: Option<String>,
    /// The message, decoded lossily as UTF-8.
    pub message: String,
}

/// Where an instance sends its module's log lines.
///
/// Called on the thread running the module, in the middle of a call: keep it cheap
/// (push to a buffer or a channel).
pub trait LogSink: Send + Sync + 'static {
    /// Receives one line.
    fn log(&self, record: ModuleLogRecord);
}

/// Drops every line.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardLogs;

impl LogSink for DiscardLogs {
    fn log(&self, _record: ModuleLogRecord) {}
}

/// Sends each line down a channel; lines are dropped once the receiver is gone.
impl LogSink for mpsc::Sender<ModuleLogRecord> {
    fn log(&self, record: ModuleLogRecord) {
        let _ = self.send(record);
    }
}

/// Keeps every line in memory, for tests and for callers that read logs back.
#[derive(Debug, Clone, Default)]
pub struct CollectLogs(Arc<Mutex<Vec<ModuleLogRecord>>>);

impl CollectLogs {
    /// Takes the lines collected so far.
    pub fn take(&self) -> Vec<ModuleLogRecord> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

impl LogSink for CollectLogs {
    fn log(&self, record: ModuleLogRecord) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(record);
    }
}
