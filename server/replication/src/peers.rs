//! The nodes of a cluster as peers of each other (design §7, §3): where each one
//! serves its peer endpoints (snapshots, sealed segments and programs for a node that
//! bootstraps), and the one secret those endpoints authenticate callers with.
//!
//! ```text
//! <prefix>/peers/<node>      the node's advertised address (host:port), written at start
//! <prefix>/peer-secret       random text, created once by the first node that asks
//! ```
//!
//! The secret lives in etcd, so every node shares it without configuration, and only
//! whoever can read the cluster's etcd (the nodes and their operators) can pull a
//! database's files from a node.

use crate::cluster::Cluster;
use crate::error::Result;
use etcd_client::{Compare, CompareOp, Txn, TxnOp};

impl Cluster {
    fn peers_prefix(&self) -> String {
        format!("{}/peers/", self.options().prefix.trim_end_matches('/'))
    }

    fn peer_secret_key(&self) -> String {
        format!("{}/peer-secret", self.options().prefix.trim_end_matches('/'))
    }

    /// Records that node `node` serves its peer endpoints at `addr` (`host:port`).
    /// Kept after the node stops: a caller that cannot reach an address tries the next.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn register_peer(&self, node: &str, addr: &str) -> Result<()> {
        let mut client = self.client();
        let key = format!("{}{node}", self.peers_prefix());
        self.run("register this node as a peer", client.put(key, addr, None))?;
        Ok(())
    }

    /// Every registered peer as `(node, address)`, by node id.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn peers(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .under_prefix("read the peers", &self.peers_prefix())?
            .into_iter()
            .filter_map(|(node, addr)| Some((node, String::from_utf8(addr).ok()?)))
            .collect())
    }

    /// The cluster's peer secret: `candidate` if no node created one before (it is
    /// then stored, once, in one `Txn`), else the one stored. Every node gets the same.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn peer_secret(&self, candidate: &str) -> Result<String> {
        let key = self.peer_secret_key();
        let txn = Txn::new()
            .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key.clone(), candidate, None)]);
        let mut client = self.client();
        self.run("create the peer secret", client.txn(txn))?;
        let resp = self.run("read the peer secret", client.get(key, None))?;
        Ok(resp
            .kvs()
            .first()
            .map(|kv| String::from_utf8_lossy(kv.value()).into_owned())
            .unwrap_or_else(|| candidate.to_owned()))
    }
}
