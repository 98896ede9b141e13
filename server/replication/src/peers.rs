//! The one secret the nodes' peer endpoints (snapshots, sealed segments and programs
//! for a node that bootstraps; design §7) authenticate callers with. Where each node
//! serves them is its address in the node registry (`placement.rs`).
//!
//! ```text
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
    fn peer_secret_key(&self) -> String {
        format!("{}/peer-secret", self.options().prefix.trim_end_matches('/'))
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
