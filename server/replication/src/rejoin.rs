//! A node rejoining a database after a failover (design §5 "On disk"): its local log
//! is compared with what the cluster committed, and a tail the cluster never
//! committed (fsynced here while this node led, then deposed) is cut into
//! `.dropped` files before the node follows the new leader.

use crate::cluster::{Cluster, RangePages};
use crate::error::{ReplicationError, Result};
use crate::keys::{DbKeys, Head};
use etcd_client::GetOptions;
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
    /// its head, at one revision: the log in pages of
    /// [`ClusterOptions::read_page_keys`](crate::ClusterOptions::read_page_keys) keys
    /// (a log may be far larger than one answer should be), every page and the head
    /// read at the revision of the first page.
    ///
    /// # Errors
    /// etcd errors and timeouts (also when etcd compacted that revision while the
    /// pages were read: read again); [`ReplicationError::BadBatch`] for a damaged
    /// batch, [`ReplicationError::BadValue`] for a damaged head.
    pub fn committed_log(&self, keys: &DbKeys) -> Result<CommittedLog> {
        let (_, log_end) = keys.tail_range();
        let mut pages = RangePages::new(keys.log_prefix(), log_end);
        let mut commits = Vec::new();
        while let Some(page) = self.read_page("read the committed log", &mut pages)? {
            for kv in &page {
                let ids = commit_ids(kv.value()).map_err(|why| ReplicationError::BadBatch {
                    key: String::from_utf8_lossy(kv.key()).into_owned(),
                    why,
                })?;
                commits.extend(ids);
            }
        }
        let mut client = self.client();
        let options = GetOptions::new().with_revision(pages.revision());
        let head = self.run("read the committed head", client.get(keys.head(), Some(options)))?;
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
