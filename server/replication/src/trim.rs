//! Replica progress and trimming (design §7): every replica reports the tx offset
//! it has persisted; the leader deletes the log batches that every electable replica
//! (itself and the standbys) holds on its own disk, keeping the newest batch (a
//! rejoining node compares its tail with it), and records where the log now starts.
//!
//! Two kinds of replica do not hold the log back, so that etcd keeps minutes of
//! writes rather than everything since a node died: readers (never elected), and a
//! standby more than [`STANDBY_LAG_BOUND`] tx offsets behind the most advanced
//! replica (dead, partitioned or too slow). Either one, once trimmed past, finds its
//! next offset below the trim key and bootstraps from a peer's files.

use crate::append::EtcdLog;
use crate::cluster::Cluster;
use crate::error::{ReplicationError, Result};
use crate::keys::{number, DbKeys, ReplicaProgress, ReplicaRole};
use etcd_client::{Compare, CompareOp, DeleteOptions, GetOptions, PutOptions, Txn, TxnOp};

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
/// standby still starting is not trimmed past before it could report.
fn trim_point(progress: &[ReplicaProgress], standbys: usize, lag_bound: u64) -> Option<u64> {
    let electable: Vec<u64> = progress
        .iter()
        .filter(|p| p.role == ReplicaRole::Standby)
        .map(|p| p.persisted)
        .collect();
    let newest = electable.iter().copied().max()?;
    if electable.len() < standbys {
        return None;
    }
    electable
        .into_iter()
        .filter(|&persisted| persisted.saturating_add(lag_bound) >= newest)
        .min()
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
        let Some(persisted) = trim_point(&progress, replicas, lag_bound) else {
            return Ok(None);
        };
        let firsts = cluster.log_keys(&keys)?;
        // Batch i ends where batch i+1 starts; it may go once that is <= persisted, so
        // the batch holding the lowest replica's last persisted commit stays: a replica
        // that rejoins checks its log against a commit the cluster still holds
        // (`Cluster::rejoin`), which one ending right at the trim point could not.
        // The newest batch always stays.
        let Some(boundary) = firsts.iter().skip(1).copied().filter(|&next| next <= persisted).max() else {
            return Ok(None);
        };
        let txn = Txn::new()
            .when([Compare::value(keys.epoch(), CompareOp::Equal, number(self.epoch()))])
            .and_then([
                TxnOp::delete(keys.log(0), Some(DeleteOptions::new().with_range(keys.log(boundary)))),
                TxnOp::put(keys.trim(), number(boundary), None),
            ]);
        let mut client = cluster.client();
        let resp = cluster.run("trim the log", client.txn(txn))?;
        if !resp.succeeded() {
            return Err(ReplicationError::Deposed { epoch: self.epoch() });
        }
        log::info!(
            "replicated log {}: trimmed batches below tx offset {boundary} (every standby within the lag bound persisted up \
             to {persisted})",
            keys.log_prefix()
        );
        Ok(Some(boundary))
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
        assert_eq!(trim_point(&[], 1, 10), None);
        assert_eq!(trim_point(&[standby(50), standby(45)], 2, 10), Some(45));
        // A reader behind every standby is not waited for, nor counted as a standby.
        assert_eq!(trim_point(&[standby(50), standby(45), reader(3)], 2, 10), Some(45));
        assert_eq!(trim_point(&[standby(50), reader(3)], 2, 10), None);
        assert_eq!(trim_point(&[reader(3)], 1, 10), None);
        // A standby exactly at the bound still holds the log; one past it does not,
        // but it still counts as having reported.
        assert_eq!(trim_point(&[standby(50), standby(40)], 2, 10), Some(40));
        assert_eq!(trim_point(&[standby(50), standby(39)], 2, 10), Some(50));
        assert_eq!(trim_point(&[standby(50), standby(39)], 3, 10), None);
        assert_eq!(trim_point(&[standby(u64::MAX), standby(0)], 2, u64::MAX), Some(0));
    }
}
