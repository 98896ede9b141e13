//! [`LogStopwatch`]: times a stretch of module code with the host's console timers, which
//! write the elapsed time to the database log when the timer stops.

use crate::sys;

/// A named timer running in the host. It stops when dropped (or on [`LogStopwatch::end`]),
/// and the host then logs its name and how long it ran.
///
/// # Examples
/// ```no_run
/// use spacetimedb::log_stopwatch::LogStopwatch;
///
/// fn rebuild_scores() {
///     let _timer = LogStopwatch::new("rebuild_scores");
///     // ... work; the elapsed time is logged when `_timer` goes out of scope.
/// }
/// ```
pub struct LogStopwatch {
    stopwatch_id: u32,
}

impl LogStopwatch {
    /// Starts a timer called `name`.
    pub fn new(name: &str) -> Self {
        Self {
            stopwatch_id: sys::console_timer_start(name),
        }
    }

    /// Stops the timer now, logging the elapsed time.
    pub fn end(self) {
        // Dropping stops the timer.
    }
}

impl Drop for LogStopwatch {
    fn drop(&mut self) {
        // The id came from the host and is ended exactly once, so the host knows it; an
        // error would only mean the timer is already gone, and nothing is left to log.
        let _ = sys::console_timer_end(self.stopwatch_id);
    }
}
