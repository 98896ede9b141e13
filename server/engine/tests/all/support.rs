//! Shared set-up: the host tests' database ([`HostDb`]: datastore, module instance and
//! collected logs, with the host-test module) plus a schedule queue, committing as the
//! engine's commit funnel does (each commit is fed to the scheduler).

use spacetime_engine::schedule::{ScheduledCall, ScheduledOutcome, Scheduler};
use spacetime_host::ReducerOutcome;
use spacetime_sats::Timestamp;
use std::ops::{Deref, DerefMut};

// The host's test set-up (module loading, `args!`, `Db`), shared rather than copied.
#[path = "../../../host/tests/all/support.rs"]
#[allow(dead_code)]
mod host_support;

pub use host_support::{host_test_program, runtime as host_runtime, Db as HostDb};

/// A database: the host tests' one, plus the schedule queue.
pub struct Db {
    host: HostDb,
    pub scheduler: Scheduler,
}

impl Deref for Db {
    type Target = HostDb;

    fn deref(&self) -> &HostDb {
        &self.host
    }
}

impl DerefMut for Db {
    fn deref_mut(&mut self) -> &mut HostDb {
        &mut self.host
    }
}

impl Db {
    pub fn host_test() -> Self {
        let host = HostDb::host_test();
        let scheduler = Scheduler::new(host.instance.program().module_def());
        Self { host, scheduler }
    }

    /// Calls `reducer` with `args` at `self.now`; a commit is fed to the scheduler.
    pub fn call(&mut self, reducer: &str, args: Vec<u8>) -> ReducerOutcome {
        let outcome = self.host.call(reducer, args);
        if let Ok(tx) = &outcome.result {
            self.scheduler.observe(tx, self.host.now);
        }
        outcome
    }

    /// Calls and asserts the call committed.
    #[track_caller]
    pub fn ok(&mut self, reducer: &str, args: Vec<u8>) {
        let outcome = self.call(reducer, args);
        if let Err(e) = &outcome.result {
            panic!("`{reducer}` failed: {e}\nlogs: {:#?}", self.host.logs.take());
        }
    }

    /// Runs a due call at `now`, feeding its transactions to the scheduler.
    pub fn run_scheduled(&mut self, call: ScheduledCall, now: Timestamp) -> Option<ScheduledOutcome> {
        let host = &mut self.host;
        let ran = self.scheduler.run(&mut host.instance, &mut host.ds, call, now)?;
        for tx in ran.outcome.committed().into_iter().chain(&ran.cleanup) {
            self.scheduler.observe(tx, now);
        }
        Some(ran)
    }
}
