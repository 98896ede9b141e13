//! A module update that keeps the data: the migration planner
//! ([`spacetime_migrate::plan`]) compares the running module's definition with the new
//! one; an automatic plan is applied as one transaction here, in the actor, so requests
//! queued meanwhile wait and then run on the new module.
//!
//! The new datastore is built beside the old ([`crate::migration`]) and swapped in
//! through the commit funnel ([`crate::commit::DatabaseState::commit_migration`]), which
//! logs it as one record. Subscribers whose queries the new schema still accepts keep
//! them; a plan that breaks clients disconnects every client instead.

use crate::actor::Actor;
use crate::commit::MigrationInfo;
use crate::error::UpdateError;
use crate::migration;
use crate::module_logs::{log_system, LogForwarder};
use crate::views::Views;
use spacetime_host::{LogLevel, ModuleProgram};
use spacetime_migrate::Plan;
use spacetime_sats::{Identity, Timestamp};
use spacetime_sql::rls::RlsRules;
use spacetime_sql::Catalog;
use std::sync::Arc;

/// What the publisher accepted for an update.
#[derive(Debug, Clone, Copy)]
pub struct UpdateOptions {
    /// A plan that disconnects every client may be applied (`--break-clients`).
    pub break_clients: bool,
    /// Who publishes it, for the version history.
    pub publisher: Identity,
}

/// The close reason of clients a `--break-clients` update disconnects.
/// (A WebSocket close reason holds at most 123 bytes.)
pub const BREAK_CLIENTS_REASON: &str =
    "module update (published with --break-clients) changed rows; regenerate bindings and reconnect";

impl Actor {
    /// Plans and applies the update to `program` (whose program hash is `hash`).
    /// Returns the plan applied; its log record's offset travels with the reply.
    pub(super) fn update(
        &mut self,
        program: ModuleProgram,
        hash: &str,
        options: &UpdateOptions,
    ) -> Result<Plan, UpdateError> {
        let plan = spacetime_migrate::plan(self.instance.program().module_def(), program.module_def())
            .map_err(UpdateError::Refused)?;
        if plan.breaks_clients() && !options.break_clients {
            return Err(UpdateError::BreaksClients {
                summary: plan.summary(),
            });
        }
        let identity = self.instance.database_identity();
        let instance = program.instantiate(identity, Arc::new(LogForwarder(self.module_logs.clone())))?;
        let views = Views::new(&program, identity, Arc::new(LogForwarder(self.module_logs.clone())))?;
        let datastore = migration::migrate(&self.db.datastore, &plan, program.module_def())?;
        // Publish checked the filters already (`crate::check_module`), against the same
        // tables, so this does not fail here.
        let rls = RlsRules::compile(program.module_def(), &datastore)?;
        let info = MigrationInfo {
            hash,
            publisher: options.publisher,
            summary: plan.summary(),
        };
        self.db
            .commit_migration(datastore, program.module_def(), info, Timestamp::now());
        self.install_module(program, instance, rls, views, plan.breaks_clients());
        log_system(
            &self.module_logs,
            LogLevel::Info,
            None,
            format!("module updated: {}", plan.summary()),
        );
        Ok(plan)
    }

    /// Makes `program` (with its `instance`, filters and `views`) the running module
    /// over the rows already swapped in: its views are materialised (per caller for
    /// every caller the old module's were), and subscribers' queries recompiled, or,
    /// when the update `breaks_clients`, every client is closed. Shared by a leader's
    /// update and a follower applying the leader's.
    pub(crate) fn install_module(
        &mut self,
        program: ModuleProgram,
        instance: spacetime_host::ModuleInstance,
        rls: RlsRules,
        views: Views,
        breaks_clients: bool,
    ) {
        self.rls = rls;
        self.instance = instance;
        // The new datastore has no view tables: materialise the new module's views,
        // per caller for every caller the old module's were, before subscriptions are
        // recompiled against them.
        let old = std::mem::replace(&mut self.db.views, views);
        let (callers, calls) = (old.callers(), old.calls());
        let old_def = self.current.read().unwrap_or_else(|e| e.into_inner()).clone();
        let db = &mut self.db;
        let started = db.views.start(&mut db.datastore, callers);
        let started = started.and_then(|()| db.views.restore_calls(&mut db.datastore, old_def.module_def(), calls));
        if let Err(e) = started {
            log_system(
                &self.module_logs,
                LogLevel::Error,
                None,
                format!("after the module update: {e}"),
            );
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = program;
        if breaks_clients {
            // Their connections' ends were handled here, so the socket loop's later
            // `Disconnect` finds nothing to do: forget their token payloads now.
            for (identity, connection_id) in self.db.subscriptions.end_all(BREAK_CLIENTS_REASON) {
                self.disconnect(identity, connection_id);
                self.connection_jwts.remove(&connection_id);
            }
        } else {
            let offset = self.db.last_offset();
            let program = self.instance.program().clone();
            // Built from the fields, not `Actor::catalog`, so `self.db` stays borrowable.
            let catalog = Catalog {
                module: program.module_def(),
                rls: &self.rls,
            };
            self.db
                .subscriptions
                .module_updated(catalog, &self.db.datastore, self.owner, offset);
        }
    }
}
