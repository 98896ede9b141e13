//! Replica progress and trimming (design §7): every replica reports the tx offset
//! it has persisted; the leader deletes the log batches that every replica holds on
//! its own disk, keeping the newest batch (a rejoining node compares its tail with
//! it), and records where the log now starts.

use crate::append::EtcdLog;
use crate::cluster::Cluster;
use crate::error::{ReplicationError, Result};
use crate::keys::{number, parse_number, DbKeys};
use etcd_client::{Compare, CompareOp, DeleteOptions, GetOptions, PutOptions, Txn, TxnOp};

impl Cluster {
    /// Records that replica `node` of the database has persisted every tx offset up
    /// to `persisted`. Under `lease` (the node's lease) if given, so a node that dies
    /// stops holding the log back once its lease expires.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn report_persisted(&self, keys: &DbKeys, node: &str, persisted: u64, lease: Option<i64>) -> Result<()> {
        let options = lease.map(|id| PutOptions::new().with_lease(id));
        let mut client = self.client();
        self.run(
            "report progress",
            client.put(keys.replica(node), number(persisted), options),
        )?;
        Ok(())
    }

    /// The lowest tx offset every reporting replica has persisted, if any reported.
    ///
    /// # Errors
    /// etcd errors and timeouts; [`ReplicationError::BadValue`].
    pub fn lowest_persisted(&self, keys: &DbKeys) -> Result<Option<u64>> {
        Ok(self.progress(keys)?.into_iter().min())
    }

    /// How far each reporting replica has persisted, in no particular order.
    ///
    /// # Errors
    /// As [`Self::lowest_persisted`].
    pub fn progress(&self, keys: &DbKeys) -> Result<Vec<u64>> {
        Ok(self
            .replicas(keys)?
            .into_iter()
            .map(|(_, persisted)| persisted)
            .collect())
    }

    /// Each reporting replica's node id and how far it has persisted, by node id.
    ///
    /// # Errors
    /// As [`Self::lowest_persisted`].
    pub fn replicas(&self, keys: &DbKeys) -> Result<Vec<(String, u64)>> {
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
                Ok((node, parse_number(&key, kv.value())?))
            })
            .collect()
    }
}

impl EtcdLog {
    /// Deletes the log batches whose transactions every replica has persisted (see
    /// [`Cluster::report_persisted`]), except the one holding the lowest replica's
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

    /// As [`Self::trim`], but only once at least `replicas` replicas have reported
    /// progress (e.g. 2: the leader and a standby), so a standby that is still
    /// starting is not trimmed past before it could report.
    ///
    /// # Errors
    /// As [`Self::trim`].
    pub fn trim_behind(&mut self, replicas: usize) -> Result<Option<u64>> {
        let cluster = self.cluster().clone();
        let keys = self.keys().clone();
        let progress = cluster.progress(&keys)?;
        let Some(persisted) = progress.iter().copied().min().filter(|_| progress.len() >= replicas) else {
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
            "replicated log {}: trimmed batches below tx offset {boundary} (every replica persisted up to {persisted})",
            keys.log_prefix()
        );
        Ok(Some(boundary))
    }
}
