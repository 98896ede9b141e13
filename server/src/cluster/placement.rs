//! Which nodes hold each database (design §10): every node registers itself under
//! `nodes/<node>` with a lease, its free memory and how many databases it holds; the
//! node a database is published on places it there and on `replicas - 1` other live
//! nodes (not readers) with the fewest databases and the most free memory
//! (`spacetime publish --replicas N`, default [`DEFAULT_REPLICAS`]), written to
//! `db/<db>/placement` before its catalog entry. A node adopts a catalog database only
//! if the placement names it (or the database has none: every node, as before
//! placement existed); the others remember it as remote and redirect its requests to
//! the leader.
//!
//! Afterwards the elected placement controller (`controller.rs`) changes placements:
//! a node gone for good is replaced. A node that holds a copy of a database it is no
//! longer placed for (it was gone when it was replaced) drops the copy
//! ([`drop_copy`]) when its replica thread notices, instead of following or
//! campaigning; it then redirects the database's requests like any other node.

use super::ClusterNode;
use crate::state::AppState;
use spacetime_replication::{choose_nodes, LeaderInfo, NodeInfo, Placement, ReplicationError};
use spacetime_sats::Identity;
use std::sync::Arc;
use std::time::Duration;

/// How many server replicas (leader and standbys) a database gets when the publish
/// does not say: with three etcd members, a leader and one standby already survive
/// the loss of either node (design §7).
pub const DEFAULT_REPLICAS: u32 = 2;

/// The TTL of a node's registration: a node that dies leaves the list after it.
const NODE_TTL: Duration = Duration::from_secs(6);

/// How often a node rewrites its registration (free memory, database count).
const REGISTER_EVERY: Duration = Duration::from_secs(2);

/// A database this node holds no copy of (placed elsewhere), for redirecting.
#[derive(Debug, Clone)]
pub(super) struct Remote {
    /// Its names.
    pub(super) names: Vec<String>,
}

impl ClusterNode {
    /// Places new database `identity` on this node and `replicas - 1` others
    /// (blocking). Fewer if fewer nodes are live; the log says so.
    ///
    /// # Errors
    /// etcd errors.
    pub(super) fn place(&self, identity: Identity, replicas: u32) -> Result<Placement, ReplicationError> {
        let nodes = self.cluster.nodes()?;
        let chosen = choose_nodes(&self.config.node_id, &nodes, replicas);
        if chosen.len() < replicas as usize {
            log::warn!(
                "database {identity}: {replicas} replicas asked for, but only {} node(s) are live: placed on {}",
                chosen.len(),
                chosen.join(", ")
            );
        }
        let placement = Placement {
            replicas,
            nodes: chosen,
        };
        self.cluster.put_placement(&self.keys(identity), &placement)?;
        log::info!("database {identity}: placed on {}", placement.nodes.join(", "));
        Ok(placement)
    }

    /// Whether this node is to hold a copy of `identity` (its placement names it, or
    /// it has none). A reader is never placed (placement names server replicas) and
    /// follows every database.
    pub(super) fn placed_here(&self, identity: Identity) -> Result<bool, ReplicationError> {
        if self.is_reader() {
            return Ok(true);
        }
        Ok(self
            .cluster
            .placement(&self.keys(identity))?
            .is_none_or(|p| p.nodes.contains(&self.config.node_id)))
    }

    /// Whether this node holds a copy of `identity` that it is no longer placed for
    /// (a reader, never placed, keeps what it follows).
    ///
    /// # Errors
    /// etcd errors.
    pub(super) fn unplaced(&self, identity: Identity) -> Result<bool, ReplicationError> {
        Ok(!self.is_reader() && !self.placed_here(identity)?)
    }

    /// Remembers `identity` as placed elsewhere, with its current `leader`, so its
    /// requests are redirected from here.
    pub(super) fn note_remote(&self, identity: Identity, names: Vec<String>, leader: Option<LeaderInfo>) {
        self.remote
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(identity, Remote { names });
        self.follow_leader(identity, leader);
    }

    /// Forgets the databases placed elsewhere for which `keep` is false (deleted).
    pub(super) fn retain_remote(&self, keep: impl Fn(Identity) -> bool) {
        let mut remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        let gone: Vec<Identity> = remote.keys().copied().filter(|id| !keep(*id)).collect();
        for identity in gone {
            remote.remove(&identity);
            self.follow_leader(identity, None);
        }
    }

    /// The identity of a database placed elsewhere that `db` (a name or an identity
    /// in hex) names, if this node knows of one.
    pub fn remote_database(&self, db: &str) -> Option<Identity> {
        let remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        remote
            .iter()
            .find(|(identity, r)| {
                identity
                    .to_hex()
                    .as_str()
                    .eq_ignore_ascii_case(db.trim_start_matches("0x"))
                    || r.names.iter().any(|n| n == db)
            })
            .map(|(identity, _)| *identity)
    }
}

/// Drops this node's copy of database `identity`, which it is no longer placed for:
/// stops whatever of it runs here, removes it from the registry and deletes its
/// replica directory. The catalog loop then remembers it as remote and redirects its
/// requests to the leader; if it is placed here again, it is adopted afresh.
pub(super) fn drop_copy(node: &ClusterNode, state: &AppState, identity: Identity) {
    log::warn!(
        "database {identity}: node {} is no longer placed to hold it (the placement controller placed it on other          nodes while this node was gone); dropping the copy here",
        node.config.node_id
    );
    node.follow_leader(identity, None);
    super::replica::stop_and_wait(state, identity);
    let record = state.registry().get(identity);
    if let Err(e) = state.registry().remove(identity) {
        log::error!("database {identity}: cannot remove it from the registry: {e}");
        return;
    }
    state.databases().remove(identity);
    if let Some(dir) = record.map(|r| state.config().replica_dir(r.replica_id)) {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => log::info!("database {identity}: deleted its copy in {}", dir.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("database {identity}: cannot delete its copy in {}: {e}", dir.display()),
        }
    }
}

/// Each node that holds database (placed on it, or reporting progress as a replica)
/// or reads it (a live reader), with its role (`leader`, `standby`, `reader`), its
/// address, whether it is live (registered) and how far it persisted the log:
/// `cluster.nodes` of `GET /v1/database/:db`.
pub(super) fn roles(
    live: &[NodeInfo],
    placed: Option<&Placement>,
    leader: Option<&LeaderInfo>,
    replicas: &[(String, u64)],
) -> Vec<serde_json::Value> {
    let mut ids: Vec<&str> = placed
        .map(|p| p.nodes.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let extra = replicas
        .iter()
        .map(|(n, _)| n.as_str())
        .chain(live.iter().filter(|n| n.role == "reader").map(|n| n.node.as_str()))
        .chain(leader.map(|l| l.node.as_str()));
    for id in extra {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids.into_iter()
        .map(|id| {
            let registered = live.iter().find(|n| n.node == id);
            let role = if leader.is_some_and(|l| l.node == id) {
                "leader"
            } else if registered.is_some_and(|n| n.role == "reader") {
                "reader"
            } else {
                "standby"
            };
            serde_json::json!({
                "node": id,
                "addr": registered.map(|n| n.addr.as_str()).or(leader.filter(|l| l.node == id).map(|l| l.addr.as_str())),
                "role": role,
                "live": registered.is_some(),
                "persisted": replicas.iter().find(|(n, _)| n == id).map(|(_, p)| *p),
            })
        })
        .collect()
}

/// Keeps this node registered for the life of the process: a lease renewed in the
/// background and the entry rewritten every [`REGISTER_EVERY`]; a lost lease (etcd
/// was unreachable past its TTL) is replaced by a new one.
pub(super) fn register_loop(node: &Arc<ClusterNode>, state: &AppState) {
    let mut last_error: Option<String> = None;
    loop {
        match register_once(node, state) {
            Ok(()) => last_error = None,
            Err(e) => {
                let why = e.to_string();
                if last_error.as_ref() != Some(&why) {
                    log::warn!(
                        "cluster mode: cannot register node {}: {why}; retrying",
                        node.config.node_id
                    );
                }
                last_error = Some(why);
            }
        }
        std::thread::sleep(REGISTER_EVERY);
    }
}

fn register_once(node: &ClusterNode, state: &AppState) -> Result<(), ReplicationError> {
    register(node, state.registry().all().len() as u64)
}

/// Writes this node's registration, saying it holds `databases` databases.
pub(super) fn register(node: &ClusterNode, databases: u64) -> Result<(), ReplicationError> {
    let info = NodeInfo {
        node: node.config.node_id.clone(),
        addr: node.config.advertise_addr.clone(),
        mem_free: mem_available().unwrap_or(0),
        databases,
        role: if node.is_reader() { "reader" } else { "standby" }.into(),
        boot: super::hosted::boot_id().into(),
    };
    let mut registration = node.registration.lock().unwrap_or_else(|e| e.into_inner());
    let lease = match registration.take() {
        Some(lease) => lease,
        None => node.cluster.node_lease(NODE_TTL)?,
    };
    // A lease that failed is dropped (its renewals stop) and replaced next time.
    node.cluster.register_node(&info, &lease)?;
    *registration = Some(lease);
    Ok(())
}

/// The memory available for new work, in bytes (`MemAvailable` of `/proc/meminfo`);
/// `None` where there is no such file.
fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&text)
}

fn parse_mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn mem_available_is_read_in_bytes() {
        let text = "MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:    2048 kB\n";
        assert_eq!(super::parse_mem_available(text), Some(2048 * 1024));
        assert_eq!(super::parse_mem_available("MemTotal: 1 kB\n"), None);
    }
}
