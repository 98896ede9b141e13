//! The placement controller's election (design §3, §10): one node of the cluster
//! holds `<prefix>/controller` under a lease of its own and is the only one that
//! re-places databases. The key is taken with a `Txn` that succeeds only while it
//! does not exist, so at most one node holds it; and every placement the controller
//! writes is compared in the same `Txn` with the controller key's lease
//! ([`Cluster::replace_placement`]), so a node that lost the key (its lease expired
//! while it was cut off) can no longer change any placement: the election needs no
//! clock for safety.
//!
//! ```text
//! <prefix>/controller          {"node", "addr"}   under the controller's lease
//! ```

use crate::cluster::Cluster;
use crate::error::{ReplicationError, Result};
use crate::keys::DbKeys;
use crate::placement::{NodeLease, Placement};
use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp, TxnOpResponse};
use serde::{Deserialize, Serialize};

/// Who holds the controller key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerInfo {
    /// The controller's node id.
    pub node: String,
    /// Where it serves clients (`host:port`).
    pub addr: String,
}

/// The controller key as read: its holder and the lease it is held under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerHeld {
    /// Who holds it.
    pub info: ControllerInfo,
    /// Its lease id.
    pub lease: i64,
}

impl Cluster {
    /// The controller key.
    fn controller_key(&self) -> String {
        format!("{}/controller", self.options().prefix.trim_end_matches('/'))
    }

    /// Takes the controller key for `info` under `lease` unless another holds it;
    /// returns who holds it afterwards (`info` itself when this call or an earlier
    /// one under the same lease took it).
    ///
    /// # Errors
    /// etcd errors and timeouts; [`ReplicationError::BadValue`] for a key this crate
    /// did not write.
    pub fn campaign_controller(&self, info: &ControllerInfo, lease: &NodeLease) -> Result<ControllerHeld> {
        let key = self.controller_key();
        let value = serde_json::to_vec(info).expect("a ControllerInfo always serializes");
        let txn = Txn::new()
            .when([Compare::create_revision(key.as_str(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(
                key.as_str(),
                value,
                Some(PutOptions::new().with_lease(lease.id())),
            )])
            .or_else([TxnOp::get(key.as_str(), None)]);
        let mut client = self.client();
        let resp = self.run("campaign for the controller key", client.txn(txn))?;
        if resp.succeeded() {
            return Ok(ControllerHeld {
                info: info.clone(),
                lease: lease.id(),
            });
        }
        let held = resp.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Get(get) => get.kvs().first().map(|kv| (kv.value().to_vec(), kv.lease())),
            _ => None,
        });
        match held {
            Some((value, lease)) => Ok(ControllerHeld {
                info: parse_controller(&key, &value)?,
                lease,
            }),
            // Expired between the compare and the read: the next campaign takes it.
            None => Err(ReplicationError::BadValue {
                key,
                value: String::new(),
                expected: "a controller record (it expired while being read; campaign again)",
            }),
        }
    }

    /// Who holds the controller key, if anyone.
    ///
    /// # Errors
    /// etcd errors and timeouts; [`ReplicationError::BadValue`].
    pub fn controller(&self) -> Result<Option<ControllerHeld>> {
        let key = self.controller_key();
        let mut client = self.client();
        let resp = self.run("read the controller key", client.get(key.as_str(), None))?;
        resp.kvs()
            .first()
            .map(|kv| {
                Ok(ControllerHeld {
                    info: parse_controller(&key, kv.value())?,
                    lease: kv.lease(),
                })
            })
            .transpose()
    }

    /// Replaces the database's placement `old` with `new`, as the controller holding
    /// its key under `lease`: in one `Txn` that succeeds only if the controller key
    /// is still held under that lease and the placement is still exactly `old`.
    /// Returns whether it was written (`false`: this node no longer controls, or the
    /// placement changed meanwhile; read both again).
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn replace_placement(&self, keys: &DbKeys, old: &Placement, new: &Placement, lease: i64) -> Result<bool> {
        let old = serde_json::to_vec(old).expect("a Placement always serializes");
        let new = serde_json::to_vec(new).expect("a Placement always serializes");
        let txn = Txn::new()
            .when([
                Compare::lease(self.controller_key(), CompareOp::Equal, lease),
                Compare::value(keys.placement(), CompareOp::Equal, old),
            ])
            .and_then([TxnOp::put(keys.placement(), new, None)]);
        let mut client = self.client();
        Ok(self.run("re-place a database", client.txn(txn))?.succeeded())
    }

    /// Deletes the progress key of replica `node` (a node no longer placed), so the
    /// leader's trimming stops counting it.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn forget_replica(&self, keys: &DbKeys, node: &str) -> Result<()> {
        let mut client = self.client();
        self.run("forget a replica's progress", client.delete(keys.replica(node), None))?;
        Ok(())
    }
}

fn parse_controller(key: &str, value: &[u8]) -> Result<ControllerInfo> {
    serde_json::from_slice(value).map_err(|_| ReplicationError::BadValue {
        key: key.to_owned(),
        value: String::from_utf8_lossy(value).into_owned(),
        expected: "a controller record {node, addr}",
    })
}
