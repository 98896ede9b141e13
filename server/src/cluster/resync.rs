//! Recovering a replica whose copy diverged (`spacetime cluster resync <db> --node
//! <node>`, `POST /v1/cluster/database/:db/resync` on that node, owner only): a
//! parked replica (`divergence.rs`) otherwise stays parked until an operator wipes
//! it by hand.
//!
//! 1. The route ([`ClusterNode::resync`]) refuses on the node that leads the
//!    database, and on a node whose replica is not parked unless `force` (a standby
//!    that follows is re-copied too, say after its disk misbehaved); it leaves an
//!    order for the database's replica thread and waits for its answer.
//! 2. The replica thread takes the order where it waits (parked: `divergence::park`;
//!    following: each leader check) and runs [`run_order`]: it stops the local copy,
//!    moves its `clog/` and `snapshots/` aside into `diverged-<unix time>/` in the
//!    replica directory (kept for forensics; the log line says where), and
//!    bootstraps from a healthy peer (`bootstrap.rs`: the leader first, every file
//!    checked).
//! 3. The thread then follows again as after a start: `Cluster::rejoin` checks the
//!    copy against the commits etcd holds, the divergence check starts from the new
//!    copy's checksum, and the node is a standby (it may campaign) once more.

use super::{ClusterError, ClusterNode};
use crate::state::AppState;
use serde::Serialize;
use spacetime_commitlog::{LOG_DIR, SNAPSHOT_DIR};
use spacetime_sats::Identity;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the route waits for the replica thread to take the order and copy.
const RESYNC_DEADLINE: Duration = Duration::from_secs(120);

/// Why a resync was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ResyncError {
    /// This server is not in cluster mode.
    #[error("this server is not part of a cluster (it was started without --cluster): database {0} has no replica here to resync")]
    Standalone(String),
    /// This node leads the database: its copy is the one the others follow.
    #[error(
        "node {node} leads database {db}: its copy is the cluster's, there is nothing to resync it from. Hand it \
         over first (spacetime cluster handover) if this node's copy must be rebuilt"
    )]
    Leader {
        /// This node.
        node: String,
        /// The database.
        db: String,
    },
    /// The replica is not parked and `force` was not given.
    #[error(
        "node {node}'s replica of database {db} is not parked (its copy has not diverged); pass --force to copy it \
         from a peer anyway"
    )]
    NotParked {
        /// This node.
        node: String,
        /// The database.
        db: String,
    },
    /// No replica thread runs for it here (not placed here, or being deleted).
    #[error("node {node} holds no replica of database {db} to resync")]
    NoReplica {
        /// This node.
        node: String,
        /// The database.
        db: String,
    },
    /// The replica thread did not answer in time, or the copy failed.
    #[error("resyncing database {db} on node {node} failed: {why}")]
    Failed {
        /// This node.
        node: String,
        /// The database.
        db: String,
        /// Why.
        why: String,
    },
}

/// What a resync did, as the route answers it.
#[derive(Debug, Clone, Serialize)]
pub struct ResyncReport {
    /// The node whose replica was rebuilt.
    pub node: String,
    /// Whether it was parked (diverged) before.
    pub was_parked: bool,
    /// Where the old copy was moved (absent if there was none).
    pub moved_to: Option<String>,
    /// How long the copy took, in milliseconds.
    pub copied_ms: u128,
}

/// An order for a replica thread: its answer goes back on `reply`.
#[derive(Debug)]
pub(super) struct Order {
    force: bool,
    reply: mpsc::Sender<Result<ResyncReport, String>>,
}

/// Resync orders waiting for their replica threads, by database.
#[derive(Debug, Default)]
pub(super) struct Orders {
    pending: Mutex<HashMap<Identity, Order>>,
    /// The databases whose replica is parked here.
    parked: Mutex<Vec<Identity>>,
}

impl Orders {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<Identity, Order>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn parked(&self) -> std::sync::MutexGuard<'_, Vec<Identity>> {
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a resync of `identity` waits for its replica thread.
    pub(super) fn requested(&self, identity: Identity) -> bool {
        self.pending().contains_key(&identity)
    }

    /// Marks `identity` parked (or no longer).
    pub(super) fn set_parked(&self, identity: Identity, parked: bool) {
        let mut list = self.parked();
        list.retain(|id| *id != identity);
        if parked {
            list.push(identity);
        }
    }

    fn is_parked(&self, identity: Identity) -> bool {
        self.parked().contains(&identity)
    }
}

impl ClusterNode {
    /// Rebuilds this node's replica of `identity` (named `db` in messages) from a
    /// healthy peer (blocking; see the module doc).
    ///
    /// # Errors
    /// [`ResyncError`]: refused (leader, not parked, no replica) or failed.
    pub fn resync(&self, identity: Identity, db: &str, force: bool) -> Result<ResyncReport, ResyncError> {
        let (node, db) = (self.config.node_id.clone(), db.to_owned());
        if self.lock_leases().contains_key(&identity) || self.lock_leading().contains_key(&identity) {
            return Err(ResyncError::Leader { node, db });
        }
        let parked = self.resyncs.is_parked(identity);
        if !parked && !force {
            return Err(ResyncError::NotParked { node, db });
        }
        if !self
            .replicas
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&identity)
        {
            return Err(ResyncError::NoReplica { node, db });
        }
        let (reply, answer) = mpsc::channel();
        self.resyncs.pending().insert(identity, Order { force, reply });
        match answer.recv_timeout(RESYNC_DEADLINE) {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(why)) => Err(ResyncError::Failed { node, db, why }),
            Err(_) => {
                self.resyncs.pending().remove(&identity);
                Err(ResyncError::Failed {
                    node,
                    db,
                    why: format!(
                        "its replica thread did not finish within {} s (see the node's log)",
                        RESYNC_DEADLINE.as_secs()
                    ),
                })
            }
        }
    }
}

/// Carries out the order waiting for `identity`, on its replica thread, once the
/// thread has stopped following (or was parked). Its answer goes to the route; the
/// thread then follows again whatever happened (a copy that failed leaves an empty
/// log, which following bootstraps or replays from etcd).
pub(super) fn run_order(node: &ClusterNode, state: &AppState, identity: Identity) {
    let Some(order) = node.resyncs.pending().remove(&identity) else {
        return;
    };
    let result = resync_here(node, state, identity, order.force);
    if let Err(why) = &result {
        log::error!("database {identity}: resync failed: {why}");
    }
    let _ = order.reply.send(result);
}

fn resync_here(node: &ClusterNode, state: &AppState, identity: Identity, force: bool) -> Result<ResyncReport, String> {
    let was_parked = node.resyncs.is_parked(identity);
    let record = state
        .registry()
        .get(identity)
        .ok_or_else(|| "it was deleted from this node meanwhile".to_owned())?;
    log::warn!(
        "database {identity}: resync ordered{}: moving the local copy aside and copying it from a peer",
        if was_parked {
            ""
        } else if force {
            " (forced: the replica was not parked)"
        } else {
            ""
        }
    );
    node.follow_leader(identity, None);
    super::replica::stop_and_wait(state, identity);
    state.databases().set_failed(
        identity,
        format!(
            "node {} is copying it from a peer (resync); retry shortly",
            node.config.node_id
        ),
    );
    let dir = state.config().replica_dir(record.replica_id);
    let moved_to =
        move_aside(&dir).map_err(|e| format!("cannot move the local copy aside in {}: {e}", dir.display()))?;
    match &moved_to {
        Some(to) => log::warn!(
            "database {identity}: moved the old copy (clog/, snapshots/) to {} for forensics; delete it when done",
            to.display()
        ),
        None => log::info!("database {identity}: no local copy to move aside"),
    }
    node.checksums.forget(identity);
    node.resyncs.set_parked(identity, false);
    let started = Instant::now();
    let keys = node.keys(identity);
    super::bootstrap::bootstrap(node, state, &record, &keys).map_err(|e: ClusterError| e.to_string())?;
    log::info!(
        "database {identity}: resynced from a peer in {} ms; following the cluster again",
        started.elapsed().as_millis()
    );
    Ok(ResyncReport {
        node: node.config.node_id.clone(),
        was_parked,
        moved_to: moved_to.map(|p| p.display().to_string()),
        copied_ms: started.elapsed().as_millis(),
    })
}

/// Moves `clog/` and `snapshots/` of replica directory `dir` into a new
/// `diverged-<unix seconds>[-n]/` beside them; `None` if neither exists.
fn move_aside(dir: &Path) -> std::io::Result<Option<PathBuf>> {
    let present: Vec<&str> = [LOG_DIR, SNAPSHOT_DIR]
        .into_iter()
        .filter(|sub| dir.join(sub).exists())
        .collect();
    if present.is_empty() {
        return Ok(None);
    }
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut target = dir.join(format!("diverged-{secs}"));
    let mut n = 1;
    while target.exists() {
        target = dir.join(format!("diverged-{secs}-{n}"));
        n += 1;
    }
    std::fs::create_dir_all(&target)?;
    for sub in present {
        std::fs::rename(dir.join(sub), target.join(sub))?;
    }
    std::fs::File::open(dir)?.sync_all()?;
    Ok(Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_copy_is_moved_aside_whole_and_never_over_an_earlier_one() {
        let dir = tempfile::tempdir().expect("a temp dir");
        assert_eq!(move_aside(dir.path()).expect("nothing to move"), None);
        for sub in [LOG_DIR, SNAPSHOT_DIR] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
            std::fs::write(dir.path().join(sub).join("f"), sub).expect("write");
        }
        let first = move_aside(dir.path()).expect("moves").expect("a target");
        assert!(!dir.path().join(LOG_DIR).exists() && !dir.path().join(SNAPSHOT_DIR).exists());
        assert_eq!(
            std::fs::read_to_string(first.join(LOG_DIR).join("f")).ok().as_deref(),
            Some(LOG_DIR)
        );
        assert!(first
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("diverged-")));
        // A second resync in the same second keeps the first copy.
        std::fs::create_dir_all(dir.path().join(LOG_DIR)).expect("mkdir");
        let second = move_aside(dir.path()).expect("moves").expect("a target");
        assert_ne!(first, second);
        assert!(first.join(SNAPSHOT_DIR).join("f").exists());
        assert!(second.join(LOG_DIR).exists() && !second.join(SNAPSHOT_DIR).exists());
    }
}
