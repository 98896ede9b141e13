//! Waiting with a deadline, the one way the harness and the tests wait for something
//! another process does: a probe is called at short intervals until it answers or the
//! time is up. Nothing waits by sleeping a fixed time and hoping.

use std::time::{Duration, Instant};

/// How long to wait between two probes: short next to every deadline, long enough that
/// probing is not what keeps the machine busy.
const INTERVAL: Duration = Duration::from_millis(20);

/// Calls `probe` until it returns `Some` (that value) or `limit` has passed (`None`),
/// for callers that clean up before they fail.
pub fn until<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(INTERVAL);
    }
}

/// Calls `probe` until it returns `Some`, for at most `limit`.
///
/// # Panics
/// With `what` and what `describe` reports (the last state: a client's output, a
/// server's log), when the deadline passes.
#[track_caller]
pub fn poll<T>(what: &str, limit: Duration, probe: impl FnMut() -> Option<T>, describe: impl Fn() -> String) -> T {
    match until(limit, probe) {
        Some(value) => value,
        None => panic!(
            "timed out after {limit:?} waiting for {what}; last state:\n{}",
            describe()
        ),
    }
}
