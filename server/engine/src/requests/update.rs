//! A module update that keeps the data: the new module is checked against the old
//! ([`crate::schema_change`]), instantiated, its new tables created, then swapped in;
//! the schedule queue is rebuilt for its scheduled tables.

use crate::actor::Actor;
use crate::error::UpdateError;
use crate::module_logs::{log_system, LogForwarder};
use crate::schedule::Scheduler;
use crate::schema_change::{check_update, create_tables};
use spacetime_host::{LogLevel, ModuleProgram};
use spacetime_sats::Timestamp;
use std::sync::Arc;

impl Actor {
    /// Swaps in `program` if its schema is compatible, creating any new tables.
    /// The new module is logged (a "module" record naming `hash`) before any of its
    /// transactions; the reply carries that record's offset.
    pub(super) fn update(&mut self, program: ModuleProgram, hash: &str) -> Result<(), UpdateError> {
        let added = check_update(self.instance.program().module_def(), program.module_def())?;
        let identity = self.instance.database_identity();
        let instance = program.instantiate(identity, Arc::new(LogForwarder(self.module_logs.clone())))?;
        create_tables(&mut self.db.datastore, added.iter().copied(), program.module_def())?;
        self.instance = instance;
        self.db.scheduler = Scheduler::new(program.module_def());
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = program;
        if let Some(log) = &mut self.db.commitlog {
            // A failed writer fails every later confirmed read, this update's included.
            if let Err(e) = log.append_module(hash) {
                log::error!("cannot log the module update: {e}");
            }
        }
        self.db.scheduler.restore(&self.db.datastore, Timestamp::now());
        log_system(&self.module_logs, LogLevel::Info, None, "module updated");
        Ok(())
    }
}
