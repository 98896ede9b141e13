//! The lifecycle of on-demand materialisations: a per-caller view's rows for one
//! caller, or a view with parameters for one call, exist only while someone uses them.
//!
//! Each is made on first use (a query or subscription naming it) and released by
//! [`Views::sweep`], which the actor runs after every unsubscribe and disconnect, after
//! every subscribe (to learn what is subscribed), and now and then between requests:
//!
//! - one a live subscription reads is kept;
//! - one a subscription read until now (its last query set is gone) is released at
//!   once, and so is one whose caller had a WebSocket connection at a sweep and has
//!   none now (its last connection ended);
//! - one only queried otherwise (SQL over HTTP, a one-off query) is kept
//!   [`RELEASE_AFTER`] after its last use, so a burst of queries does not rebuild it
//!   each time, then released.
//!
//! A released materialisation's backing table is emptied and kept in a pool of its
//! view, renamed to a name no query resolves, and the view's next materialisation takes
//! it back under the new caller's name: the datastore cannot drop a table, and backing
//! tables share the system tables' ids, so a pool is what keeps their number at the
//! most that were in use at once. When no id is left, the least recently used
//! materialisation of the same view that no subscription reads is released early.

use super::{Views, ViewsError};
use spacetime_datastore::Datastore;
use spacetime_sats::{Identity, TableId};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How long a materialisation nobody subscribes to is kept after its last use.
pub(crate) const RELEASE_AFTER: Duration = Duration::from_secs(60);

/// How often the actor sweeps between requests, at most.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Whether a sweep releases a materialisation: one a subscription reads now is kept;
/// else one a subscription read before, or whose caller was connected before and is not
/// now, goes at once; else one idle for [`RELEASE_AFTER`] goes.
fn releases(was_subscribed: bool, seen_connected: bool, subscribed: bool, connected: bool, idle: bool) -> bool {
    if subscribed {
        return false;
    }
    if was_subscribed {
        return true;
    }
    if connected {
        return idle;
    }
    seen_connected || idle
}

impl Views {
    /// Whether view `index` is materialised once for everyone when the module starts
    /// (anonymous, without parameters), rather than on demand.
    pub(super) fn is_shared(&self, index: usize) -> bool {
        self.instance.as_ref().is_some_and(|i| {
            let view = &i.program().module_def().views[index];
            view.is_anonymous && view.params.elements.is_empty()
        })
    }

    /// How many on-demand materialisations are held now (per caller or per call): the
    /// `spacetime_view_materialisations` gauge.
    pub(crate) fn on_demand(&self) -> usize {
        (self.materialised.iter()).filter(|m| !self.is_shared(m.view)).count()
    }

    /// Whether a periodic sweep is due at `now` (see [`SWEEP_EVERY`]).
    pub(crate) fn sweep_due(&self, now: Instant) -> bool {
        self.last_sweep
            .is_none_or(|last| now.duration_since(last) >= SWEEP_EVERY)
    }

    /// Releases the on-demand materialisations no subscription reads (`subscribed` is
    /// every table the live subscriptions read) that a subscription read until now,
    /// whose caller was connected and is not in `connected` any more, or that were last
    /// used [`RELEASE_AFTER`] before `now`; returns how many.
    pub(crate) fn sweep(
        &mut self,
        ds: &mut Datastore,
        subscribed: &HashSet<TableId>,
        connected: &HashSet<Identity>,
        now: Instant,
    ) -> usize {
        self.last_sweep = Some(now);
        let shared: Vec<bool> = (0..self.view_count()).map(|i| self.is_shared(i)).collect();
        let mut release = Vec::new();
        for (position, m) in self.materialised.iter_mut().enumerate() {
            if shared[m.view] {
                continue;
            }
            let now_subscribed = subscribed.contains(&m.table);
            let now_connected = connected.contains(&m.caller);
            let idle = now.saturating_duration_since(m.last_used) >= RELEASE_AFTER;
            if releases(m.subscribed, m.seen_connected, now_subscribed, now_connected, idle) {
                release.push(position);
            }
            if now_subscribed {
                m.last_used = now;
            }
            m.subscribed = now_subscribed;
            m.seen_connected |= now_connected;
        }
        self.release(ds, release)
    }

    /// Releases the least recently used materialisation of view `index` that no
    /// subscription reads, to take its table for another; `false` if there is none.
    pub(super) fn release_least_used(&mut self, ds: &mut Datastore, index: usize) -> bool {
        let least = (self.materialised.iter().enumerate())
            .filter(|(_, m)| m.view == index && !m.subscribed && !self.is_shared(m.view))
            .min_by_key(|(_, m)| m.last_used)
            .map(|(position, _)| position);
        least.is_some_and(|position| self.release(ds, vec![position]) == 1)
    }

    /// Releases the materialisations at `positions`: empties each backing table and
    /// puts it in its view's pool; returns how many.
    fn release(&mut self, ds: &mut Datastore, mut positions: Vec<usize>) -> usize {
        // From the back, so `swap_remove` moves only entries already looked at.
        positions.sort_unstable_by(|a, b| b.cmp(a));
        let released = positions.len();
        for position in positions {
            let m = self.materialised.swap_remove(position);
            let mut tx = ds.begin_mut_tx();
            // Nobody reads these rows (no subscription does, and a query runs within
            // one request): the emptying is neither published nor logged.
            let emptied = tx.clear(m.table);
            tx.commit();
            let name = format!("{}#released{}", self.view_name(m.view), m.table.0);
            if let Err(e) = emptied.and_then(|_| ds.rename_table(m.table, &name)) {
                // The table stays out of every pool: it is never reused.
                log::error!("view table {:?}: cannot release it: {e}", m.table);
                continue;
            }
            if !m.args.is_empty() || self.has_params(m.view) {
                self.calls = self.calls.saturating_sub(1);
            }
            self.pool.entry(m.view).or_default().push(m.table);
        }
        released
    }

    /// A table for a new materialisation of view `index` named `name`: one from the
    /// view's pool, renamed; `None` if the pool is empty.
    ///
    /// # Errors
    /// The pooled table could not be renamed.
    pub(super) fn take_pooled(
        &mut self,
        ds: &mut Datastore,
        index: usize,
        name: &str,
    ) -> Result<Option<TableId>, ViewsError> {
        let Some(table) = self.pool.get_mut(&index).and_then(Vec::pop) else {
            return Ok(None);
        };
        ds.rename_table(table, name)
            .map_err(|source| ViewsError::BackingTable {
                view: self.view_name(index),
                source,
            })?;
        Ok(Some(table))
    }
}

#[cfg(test)]
mod tests {
    use super::releases;

    #[test]
    fn a_materialisation_lives_while_used() {
        // (was subscribed, seen connected, subscribed now, connected now, idle)
        // Read by a live subscription: kept, however old.
        assert!(!releases(true, true, true, true, true));
        assert!(!releases(false, false, true, false, true));
        // Its last subscription ended: released at once, connected or not.
        assert!(releases(true, true, false, false, false));
        assert!(releases(true, true, false, true, false));
        // Queried by a connected caller: kept until idle.
        assert!(!releases(false, false, false, true, false));
        assert!(releases(false, true, false, true, true));
        // Its caller's last connection ended: released at once.
        assert!(releases(false, true, false, false, false));
        // Queried over HTTP only (never connected): kept until idle.
        assert!(!releases(false, false, false, false, false));
        assert!(releases(false, false, false, false, true));
    }
}
