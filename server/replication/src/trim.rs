//! Replica progress and trimming (design §7): every replica reports the tx offset
//! it has persisted; the leader deletes the log batches that every electable replica
//! (itself and the standbys) holds on its own disk, keeping the newest batch (a
//! rejoining node compares its tail with it), records where the log now starts, and
//! compacts etcd's history up to the revision that put the first batch kept.
//!
//! Two kinds of replica do not hold the log back, so that etcd keeps minutes of
//! writes rather than everything since a node died: readers (never elected), and a
//! standby more than [`STANDBY_LAG_BOUND`] tx offsets behind the most advanced
//! replica (dead, partitioned or too slow). Either one, once trimmed past, finds its
//! next offset below the trim key and bootstraps from a peer's files. The bound is
//! in offsets; in bytes, no standby holds the log back while etcd's store has more
//! than [`STORE_PRESSURE_BYTES`] in use (large transactions, or many databases).
//!
//! Why compact here: deleting keys frees nothing in etcd while their old revisions
//! are kept, and a periodic auto-compaction keeps a whole retention period of them
//! (under a sustained load of tens of thousands of transactions per second, a
//! minute of revisions is hundreds of MiB). The revision that put the first batch
//! kept is safe to compact to: every standby that holds trimming back has persisted
//! past that batch, so its watch has passed that revision (a watch that has not, a
//! reader's or a lagging standby's, is cancelled as compacted and follows again from
//! the offset it reached, or bootstraps when that was trimmed).

use crate::append::EtcdLog;
use crate::cluster::Cluster;
use crate::error::{ReplicationError, Result};
use crate::keys::{number, DbKeys, ReplicaProgress, ReplicaRole};
use etcd_client::{Compare, CompareOp, DeleteOptions, GetOptions, PutOptions, Txn, TxnOp};

/// Bytes in use in etcd's store (as the member asked reports it) past which no
/// lagging standby holds trimming back: the leader then trims everything the most
/// advanced replica persisted. A quarter of etcd's default 2 GiB quota, so that one
/// dead standby of a database writing large transactions cannot bring the store
/// near the quota, where etcd refuses every write of every database.
pub(crate) const STORE_PRESSURE_BYTES: u64 = 512 << 20;

/// How far (in tx offsets) the trim point must lag the most advanced replica before
/// the store's size is asked (one request), so that a standby a moment behind costs
/// nothing.
const PRESSURE_CHECK_LAG: u64 = 1_000;

/// How many tx offsets a standby may lag behind the most advanced replica and still
/// hold trimming back. The bound is in offsets, not time, so it says directly how
/// much log etcd holds for a dead standby (100 000 small transactions are tens of
/// megabytes, far under etcd's 2 GiB quota; a quiet database keeps a dead standby's
/// log for as long as it stays quiet, which costs nothing). A standby that returns
/// within it finds what it lacks in etcd; one that returns later bootstraps.
pub const STANDBY_LAG_BOUND: u64 = 100_000;

impl Cluster {
    /// Records that replica `node` of the database, in `role`, has persisted every tx
    /// offset up to `persisted`. Under `lease` if given, so the report disappears with
    /// the lease.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn report_persisted(
        &self,
        keys: &DbKeys,
        node: &str,
        persisted: u64,
        role: ReplicaRole,
        lease: Option<i64>,
    ) -> Result<()> {
        let options = lease.map(|id| PutOptions::new().with_lease(id));
        let value = ReplicaProgress { persisted, role }.encode();
        let mut client = self.client();
        self.run("report progress", client.put(keys.replica(node), value, options))?;
        Ok(())
    }

    /// Each reporting replica's node id and how far it has persisted, by node id
    /// (readers included).
    ///
    /// # Errors
    /// etcd errors and timeouts; [`ReplicationError::BadValue`].
    pub fn replicas(&self, keys: &DbKeys) -> Result<Vec<(String, u64)>> {
        Ok(self
            .replica_progress(keys)?
            .into_iter()
            .map(|(node, progress)| (node, progress.persisted))
            .collect())
    }

    /// Each reporting replica's node id, progress and role, by node id.
    ///
    /// # Errors
    /// As [`Self::replicas`].
    pub fn replica_progress(&self, keys: &DbKeys) -> Result<Vec<(String, ReplicaProgress)>> {
        let mut client = self.client();
        let options = GetOptions::new().with_prefix();
        let resp = self.run(
            "read replica progress",
            client.get(keys.replica_prefix(), Some(options)),
        )?;
        let prefix = keys.replica_prefix();
        resp.kvs()
            .iter()
            .map(|kv| {
                let key = String::from_utf8_lossy(kv.key()).into_owned();
                let node = key.strip_prefix(&prefix).unwrap_or(&key).to_owned();
                Ok((node, ReplicaProgress::parse(&key, kv.value())?))
            })
            .collect()
    }
}

/// The tx offset every replica trimming waits for has persisted: the lowest of the
/// electable replicas within `lag_bound` of the most advanced one; `None` until at
/// least `standbys` electable replicas (lagging ones too) have reported, so a
/// standby still starting is not trimmed past before it could report. With it, the
/// most advanced replica's offset (what trimming may go to when no standby holds it
/// back).
fn trim_point(progress: &[ReplicaProgress], standbys: usize, lag_bound: u64) -> Option<(u64, u64)> {
    let electable: Vec<u64> = progress
        .iter()
        .filter(|p| p.role == ReplicaRole::Standby)
        .map(|p| p.persisted)
        .collect();
    let newest = electable.iter().copied().max()?;
    if electable.len() < standbys {
        return None;
    }
    let point = electable
        .into_iter()
        .filter(|&persisted| persisted.saturating_add(lag_bound) >= newest)
        .min()?;
    Some((point, newest))
}

impl EtcdLog {
    /// Deletes the log batches whose transactions every electable replica within
    /// [`STANDBY_LAG_BOUND`] has persisted (see [`Cluster::report_persisted`]), except the one holding the lowest replica's
    /// last persisted commit (a rejoining replica verifies its log against it) and
    /// the newest batch, and writes the trim
    /// key. Fenced like an append: only the leader of the current epoch trims.
    /// Returns the first tx offset the log holds afterwards, or `None` if nothing
    /// could be trimmed.
    ///
    /// # Errors
    /// [`ReplicationError::BadValue`] when fenced (the epoch moved on); etcd errors.
    pub fn trim(&mut self) -> Result<Option<u64>> {
        self.trim_behind(1)
    }

    /// As [`Self::trim`], but only once at least `replicas` electable replicas have
    /// reported progress (e.g. 2: the leader and a standby), so a standby that is
    /// still starting is not trimmed past before it could report. Readers never
    /// count, and a standby that lags past the bound counts towards `replicas` but
    /// is not waited for.
    ///
    /// # Errors
    /// As [`Self::trim`].
    pub fn trim_behind(&mut self, replicas: usize) -> Result<Option<u64>> {
        self.trim_within(replicas, STANDBY_LAG_BOUND)
    }

    /// As [`Self::trim_behind`], with standbys more than `lag_bound` tx offsets behind
    /// the most advanced replica ignored ([`STANDBY_LAG_BOUND`] in a server).
    ///
    /// # Errors
    /// As [`Self::trim`].
    pub fn trim_within(&mut self, replicas: usize, lag_bound: u64) -> Result<Option<u64>> {
        let cluster = self.cluster().clone();
        let keys = self.keys().clone();
        let progress: Vec<ReplicaProgress> = cluster
            .replica_progress(&keys)?
            .into_iter()
            .map(|(_, progress)| progress)
            .collect();
        let Some((mut persisted, newest)) = trim_point(&progress, replicas, lag_bound) else {
            return Ok(None);
        };
        if newest - persisted > PRESSURE_CHECK_LAG {
            let in_use = cluster.store_in_use()?;
            if in_use > STORE_PRESSURE_BYTES {
                log::warn!(
                    "replicated log {}: etcd's store has {} MiB in use (more than {} MiB): trimming up to tx offset \
                     {newest} without waiting for the standby at {persisted}, which will bootstrap from a peer",
                    keys.log_prefix(),
                    in_use >> 20,
                    STORE_PRESSURE_BYTES >> 20
                );
                persisted = newest;
            }
        }
        let batches = cluster.log_key_revisions(&keys)?;
        // Batch i ends where batch i+1 starts; it may go once that is <= persisted, so
        // the batch holding the lowest replica's last persisted commit stays: a replica
        // that rejoins checks its log against a commit the cluster still holds
        // (`Cluster::rejoin`), which one ending right at the trim point could not.
        // The newest batch always stays.
        let Some(&(boundary, put_at)) = batches
            .iter()
            .skip(1)
            .filter(|&&(next, _)| next <= persisted)
            .max_by_key(|&&(next, _)| next)
        else {
            return Ok(None);
        };
        let txn = Txn::new()
            .when([Compare::value(keys.epoch(), CompareOp::Equal, number(self.epoch()))])
            .and_then([
                TxnOp::delete(keys.log(0), Some(DeleteOptions::new().with_range(keys.log(boundary)))),
                TxnOp::put(keys.trim(), number(boundary), None),
            ]);
        let mut client = cluster.write_client();
        let resp = cluster
            .run("trim the log", client.txn(txn))
            .inspect_err(|_| cluster.unpin_writes())?;
        if !resp.succeeded() {
            return Err(ReplicationError::Deposed { epoch: self.epoch() });
        }
        log::info!(
            "replicated log {}: trimmed batches below tx offset {boundary} (every standby within the lag bound persisted up \
             to {persisted})",
            keys.log_prefix()
        );
        self.compact_to(put_at);
        Ok(Some(boundary))
    }

    /// Compacts etcd's history up to `revision` (see the module docs), unless this
    /// log already did. A failure is logged, not returned: the trim it follows took
    /// effect, and the next trim compacts further (etcd refuses a revision already
    /// compacted, e.g. by another database's leader: nothing is lost then either).
    fn compact_to(&mut self, revision: i64) {
        if revision <= self.compacted_to {
            return;
        }
        let cluster = self.cluster().clone();
        let mut client = cluster.write_client();
        match cluster.run("compact the history", client.compact(revision, None)) {
            Ok(_) => self.compacted_to = revision,
            Err(e) => {
                // Most often another leader compacted further; nothing to do.
                log::debug!("etcd compaction to revision {revision} not done: {e}");
                self.compacted_to = revision;
            }
        }
    }
}

impl Cluster {
    /// The bytes in use in etcd's store, as the member that answers reports it.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub(crate) fn store_in_use(&self) -> Result<u64> {
        let mut client = self.client();
        let status = self.run("read the store's size", client.status())?;
        Ok(u64::try_from(status.raft_used_db_size()).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standby(persisted: u64) -> ReplicaProgress {
        ReplicaProgress {
            persisted,
            role: ReplicaRole::Standby,
        }
    }

    fn reader(persisted: u64) -> ReplicaProgress {
        ReplicaProgress {
            persisted,
            role: ReplicaRole::Reader,
        }
    }

    #[test]
    fn the_trim_point_waits_for_standbys_within_the_bound_only() {
        let point = |p: &[ReplicaProgress], n, bound| trim_point(p, n, bound).map(|(point, _)| point);
        assert_eq!(point(&[], 1, 10), None);
        assert_eq!(point(&[standby(50), standby(45)], 2, 10), Some(45));
        assert_eq!(trim_point(&[standby(50), standby(45)], 2, 10), Some((45, 50)));
        // A reader behind every standby is not waited for, nor counted as a standby.
        assert_eq!(point(&[standby(50), standby(45), reader(3)], 2, 10), Some(45));
        assert_eq!(point(&[standby(50), reader(3)], 2, 10), None);
        assert_eq!(point(&[reader(3)], 1, 10), None);
        // A standby exactly at the bound still holds the log; one past it does not,
        // but it still counts as having reported.
        assert_eq!(point(&[standby(50), standby(40)], 2, 10), Some(40));
        assert_eq!(point(&[standby(50), standby(39)], 2, 10), Some(50));
        assert_eq!(point(&[standby(50), standby(39)], 3, 10), None);
        assert_eq!(
            trim_point(&[standby(u64::MAX), standby(0)], 2, u64::MAX),
            Some((0, u64::MAX))
        );
    }
}
