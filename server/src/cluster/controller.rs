//! The placement controller (design §10): one node of the cluster, elected on the
//! `controller` key (`spacetime_replication::Cluster::campaign_controller`), keeps
//! every database at its `replicas` server replicas on distinct live nodes. Every
//! node that may lead (not a reader) campaigns; the winner holds the key under a
//! lease of its own and loses it when the lease expires (it was cut off from etcd),
//! after which its placement writes are refused by etcd (they are fenced by the
//! key's lease), so two controllers never both re-place a database.
//!
//! Each [`TICK`] the controller reads the live nodes (`nodes/`), the catalog and
//! each database's placement and leader, and notes since when each placed node has
//! been gone (its registration expired). A node gone for longer than the grace
//! period (`--cluster-replace-after`, 30 s by default, so that a restart is not a
//! re-placement; timed from when this controller first saw it gone) is replaced by
//! the best live node that holds no copy (`spacetime_replication::replan`: fewest
//! databases, then most free memory); the leader is never dropped. The new node's
//! catalog loop sees it is placed, adopts the database and follows (bootstrapping
//! from a peer if etcd's log was trimmed); the dropped node's progress key is
//! deleted so trimming stops waiting for it. If the dropped node comes back, its
//! replica thread finds it is no longer placed and drops its copy
//! (`placement::drop_copy`) instead of campaigning. A database with fewer live nodes
//! than wanted and no node to spare keeps its placement, with a warning here and
//! `under_replicated` in `GET /v1/database/:db` (`spacetime cluster status`).

use super::ClusterNode;
use spacetime_replication::{replan, ControllerInfo, NodeLease, Placement, ReplicationError};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the controller campaigns (or checks that it still holds the key) and
/// looks at the placements.
const TICK: Duration = Duration::from_secs(1);

/// The controller key's lease: a dead controller is replaced after it.
const CONTROLLER_TTL: Duration = Duration::from_secs(4);

/// What the controller remembers between ticks.
#[derive(Default)]
struct Controller {
    /// The lease this node campaigns with (a new one after a failure).
    lease: Option<NodeLease>,
    /// Whether this node held the key at the last tick.
    holding: bool,
    /// Since when each placed node has been seen gone, while this node controls.
    gone_since: HashMap<String, Instant>,
    /// The last shortfall warned about, per database, so a warning is not repeated
    /// every tick.
    warned: HashMap<String, usize>,
}

/// Runs this node's part in placement for the life of the process: campaign for the
/// controller key and, while holding it, re-place databases.
pub(super) fn run(node: &Arc<ClusterNode>) {
    let mut controller = Controller::default();
    let mut last_error: Option<String> = None;
    loop {
        match controller.tick(node) {
            Ok(()) => last_error = None,
            Err(e) => {
                let why = e.to_string();
                if last_error.as_ref() != Some(&why) {
                    log::warn!("placement controller on node {}: {why}; retrying", node.config.node_id);
                }
                last_error = Some(why);
            }
        }
        std::thread::sleep(TICK);
    }
}

impl Controller {
    fn tick(&mut self, node: &ClusterNode) -> Result<(), ReplicationError> {
        let lease = match self.lease.take() {
            Some(lease) => lease,
            None => node.cluster.node_lease(CONTROLLER_TTL)?,
        };
        let info = ControllerInfo {
            node: node.config.node_id.clone(),
            addr: node.config.advertise_addr.clone(),
        };
        // A failed campaign drops the lease (it may have expired): a new one next time.
        let held = node.cluster.campaign_controller(&info, &lease)?;
        let lease_id = lease.id();
        self.lease = Some(lease);
        let holding = held.lease == lease_id;
        if holding != self.holding {
            if holding {
                log::info!(
                    "node {} is the placement controller (databases whose nodes are gone for {} ms are re-placed)",
                    info.node,
                    node.config.replace_after.as_millis()
                );
            } else {
                log::warn!(
                    "node {} is no longer the placement controller (node {} is)",
                    info.node,
                    held.info.node
                );
            }
            // A new term starts timing gone nodes afresh.
            self.gone_since.clear();
            self.holding = holding;
        }
        if !holding {
            return Ok(());
        }
        self.control(node, lease_id)
    }

    /// One pass over every database's placement, as the controller holding its key
    /// under `lease`.
    fn control(&mut self, node: &ClusterNode, lease: i64) -> Result<(), ReplicationError> {
        let live = node.cluster.nodes()?;
        let catalog = node.cluster.catalog()?;
        let mut placed_nodes: Vec<String> = Vec::new();
        for (db, _) in &catalog {
            let keys = node.cluster.db(db);
            let Some(placement) = node.cluster.placement(&keys)? else {
                continue;
            };
            placed_nodes.extend(placement.nodes.iter().cloned());
            let now = Instant::now();
            for id in &placement.nodes {
                if live.iter().any(|n| &n.node == id) {
                    self.gone_since.remove(id);
                } else {
                    self.gone_since.entry(id.clone()).or_insert(now);
                }
            }
            let leader = node.cluster.leader(&keys)?.map(|l| l.node);
            let grace = node.config.replace_after;
            let gone_since = &self.gone_since;
            let gone = |id: &str| gone_since.get(id).is_some_and(|t| t.elapsed() >= grace);
            let plan = replan(&placement, &live, leader.as_deref(), &gone);
            if let Some(new) = &plan.new {
                self.replace(node, db, &placement, new, &plan.dropped, &plan.added, lease)?;
            }
            self.warn_short(db, plan.new.as_ref().unwrap_or(&placement), plan.short);
        }
        // Nodes no placement names any more need no timing.
        self.gone_since.retain(|id, _| placed_nodes.contains(id));
        self.warned.retain(|db, _| catalog.iter().any(|(key, _)| key == db));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn replace(
        &mut self,
        node: &ClusterNode,
        db: &str,
        old: &Placement,
        new: &Placement,
        dropped: &[String],
        added: &[String],
        lease: i64,
    ) -> Result<(), ReplicationError> {
        let keys = node.cluster.db(db);
        if !node.cluster.replace_placement(&keys, old, new, lease)? {
            // Lost the key, or a publish rewrote the placement: read again next tick.
            log::info!("database {db}: its placement changed while it was being re-placed; looking again");
            return Ok(());
        }
        let gone: Vec<String> = dropped
            .iter()
            .map(|id| {
                let secs = self.gone_since.get(id).map_or(0, |t| t.elapsed().as_secs());
                format!("{id} (gone for {secs} s)")
            })
            .collect();
        log::info!(
            "database {db}: re-placed by the controller: {}{}; now on {}",
            if gone.is_empty() {
                String::new()
            } else {
                format!("dropped {}, ", gone.join(", "))
            },
            format_args!("added {}", added.join(", ")),
            new.nodes.join(", ")
        );
        for id in dropped {
            // Trimming no longer waits for a replica that is not coming back.
            if let Err(e) = node.cluster.forget_replica(&keys, id) {
                log::warn!("database {db}: cannot forget the progress of node {id}, no longer placed: {e}");
            }
        }
        Ok(())
    }

    fn warn_short(&mut self, db: &str, placement: &Placement, short: usize) {
        let before = self.warned.insert(db.to_owned(), short).unwrap_or(0);
        if short > 0 && short != before {
            log::warn!(
                "database {db}: under-replicated: {} of its {} replica(s) are on live nodes (placed on {}), and no \
                 other live node can take a copy; start another node",
                placement.replicas as usize - short.min(placement.replicas as usize),
                placement.replicas,
                placement.nodes.join(", ")
            );
        } else if short == 0 && before > 0 {
            log::info!(
                "database {db}: fully replicated again on {}",
                placement.nodes.join(", ")
            );
        }
    }
}

/// How many of the wanted replicas of a database placed as `placement` have no
/// live node among `live` (0: fully replicated), for `GET /v1/database/:db`.
pub(super) fn shortfall(placement: &Placement, live: &[spacetime_replication::NodeInfo]) -> usize {
    let on_live = placement
        .nodes
        .iter()
        .filter(|id| live.iter().any(|n| &n.node == *id))
        .count();
    (placement.replicas.max(1) as usize).saturating_sub(on_live)
}
