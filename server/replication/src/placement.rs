//! Node membership and database placement (design §3, §10).
//!
//! ```text
//! <prefix>/nodes/<node>        {"node", "addr", "mem_free", "databases", "role"}   under the node's lease
//! <prefix>/db/<db>/placement   {"replicas", "nodes": [...]}               the nodes that hold it
//! ```
//!
//! A node registers itself under a lease it keeps alive, so a node that dies drops out
//! of the list after the lease's TTL; it rewrites its entry now and then with its
//! free memory and how many databases it holds, which placement chooses by.

use crate::cluster::Cluster;
use crate::error::{ReplicationError, Result};
use crate::keys::DbKeys;
use etcd_client::{GetOptions, PutOptions};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A node's registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Its node id.
    pub node: String,
    /// Where it serves clients (`host:port`).
    pub addr: String,
    /// Its free memory in bytes when it last wrote its entry.
    pub mem_free: u64,
    /// How many databases it held then.
    pub databases: u64,
    /// `standby` (may lead) or `reader` (never leads).
    #[serde(default = "standby")]
    pub role: String,
    /// A random id of the node's process (empty from older builds): connections a
    /// node hosts for a leader are named by node and boot id, so they end when the
    /// process does even if the node comes back under the same id.
    #[serde(default)]
    pub boot: String,
}

fn standby() -> String {
    "standby".into()
}

/// Where a database is placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// How many server replicas (leader and standbys) were asked for.
    pub replicas: u32,
    /// The nodes chosen to hold it, the first being where it was created.
    pub nodes: Vec<String>,
}

/// A node's lease in the cluster: renewed in the background until dropped.
#[derive(Debug)]
pub struct NodeLease {
    lease: i64,
    keepalive: tokio::task::JoinHandle<()>,
}

impl NodeLease {
    /// The lease id.
    pub fn id(&self) -> i64 {
        self.lease
    }
}

impl Drop for NodeLease {
    fn drop(&mut self) {
        self.keepalive.abort();
    }
}

impl Cluster {
    fn nodes_prefix(&self) -> String {
        format!("{}/nodes/", self.options().prefix.trim_end_matches('/'))
    }

    /// Grants a lease of `ttl` (whole seconds, at least 1) that is renewed every
    /// third of it until the returned handle is dropped, for a node's registration.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn node_lease(&self, ttl: Duration) -> Result<NodeLease> {
        let ttl_secs = ttl.as_secs().max(1);
        let mut client = self.client();
        let lease = self.run("grant a node lease", client.lease_grant(ttl_secs as i64, None))?;
        let id = lease.id();
        let keepalive = self.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(ttl_secs) / 3);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut stream = None;
            loop {
                tick.tick().await;
                if stream.is_none() {
                    stream = client.lease_keep_alive(id).await.ok();
                }
                if let Some((keeper, responses)) = stream.as_mut() {
                    let renewed = keeper.keep_alive().await.is_ok() && responses.message().await.is_ok();
                    if !renewed {
                        // Opened again on the next tick.
                        stream = None;
                    }
                }
            }
        });
        Ok(NodeLease { lease: id, keepalive })
    }

    /// Writes this node's registration under `lease`.
    ///
    /// # Errors
    /// etcd errors and timeouts (for instance a lease that expired: register again
    /// with a new one).
    pub fn register_node(&self, info: &NodeInfo, lease: &NodeLease) -> Result<()> {
        let key = format!("{}{}", self.nodes_prefix(), info.node);
        let value = serde_json::to_vec(info).expect("a NodeInfo always serializes");
        let mut client = self.client();
        let options = PutOptions::new().with_lease(lease.id());
        self.run("register the node", client.put(key, value, Some(options)))?;
        Ok(())
    }

    /// Every registered (live) node, by node id.
    ///
    /// # Errors
    /// etcd errors and timeouts; [`ReplicationError::BadValue`] for an entry this crate
    /// did not write.
    pub fn nodes(&self) -> Result<Vec<NodeInfo>> {
        let prefix = self.nodes_prefix();
        let mut client = self.client();
        let resp = self.run(
            "list the nodes",
            client.get(prefix, Some(GetOptions::new().with_prefix())),
        )?;
        resp.kvs()
            .iter()
            .map(|kv| {
                serde_json::from_slice(kv.value()).map_err(|_| ReplicationError::BadValue {
                    key: String::from_utf8_lossy(kv.key()).into_owned(),
                    value: String::from_utf8_lossy(kv.value()).into_owned(),
                    expected: "a node record {node, addr, mem_free, databases, role}",
                })
            })
            .collect()
    }

    /// Writes the database's placement.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn put_placement(&self, keys: &DbKeys, placement: &Placement) -> Result<()> {
        let value = serde_json::to_vec(placement).expect("a Placement always serializes");
        let mut client = self.client();
        self.run("write the placement", client.put(keys.placement(), value, None))?;
        Ok(())
    }

    /// The database's placement, if one was written (databases created before
    /// placement existed have none: every node holds them).
    ///
    /// # Errors
    /// etcd errors and timeouts; [`ReplicationError::BadValue`].
    pub fn placement(&self, keys: &DbKeys) -> Result<Option<Placement>> {
        let mut client = self.client();
        let resp = self.run("read the placement", client.get(keys.placement(), None))?;
        resp.kvs()
            .first()
            .map(|kv| {
                serde_json::from_slice(kv.value()).map_err(|_| ReplicationError::BadValue {
                    key: keys.placement(),
                    value: String::from_utf8_lossy(kv.value()).into_owned(),
                    expected: "a placement record {replicas, nodes}",
                })
            })
            .transpose()
    }
}

/// Chooses `replicas` nodes for a new database created on `here`: `here` first (it
/// leads), then the other live nodes that may lead (not readers) with the fewest
/// databases, most free memory breaking ties, then node id (so the choice is
/// deterministic). Fewer if fewer nodes are registered.
pub fn choose_nodes(here: &str, nodes: &[NodeInfo], replicas: u32) -> Vec<String> {
    let others = by_load(nodes.iter().filter(|n| n.node != here));
    std::iter::once(here.to_owned())
        .chain(others.into_iter().map(|n| n.node.clone()))
        .take(replicas.max(1) as usize)
        .collect()
}

/// The nodes among `nodes` that may hold a database as a server replica (readers
/// never lead), best first: fewest databases, then most free memory, then node id.
fn by_load<'a>(nodes: impl Iterator<Item = &'a NodeInfo>) -> Vec<&'a NodeInfo> {
    let mut eligible: Vec<&NodeInfo> = nodes.filter(|n| n.role != "reader").collect();
    eligible.sort_by(|a, b| {
        a.databases
            .cmp(&b.databases)
            .then(b.mem_free.cmp(&a.mem_free))
            .then(a.node.cmp(&b.node))
    });
    eligible
}

/// What the placement controller makes of one database's placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replan {
    /// The placement to write, if it changes.
    pub new: Option<Placement>,
    /// Placed nodes gone past the grace period that the new placement drops.
    pub dropped: Vec<String>,
    /// Nodes the new placement adds.
    pub added: Vec<String>,
    /// How many of the wanted replicas have no live node even after the change
    /// (0: fully replicated).
    pub short: usize,
}

/// Re-places a database placed as `placement`, given the `live` registered nodes,
/// its current `leader` and which placed nodes have been `gone` (unregistered)
/// past the grace period: each such node is replaced by the best live node that
/// holds no copy ([`choose_nodes`]' order), and a placement with fewer nodes than
/// its replicas is filled up. The leader is never dropped, and a gone node is
/// dropped only when a replacement takes its place: with no live node to spare, the
/// placement stays as it is (under-replicated, [`Replan::short`]), so the node finds
/// itself still placed if it returns.
pub fn replan(placement: &Placement, live: &[NodeInfo], leader: Option<&str>, gone: &dyn Fn(&str) -> bool) -> Replan {
    let want = placement.replicas.max(1) as usize;
    let is_live = |id: &str| live.iter().any(|n| n.node == id);
    let (mut keep, mut dropped): (Vec<String>, Vec<String>) = placement
        .nodes
        .iter()
        .cloned()
        .partition(|id| is_live(id) || leader == Some(id.as_str()) || !gone(id));
    let slots = want.saturating_sub(keep.len());
    let added: Vec<String> = by_load(live.iter().filter(|n| !placement.nodes.contains(&n.node)))
        .into_iter()
        .take(slots)
        .map(|n| n.node.clone())
        .collect();
    let new = if added.is_empty() {
        dropped.clear();
        None
    } else {
        keep.extend(added.iter().cloned());
        // Gone nodes nobody replaces stay placed.
        while keep.len() < want && !dropped.is_empty() {
            keep.push(dropped.remove(0));
        }
        Some(Placement {
            replicas: placement.replicas,
            nodes: keep,
        })
    };
    let nodes = new.as_ref().unwrap_or(placement).nodes.iter();
    let short = want.saturating_sub(nodes.filter(|id| is_live(id)).count());
    Replan {
        new,
        dropped,
        added,
        short,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, mem_free: u64, databases: u64) -> NodeInfo {
        NodeInfo {
            node: id.into(),
            addr: format!("{id}:3000"),
            mem_free,
            databases,
            role: standby(),
            boot: String::new(),
        }
    }

    #[test]
    fn placement_prefers_few_databases_then_free_memory() {
        let nodes = [
            node("n1", 1 << 30, 5),
            node("n2", 1 << 30, 1),
            node("n3", 8 << 30, 1),
            node("n4", 16 << 30, 0),
        ];
        assert_eq!(choose_nodes("n1", &nodes, 1), ["n1"]);
        assert_eq!(choose_nodes("n1", &nodes, 2), ["n1", "n4"]);
        assert_eq!(choose_nodes("n1", &nodes, 3), ["n1", "n4", "n3"]);
        assert_eq!(choose_nodes("n1", &nodes, 4), ["n1", "n4", "n3", "n2"]);
        // More than there are: every node, once.
        assert_eq!(choose_nodes("n1", &nodes, 9).len(), 4);
        // The creating node leads even if it is not registered yet.
        assert_eq!(choose_nodes("n9", &nodes, 2), ["n9", "n4"]);
        // Zero means one: a database always lives somewhere.
        assert_eq!(choose_nodes("n1", &nodes, 0), ["n1"]);
        // A reader is never chosen: it never leads.
        let mut with_reader = nodes.to_vec();
        with_reader[3].role = "reader".into();
        assert_eq!(choose_nodes("n1", &with_reader, 2), ["n1", "n3"]);
    }

    fn placed(nodes: &[&str], replicas: u32) -> Placement {
        Placement {
            replicas,
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn a_node_gone_past_the_grace_period_is_replaced_by_the_best_live_node() {
        let live = [node("n1", 1 << 30, 1), node("n3", 1 << 30, 0), node("n4", 8 << 30, 0)];
        let replan = replan(&placed(&["n1", "n2"], 2), &live, Some("n1"), &|id| id == "n2");
        assert_eq!(replan.new, Some(placed(&["n1", "n4"], 2)));
        assert_eq!(replan.dropped, ["n2"]);
        assert_eq!(replan.added, ["n4"]);
        assert_eq!(replan.short, 0);
    }

    #[test]
    fn a_node_within_the_grace_period_or_leading_is_kept() {
        let live = [node("n1", 1 << 30, 1), node("n3", 1 << 30, 0)];
        // Gone, but not for long enough (a restart).
        let within = replan(&placed(&["n1", "n2"], 2), &live, Some("n1"), &|_| false);
        assert_eq!((within.new, within.short), (None, 1));
        // Gone past the grace period, but etcd still names it leader.
        let leading = replan(&placed(&["n1", "n2"], 2), &[node("n3", 1, 0)], Some("n2"), &|id| {
            id == "n1"
        });
        assert_eq!(leading.new, Some(placed(&["n2", "n3"], 2)));
        assert_eq!(leading.dropped, ["n1"]);
    }

    #[test]
    fn with_no_node_to_spare_the_placement_stays_under_replicated() {
        let live = [node("n1", 1 << 30, 1), node("r1", 8 << 30, 0)];
        let mut live = live.to_vec();
        live[1].role = "reader".into();
        let replan = replan(&placed(&["n1", "n2"], 2), &live, Some("n1"), &|_| true);
        assert_eq!(replan.new, None);
        assert!(replan.dropped.is_empty());
        assert_eq!(replan.short, 1);
        // Two gone, one spare: one replaced, the other stays placed.
        let live = [node("n1", 1, 0), node("n4", 1, 0)];
        let replan = super::replan(&placed(&["n1", "n2", "n3"], 3), &live, Some("n1"), &|_| true);
        assert_eq!(replan.new, Some(placed(&["n1", "n4", "n2"], 3)));
        assert_eq!(replan.dropped, ["n3"]);
        assert_eq!(replan.short, 1);
    }

    #[test]
    fn a_placement_short_of_its_replicas_is_filled_up() {
        let live = [node("n1", 1, 3), node("n2", 1, 0)];
        let replan = replan(&placed(&["n1"], 2), &live, None, &|_| true);
        assert_eq!(replan.new, Some(placed(&["n1", "n2"], 2)));
        assert!(replan.dropped.is_empty());
        assert_eq!(replan.short, 0);
    }
}
