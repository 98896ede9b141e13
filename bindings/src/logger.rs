//! Logging and panics: the `log` crate's records and panic messages go to the host's
//! `console_log`. Both are installed by `__preinit__` exports, which the host calls
//! before anything else: the panic hook first (`00`), then the logger (`15`).

use crate::sys::{self, LogLevel};
use std::fmt::Write;
use std::panic;
use std::sync::Mutex;

/// Installs the panic hook that logs the message, file and line at level PANIC (101)
/// before the module traps.
#[unsafe(no_mangle)]
pub extern "C" fn __preinit__00_panic_hook() {
    panic::set_hook(Box::new(panic_hook));
}

fn panic_hook(info: &panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>");
    let location = info.location();
    sys::console_log(
        LogLevel::Panic,
        None,
        location.map(|l| l.file()),
        location.map(|l| l.line()),
        message,
    );
}

/// Routes `log` records to `console_log`, keeping one reusable message buffer.
struct Logger {
    buf: Mutex<String>,
}

// A message longer than this is formatted into a fresh allocation that is released after
// use, so one huge log line does not pin memory for the life of the instance.
const KEEP_BUF_BYTES: usize = 16 * 1024;

impl log::Log for Logger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let level = match record.level() {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        };
        let mut buf = self.buf.lock().unwrap_or_else(|p| p.into_inner());
        buf.clear();
        // Writing into a String cannot fail; a `Display` impl that errors just truncates.
        let _ = buf.write_fmt(*record.args());
        sys::console_log(level, Some(record.target()), record.file(), record.line(), &buf);
        buf.shrink_to(KEEP_BUF_BYTES);
    }

    fn flush(&self) {}
}

static LOGGER: Logger = Logger {
    buf: Mutex::new(String::new()),
};

/// Installs the logger at level Trace, unless the module installed its own.
#[unsafe(no_mangle)]
pub extern "C" fn __preinit__15_init_log() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
}
