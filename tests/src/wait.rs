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

/// How long past its deadline a run may stay blocked inside one step before the
/// watchdog ends the process: longer than any single step's own deadline.
const WATCHDOG_GRACE: Duration = Duration::from_secs(180);

/// An overall deadline for a long test (a stress run). [`Watchdog::check`], called
/// between rounds, fails the test once the deadline has passed; a run blocked inside a
/// step (a call that has no deadline of its own) is ended by the watchdog's thread
/// [`WATCHDOG_GRACE`] later, with a message on stderr and exit status 101 (as a failed
/// test), so a hung run fails instead of hanging CI. Dropping it stops the thread.
pub struct Watchdog {
    what: String,
    limit: Duration,
    started: Instant,
    done: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Starts the deadline of `what`, `limit` from now.
    pub fn start(what: &str, limit: Duration) -> Self {
        let (done, stopped) = std::sync::mpsc::channel::<()>();
        let name = what.to_owned();
        let thread = std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(limit + WATCHDOG_GRACE) {
                eprintln!(
                    "WATCHDOG: {name} is still running {:?} after it started (its overall deadline is {limit:?}): a \
                     step is blocked; ending the test process",
                    limit + WATCHDOG_GRACE
                );
                std::process::exit(101);
            }
        });
        Self {
            what: what.to_owned(),
            limit,
            started: Instant::now(),
            done: Some(done),
            thread: Some(thread),
        }
    }

    /// Fails (panics) if the overall deadline has passed, saying how far the run got
    /// (`progress`).
    ///
    /// # Panics
    /// When the deadline has passed.
    #[track_caller]
    pub fn check(&self, progress: impl FnOnce() -> String) {
        let elapsed = self.started.elapsed();
        assert!(
            elapsed < self.limit,
            "{} overran its overall deadline of {:?} ({:?} so far): {}",
            self.what,
            self.limit,
            elapsed,
            progress()
        );
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Dropping the sender ends the thread's wait at once.
        drop(self.done.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
