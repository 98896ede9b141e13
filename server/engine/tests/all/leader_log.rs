//! What a follower test needs around it: the leader's log batches as the cluster's log
//! receives them ([`Captured`], a `ReplicatedLog` that keeps them) and a program source
//! for a database that is never updated ([`NoPrograms`]). Shared by these tests and the
//! takeover benchmark (`benches/benches/takeover.rs`, which includes this file).

use spacetime_commitlog::{AppendOutcome, Batch, ReplicatedLog};
use spacetime_engine::follower::ProgramSource;
use spacetime_host::ModuleProgram;
use std::sync::{Arc, Mutex};

/// The batches a leader's writer appended, as the cluster's log receives them.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<Vec<u8>>>>);

impl Captured {
    /// Takes the batches appended so far.
    pub fn take(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl ReplicatedLog for Captured {
    fn append(&mut self, batch: Batch<'_>) -> AppendOutcome {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(batch.frames.to_vec());
        AppendOutcome::Committed
    }

    fn resolve(&mut self, batch: Batch<'_>) -> AppendOutcome {
        self.append(batch)
    }

    fn in_parallel(&self) -> bool {
        false
    }
}

/// The program source of a database no module update reaches.
pub struct NoPrograms;

impl ProgramSource for NoPrograms {
    fn program(&self, hash: &str) -> Result<ModuleProgram, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("no program {hash}: this database is never updated").into())
    }
}
