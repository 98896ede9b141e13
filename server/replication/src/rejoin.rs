//! A node rejoining a database after a failover (design §5 "On disk"): its local log
//! is compared with what the cluster committed, and a tail the cluster never
//! committed (fsynced here while this node led, then deposed) is cut into
//! `.dropped` files before the node follows the new leader.

use crate::cluster::Cluster;
use crate::error::{ReplicationError, Result};
use crate::keys::{DbKeys, Head};
use etcd_client::{GetOptions, Txn, TxnOp, TxnOpResponse};
use spacetime_commitlog::{commit_ids, CommitId, Commitlog, TailCut};

/// The cluster's committed log as one consistent read: every commit it still holds,
/// in order, and its next tx offset (head + 1; 0 if nothing was ever committed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedLog {
    /// The commits of the batches the cluster holds.
    pub commits: Vec<CommitId>,
    /// The tx offset after the head.
    pub next: u64,
}

impl Cluster {
    /// Reads the identities of every commit the database's replicated log holds and
    /// its head, at one revision (one `Txn` of two reads).
    ///
    /// # Errors
    /// etcd errors and timeouts; [`ReplicationError::BadBatch`] for a damaged batch,
    /// [`ReplicationError::BadValue`] for a damaged head.
    pub fn committed_log(&self, keys: &DbKeys) -> Result<CommittedLog> {
        let txn = Txn::new().and_then([
            TxnOp::get(keys.log_prefix(), Some(GetOptions::new().with_prefix())),
            TxnOp::get(keys.head(), None),
        ]);
        let mut client = self.bulk_kv();
        let resp = self.run("read the committed log", client.txn(txn))?;
        let mut gets = resp.op_responses().into_iter().filter_map(|op| match op {
            TxnOpResponse::Get(get) => Some(get),
            _ => None,
        });
        let (Some(log), Some(head)) = (gets.next(), gets.next()) else {
            return Err(ReplicationError::BadBatch {
                key: keys.log_prefix(),
                why: "etcd answered the read of the log and head without both results".into(),
            });
        };
        let mut commits = Vec::new();
        for kv in log.kvs() {
            let ids = commit_ids(kv.value()).map_err(|why| ReplicationError::BadBatch {
                key: String::from_utf8_lossy(kv.key()).into_owned(),
                why,
            })?;
            commits.extend(ids);
        }
        let next = match head.kvs().first() {
            Some(kv) => Head::parse(&keys.head(), kv.value())?.offset + 1,
            None => 0,
        };
        Ok(CommittedLog { commits, next })
    }

    /// Compares `log` (this node's, opened after a restart or a lost election) with
    /// the cluster's committed log and cuts the local tail the cluster never
    /// committed ([`Commitlog::cut_uncommitted`]; logged at `warn`). Returns the cut.
    ///
    /// # Errors
    /// As [`Self::committed_log`]; [`ReplicationError::Commitlog`], notably
    /// `Unverifiable` when the cluster trimmed past everything this node holds (it
    /// must bootstrap again from a peer).
    pub fn rejoin(&self, keys: &DbKeys, log: &mut Commitlog) -> Result<Option<TailCut>> {
        let committed = self.committed_log(keys)?;
        Ok(log.cut_uncommitted(&committed.commits, committed.next)?)
    }
}
