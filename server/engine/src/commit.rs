//! The commit funnel: every committed transaction of a database — reducer calls over
//! HTTP and WebSocket, SQL DML, lifecycle and scheduled reducers, `init` — ends in
//! [`DatabaseState::commit`], which logs it, checks the snapshot policy, updates the
//! schedule queue, brings the materialised views up to date and publishes both to
//! subscribers, in that order. Logging comes first
//! so every message published carries the offset a confirmed client waits for.

use crate::schedule::Scheduler;
use crate::storage::record::ClientChange;
use crate::storage::DatabaseLog;
use crate::subscription::{ReducerCaller, SubscriptionManager};
use crate::views::Views;
use spacetime_datastore::{Datastore, TxData};
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::{Identity, Timestamp};
use std::collections::HashSet;

/// What a module update logs beside its state (see [`DatabaseState::commit_migration`]).
pub(crate) struct MigrationInfo<'a> {
    /// The new program's hash.
    pub(crate) hash: &'a str,
    /// Who published it.
    pub(crate) publisher: Identity,
    /// The plan's summary.
    pub(crate) summary: String,
}

/// The state of one database that every commit updates: its rows, their log, the
/// schedule queue and the subscribers. Owned by the actor, beside the module instance.
pub(crate) struct DatabaseState {
    /// The rows.
    pub(crate) datastore: Datastore,
    /// The commit log; `None` on an in-memory server.
    pub(crate) commitlog: Option<DatabaseLog>,
    /// The due-time queue of the scheduled tables.
    pub(crate) scheduler: Scheduler,
    /// The WebSocket clients and their subscriptions.
    pub(crate) subscriptions: SubscriptionManager,
    /// The database's `database` label in metrics.
    pub(crate) metrics_label: String,
    /// The materialised views, kept current by every commit.
    pub(crate) views: Views,
}

impl DatabaseState {
    /// Hands a committed transaction to everything that follows a commit: the log
    /// (and its snapshot policy), the scheduler (rows of scheduled tables inserted or
    /// deleted at `timestamp`, the transaction's time) and the subscribers. `caller`,
    /// for a WebSocket reducer call, gets its `ReducerResult` with its own updates.
    pub(crate) fn commit(&mut self, tx: &TxData, timestamp: Timestamp, caller: Option<ReducerCaller>) {
        self.commit_with_client(tx, timestamp, caller, None);
    }

    /// [`Self::commit`], logging the transaction with the client change `client` in
    /// one record if given (a lifecycle reducer's: see `DatabaseLog::append_lifecycle`).
    pub(crate) fn commit_with_client(
        &mut self,
        tx: &TxData,
        timestamp: Timestamp,
        caller: Option<ReducerCaller>,
        client: Option<ClientChange>,
    ) {
        if let Some(commitlog) = &mut self.commitlog {
            let durable = self.views.durable_part(tx);
            match client {
                Some(change) => commitlog.append_lifecycle(&durable, change),
                None => commitlog.append_tx(&durable),
            }
            commitlog.snapshot_if_due(&self.datastore);
        }
        self.scheduler.observe(tx, timestamp);
        let offset = self.last_offset();
        self.publish(tx, offset, caller);
    }

    /// A follower's commit: a transaction the leader committed, applied from its log
    /// at tx `offset` ([`crate::follower`]). It is published exactly as a commit here
    /// would be (views, then subscribers), but neither logged (the standby appended
    /// the leader's bytes already) nor scheduled (the leader runs the schedule).
    pub(crate) fn commit_applied(&mut self, tx: &TxData, offset: u64) {
        self.publish(tx, Some(offset), None);
    }

    /// The last steps of every commit: brings the views up to date and publishes
    /// the transaction's and their row changes to subscribers, tagged with `offset`.
    fn publish(&mut self, tx: &TxData, offset: Option<u64>, caller: Option<ReducerCaller>) {
        // Views whose reads the transaction changed are re-evaluated here, so their
        // changes go out in the same update as the transaction's own.
        // Per-caller views are kept current for connected callers only; the set is
        // built the first time a per-caller view asks.
        let subscriptions = &self.subscriptions;
        let connected = std::cell::OnceCell::<HashSet<Identity>>::new();
        let is_connected = |caller| {
            connected
                .get_or_init(|| subscriptions.connected().map(|(identity, _)| identity).collect())
                .contains(&caller)
        };
        let view_changes = self.views.refresh(&mut self.datastore, tx, is_connected);
        let published = crate::views::merged(tx, view_changes);
        self.subscriptions.publish(&self.datastore, &published, offset, caller);
        crate::metrics::committed(&self.metrics_label);
    }

    /// Commits a module update: `datastore` (built by [`crate::migration::migrate`] for
    /// `def`) replaces the rows, then, in the funnel's order, the log gets one
    /// migration record holding the whole new state (so a crash restarts with either
    /// the old module and rows or the new, never a mix) and the schedule queue is
    /// rebuilt from the new scheduled tables. The caller then hands the subscribers
    /// the new module ([`SubscriptionManager::module_updated`]) once its row-level
    /// security rules are in place, or disconnects them.
    pub(crate) fn commit_migration(
        &mut self,
        datastore: Datastore,
        def: &ModuleDef,
        info: MigrationInfo<'_>,
        timestamp: Timestamp,
    ) {
        self.datastore = datastore;
        if let Some(commitlog) = &mut self.commitlog {
            let at = timestamp.to_micros_since_unix_epoch();
            commitlog.hold_if_migration_paused(false);
            // A failed writer fails every later confirmed read, this update's included.
            if let Err(e) = commitlog.append_migration(&self.datastore, info.hash, at, info.publisher, info.summary) {
                log::error!("cannot log the module update: {e}");
            }
            commitlog.hold_if_migration_paused(true);
        }
        self.scheduler = Scheduler::new(def);
        self.scheduler.restore(&self.datastore, timestamp);
    }

    /// The offset of the last record appended to the log: what a reply sent now may
    /// reflect, and so what a confirmed reply waits for.
    pub(crate) fn last_offset(&self) -> Option<u64> {
        self.commitlog.as_ref().and_then(DatabaseLog::last_offset)
    }
}
