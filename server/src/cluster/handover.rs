//! Planned handover (design §10; `spacetime cluster handover`): the leader of a
//! database passes it to a standby without waiting for a lease to expire.
//!
//! 1. The route ([`ClusterNode::handover`]) checks the target (a live node that
//!    follows the database) and sends an [`Order`] to the replica thread that leads.
//! 2. That thread ([`hand_over`]) names the target in the database's `handover`
//!    key, stops letting requests in, stops the database's actor after what is
//!    queued (its commit log then has every batch fsynced and in etcd: drained to
//!    committed), and returns; the thread resigns (deletes the leader key) and
//!    answers the order.
//! 3. Standbys that find no leader campaign only if the handover key names them or
//!    is gone ([`Vacancy::may_campaign`]), so the named node wins and the rest keep
//!    following.
//! 4. The route waits until the target is elected and answers with the new leader
//!    and the time taken; the handover key is cleared after the answer.
//!
//! Round trips to etcd are what a handover costs, so the leader announces while its
//! actor drains, the target campaigns on the watch event of the leader key's
//! deletion without reading the key again (its campaign checks the key is absent),
//! and grants its lease while it reads the epoch.
//!
//! A target that dies meanwhile leaves the key to expire (after the lease TTL), and
//! then any standby campaigns, as after a failure.

use super::ClusterNode;
use crate::state::AppState;
use serde::Serialize;
use spacetime_replication::{DbKeys, HandoverInfo, ReplicationError};
use spacetime_sats::Identity;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the leader may take to drain before the handover fails (its actor then
/// still stops; the database is taken over after the lease, as after a failure).
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// How long the route waits for the target to be elected after the leader resigned.
const ELECTION_DEADLINE: Duration = Duration::from_secs(10);

/// How often the route reads the leader key while it waits for the election.
const ELECTION_POLL: Duration = Duration::from_millis(5);

/// Why a handover was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    /// This server is not in cluster mode.
    #[error(
        "this server is not part of a cluster (it was started without --cluster), so there is nothing to hand \
         database {0} over to"
    )]
    Standalone(String),
    /// This node does not lead the database (and no redirect applied: it neither
    /// leads nor follows it right now).
    #[error("this node ({node}) does not lead database {db} right now{leader}; send the handover to its leader")]
    NotLeader {
        /// This node.
        node: String,
        /// The database.
        db: String,
        /// ", its leader is ..." when known.
        leader: String,
    },
    /// The requested target cannot take over.
    #[error("node {to} cannot take over database {db}: {why}. Standbys that can: {candidates}")]
    BadTarget {
        /// The requested node.
        to: String,
        /// The database.
        db: String,
        /// Why not.
        why: &'static str,
        /// The nodes that could, comma-separated, or "none".
        candidates: String,
    },
    /// No standby of the database is live.
    #[error(
        "database {0} has no live standby to hand over to: start another node in the cluster (or publish with \
         --replicas 2 or more) and wait for it to follow"
    )]
    NoStandby(String),
    /// The leader could not drain its log; the database stopped and is taken over
    /// after the lease, as after a failure.
    #[error("the leader could not drain database {db} to committed: {why}")]
    NotDrained {
        /// The database.
        db: String,
        /// Why.
        why: String,
    },
    /// The leader resigned, but the target was not elected in time.
    #[error(
        "the leader of database {db} resigned, but node {to} was not elected within {ELECTION_DEADLINE:?} ({now}); \
         if it is down, another standby takes over once the handover lease expires"
    )]
    NotElected {
        /// The database.
        db: String,
        /// The target.
        to: String,
        /// Who leads now, in words.
        now: String,
    },
    /// etcd refused or did not answer.
    #[error(transparent)]
    Replication(#[from] ReplicationError),
}

/// What a finished handover reports (the route's JSON answer).
#[derive(Debug, Clone, Serialize)]
pub struct HandoverReport {
    /// The node that led.
    pub from: String,
    /// The node that leads now.
    pub to: String,
    /// Where the new leader serves.
    pub addr: String,
    /// The epoch it leads in.
    pub epoch: u64,
    /// Milliseconds the old leader took to stop and drain its log.
    pub drained_ms: u64,
    /// Milliseconds from the order until the new leader was elected.
    pub elected_ms: u64,
}

/// What the leading replica thread answers an order with: the drain time.
pub(super) type Drained = Result<Duration, HandoverError>;

/// An order to the replica thread that leads a database: hand it to `to`.
pub(super) struct Order {
    /// The node to hand over to.
    pub(super) to: String,
    /// Where to answer, once resigned.
    pub(super) reply: mpsc::Sender<Drained>,
}

impl ClusterNode {
    /// Hands database `identity` (called `db` in messages) over to standby `to`, or
    /// to the most caught-up live standby (blocking; call it off the async workers).
    ///
    /// # Errors
    /// [`HandoverError`]: this node does not lead it, the target cannot take over,
    /// draining failed, or the target was not elected in time.
    pub fn handover(&self, identity: Identity, db: &str, to: Option<&str>) -> Result<HandoverReport, HandoverError> {
        let started = Instant::now();
        let keys = self.keys(identity);
        let Some(orders) = self.lock_handovers().get(&identity).cloned() else {
            let leader = self.cluster.leader(&keys).ok().flatten().map_or_else(String::new, |l| {
                format!("; its leader is node {} at {}", l.node, l.addr)
            });
            return Err(HandoverError::NotLeader {
                node: self.config.node_id.clone(),
                db: db.to_owned(),
                leader,
            });
        };
        let to = self.choose_target(&keys, db, to)?;
        let (reply, answer) = mpsc::channel();
        let order = Order { to: to.clone(), reply };
        let not_leading = || HandoverError::NotLeader {
            node: self.config.node_id.clone(),
            db: db.to_owned(),
            leader: String::new(),
        };
        orders.send(order).map_err(|_| not_leading())?;
        let drained = answer
            .recv_timeout(DRAIN_DEADLINE + self.cluster.options().request_timeout * 2)
            .map_err(|_| HandoverError::NotDrained {
                db: db.to_owned(),
                why: "the node's replica thread did not answer in time".into(),
            })??;
        let deadline = Instant::now() + ELECTION_DEADLINE;
        loop {
            let leader = self.cluster.leader(&keys)?;
            match leader {
                Some(leader) if leader.node == to => {
                    self.clear_handover_later(identity, keys);
                    let report = HandoverReport {
                        from: self.config.node_id.clone(),
                        to,
                        addr: leader.addr,
                        epoch: leader.epoch,
                        drained_ms: drained.as_millis() as u64,
                        elected_ms: started.elapsed().as_millis() as u64,
                    };
                    log::info!(
                        "database {identity}: handed over from node {} to node {} (epoch {}): drained in {} ms, \
                         elected after {} ms",
                        report.from,
                        report.to,
                        report.epoch,
                        report.drained_ms,
                        report.elected_ms
                    );
                    return Ok(report);
                }
                other if Instant::now() >= deadline => {
                    return Err(HandoverError::NotElected {
                        db: db.to_owned(),
                        to,
                        now: other.map_or_else(|| "no leader yet".into(), |l| format!("node {} leads", l.node)),
                    })
                }
                _ => std::thread::sleep(ELECTION_POLL),
            }
        }
    }

    /// Removes the handover key on a thread of its own: the answer need not wait for
    /// that write (the key only holds other standbys back, and expires by itself).
    fn clear_handover_later(&self, identity: Identity, keys: DbKeys) {
        let cluster = self.cluster.clone();
        let spawned = std::thread::Builder::new()
            .name("handover-clear".into())
            .spawn(move || {
                if let Err(e) = cluster.clear_handover(&keys) {
                    log::warn!("database {identity}: cannot clear its handover key: {e} (it expires by itself)");
                }
            });
        if let Err(e) = spawned {
            log::warn!("database {identity}: cannot clear its handover key: {e} (it expires by itself)");
        }
    }

    /// The target: `to` if it is a live standby node (registered, not a reader) that
    /// follows the database (has reported progress), else the live standby that
    /// persisted the most.
    fn choose_target(&self, keys: &DbKeys, db: &str, to: Option<&str>) -> Result<String, HandoverError> {
        // Both reads at once (the cluster's runtime serves several blocking callers).
        let (nodes, replicas) = std::thread::scope(|s| {
            let nodes = s.spawn(|| self.cluster.nodes());
            let replicas = self.cluster.replicas(keys);
            (
                nodes.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                replicas,
            )
        });
        // Readers never campaign, so only standbys can take over.
        let live: Vec<String> = nodes?
            .into_iter()
            .filter(|n| n.role != "reader")
            .map(|n| n.node)
            .collect();
        let mut followers: Vec<(String, u64)> = replicas?
            .into_iter()
            .filter(|(node, _)| *node != self.config.node_id && live.contains(node))
            .collect();
        // Most caught up first.
        followers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let candidates = || {
            if followers.is_empty() {
                "none".to_owned()
            } else {
                followers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        let bad = |to: &str, why| HandoverError::BadTarget {
            to: to.to_owned(),
            db: db.to_owned(),
            why,
            candidates: candidates(),
        };
        match to {
            Some(to) if to == self.config.node_id => Err(bad(to, "it is the node that leads it now")),
            Some(to) if !live.iter().any(|n| n == to) => Err(bad(
                to,
                "no such standby is registered (live) in the cluster; readers never lead",
            )),
            Some(to) if !followers.iter().any(|(n, _)| n == to) => Err(bad(to, "it does not follow the database")),
            Some(to) => Ok(to.to_owned()),
            None => followers
                .first()
                .map(|(n, _)| n.clone())
                .ok_or_else(|| HandoverError::NoStandby(db.to_owned())),
        }
    }
}

/// On the replica thread that leads `identity` with `epoch`: announces the handover
/// to `order.to`, stops the database after what is queued and waits until its
/// commit log has closed (everything fsynced and in etcd). The caller resigns next,
/// then answers the order with the result.
pub(super) fn hand_over(node: &ClusterNode, state: &AppState, identity: Identity, epoch: u64, to: &str) -> Drained {
    let started = Instant::now();
    let db = identity.to_hex().to_string();
    let keys = node.keys(identity);
    let info = HandoverInfo {
        from: node.config.node_id.clone(),
        to: to.to_owned(),
        epoch,
    };
    let running = state.databases().get(identity);
    // Removing it lets no new request in; the actor finishes what is queued while the
    // handover is announced. (Requests meanwhile are told why, and to retry: the
    // target leads shortly.) Should the announcement fail, the caller resigns all
    // the same and any standby takes over, as after a failure.
    state.databases().remove(identity);
    state.databases().set_failed(
        identity,
        format!(
            "this node ({}) handed the database over to node {to}; retry shortly",
            info.from
        ),
    );
    node.cluster
        .announce_handover(&keys, &info, node.config.lease_ttl.max(Duration::from_secs(2)))?;
    log::info!("database {identity}: handing over from node {} to node {to}", info.from);
    let Some(running) = running else {
        return Ok(started.elapsed());
    };
    while !running.is_stopped() {
        if started.elapsed() > DRAIN_DEADLINE {
            return Err(HandoverError::NotDrained {
                db,
                why: format!("its actor did not stop within {DRAIN_DEADLINE:?}"),
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    match running.log_failure() {
        Some(why) => Err(HandoverError::NotDrained {
            db,
            why: why.to_string(),
        }),
        None => Ok(started.elapsed()),
    }
}

/// What a standby that finds no leader for a database learns before it campaigns.
#[derive(Debug, Clone, Copy)]
pub(super) struct Vacancy {
    /// The database is still in the catalog (if not, it was deleted in the cluster).
    pub(super) listed: bool,
    /// This node may campaign: no planned handover names another node.
    pub(super) may_campaign: bool,
}

/// Reads, in one round trip, what this node must know about database `identity`
/// (with `keys`) before it campaigns for it.
pub(super) fn vacancy(node: &ClusterNode, keys: &DbKeys, identity: Identity) -> Result<Vacancy, ReplicationError> {
    let (listed, handover) = node.cluster.vacancy(keys, identity.to_hex().as_ref())?;
    Ok(Vacancy {
        listed,
        may_campaign: handover.is_none_or(|h| h.to == node.config.node_id),
    })
}
