//! Divergence detection on a follower (design §9): the standby computes the rolling
//! checksum of its own copy from the records it appends (never trusting the leader's
//! value) and compares it with the value the leader published with the head after
//! each batch. A mismatch means this copy differs from the leader's although every
//! frame passed its CRC: the replica stops following, never campaigns for the
//! database, and says where it went wrong (the server log, the 503 its requests get,
//! and the `checksum` of `GET /v1/database/:db`).

use super::{ClusterError, ClusterNode};
use crate::registry::DatabaseRecord;
use crate::state::AppState;
use spacetime_commitlog::{batch_records, Commitlog};
use spacetime_engine::storage::checksum::{checksum_of_local_log, RollingChecksum};
use spacetime_replication::TailBatch;
use spacetime_sats::Identity;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// A follower's copy differs from the leader's: where and how.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Divergence {
    /// The first tx offset at which the checksums were compared and differ.
    pub offset: u64,
    /// The last tx offset at which they were compared and agreed, if any: the
    /// difference lies in the records after it, up to `offset`.
    pub last_verified: Option<u64>,
    /// The leader's value after `offset`.
    pub expected: String,
    /// This replica's value after `offset`.
    pub computed: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let from = self.last_verified.map_or(0, |v| v + 1);
        write!(
            f,
            "this replica's copy diverged from the leader's: its rolling checksum after tx offset {} is {} but the \
             leader published {} (the first bad offset is in {from}..={}; the log frames passed their CRCs). It has \
             stopped following and will not take over; rebuild this replica from a healthy node",
            self.offset, self.computed, self.expected, self.offset
        )
    }
}

/// What a follower shows of its checksum.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplicaChecksum {
    /// The tx offset of the last record applied (`None`: an empty log).
    pub offset: Option<u64>,
    /// The checksum of this copy after it, 32 hex digits.
    pub checksum: String,
    /// The last offset compared with the leader's value and found equal.
    pub verified: Option<u64>,
    /// Set once the copy diverged.
    pub diverged: Option<Divergence>,
}

/// The checksum of a follower's copy, folded batch by batch.
#[derive(Debug)]
pub(super) struct Verifier {
    identity: Identity,
    checksum: RollingChecksum,
    offset: Option<u64>,
    verified: Option<u64>,
}

impl Verifier {
    /// Starts from what the local log `log` of `record` (and the newest snapshot
    /// beside it) holds, and shows that on `node`.
    ///
    /// # Errors
    /// The log or snapshot cannot be read as records.
    pub(super) fn start(
        node: &ClusterNode,
        state: &AppState,
        record: &DatabaseRecord,
        log: &Commitlog,
    ) -> Result<Self, ClusterError> {
        let dir = state.config().replica_dir(record.replica_id);
        let verifier = Self::from_local_log(record.database_identity, &dir, log).map_err(ClusterError::Local)?;
        node.checksums.set(verifier.identity, verifier.status(None));
        Ok(verifier)
    }

    fn from_local_log(identity: Identity, replica_dir: &Path, log: &Commitlog) -> Result<Self, String> {
        let at = checksum_of_local_log(replica_dir, log)
            .map_err(|e| format!("cannot compute the rolling checksum of the local log: {e}"))?;
        Ok(Self {
            identity,
            checksum: at.checksum,
            offset: at.offset,
            verified: None,
        })
    }

    /// Checks `batch` before the local log (whose next tx offset is `next`) takes
    /// it ([`Self::fold`]) and shows the outcome on `node`.
    ///
    /// # Errors
    /// [`ClusterError::Diverged`]; [`ClusterError::Local`] for a record this server
    /// cannot read.
    pub(super) fn check(&mut self, node: &ClusterNode, batch: &TailBatch, next: u64) -> Result<(), ClusterError> {
        match self.fold(batch, next).map_err(ClusterError::Local)? {
            Ok(()) => {
                node.checksums.set(self.identity, self.status(None));
                Ok(())
            }
            Err(divergence) => {
                node.checksums.set(self.identity, self.status(Some(divergence.clone())));
                Err(ClusterError::Diverged(Box::new(divergence)))
            }
        }
    }

    /// Folds the records of `batch` from tx offset `next` on (those the local log
    /// lacks) and, if the leader published its value after the batch, compares. The
    /// fold is kept only when the batch is not refused, so a batch found bad is never
    /// counted (or, by the caller, appended).
    ///
    /// # Errors
    /// `Ok(Err(divergence))` on a mismatch; `Err` if the batch's records cannot be
    /// read (a record this server does not understand).
    fn fold(&mut self, batch: &TailBatch, next: u64) -> Result<Result<(), Divergence>, String> {
        let records = batch_records(&batch.frames).map_err(|why| format!("a log batch: {why}"))?;
        let mut checksum = self.checksum;
        let mut offset = self.offset;
        for (at, payload) in records.into_iter().filter(|(at, _)| *at >= next) {
            checksum
                .fold_payload(payload)
                .map_err(|e| format!("the record at tx offset {at} of a log batch: {e}"))?;
            offset = Some(at);
        }
        if let (Some(expected), Some(at)) = (batch.checksum, offset) {
            if at == batch.last && expected != checksum.value() {
                return Ok(Err(Divergence {
                    offset: at,
                    last_verified: self.verified,
                    expected: RollingChecksum::from_value(expected).to_string(),
                    computed: checksum.to_string(),
                }));
            }
            if at == batch.last {
                self.verified = Some(at);
            }
        }
        self.checksum = checksum;
        self.offset = offset;
        Ok(Ok(()))
    }

    /// What the edge shows.
    fn status(&self, diverged: Option<Divergence>) -> ReplicaChecksum {
        ReplicaChecksum {
            offset: self.offset,
            checksum: self.checksum.to_string(),
            verified: self.verified,
            diverged,
        }
    }
}

/// The checksum status of every database this node follows.
#[derive(Debug, Default)]
pub struct ReplicaChecksums {
    by_database: Mutex<HashMap<Identity, ReplicaChecksum>>,
}

impl ReplicaChecksums {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Identity, ReplicaChecksum>> {
        self.by_database.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `status` for `identity`, unless it diverged already (that stays).
    pub(super) fn set(&self, identity: Identity, status: ReplicaChecksum) {
        let mut map = self.lock();
        if map
            .get(&identity)
            .is_none_or(|s| s.diverged.is_none() || status.diverged.is_some())
        {
            map.insert(identity, status);
        }
    }

    /// Forgets `identity`'s status, diverged or not (its copy is being replaced).
    pub(super) fn forget(&self, identity: Identity) {
        self.lock().remove(&identity);
    }

    /// The status of `identity`, if this node follows it.
    pub fn get(&self, identity: Identity) -> Option<ReplicaChecksum> {
        self.lock().get(&identity).cloned()
    }
}

/// How often a diverged replica looks whether its database was deleted.
const PARKED_CHECK: Duration = Duration::from_secs(1);

/// Stops serving and following database `identity` after `divergence`: the error is
/// logged and becomes the answer to its requests here, and the replica thread waits,
/// never campaigning, until the database is deleted from this node or an operator
/// orders it rebuilt from a peer (`spacetime cluster resync`, `resync.rs`): returns
/// whether that was ordered.
pub(super) fn park(node: &ClusterNode, state: &AppState, identity: Identity, divergence: &Divergence) -> bool {
    log::error!("database {identity}: {divergence}");
    node.follow_leader(identity, None);
    state.databases().remove(identity);
    state
        .databases()
        .set_failed(identity, format!("this node cannot serve it: {divergence}"));
    node.resyncs.set_parked(identity, true);
    while state.registry().get(identity).is_some() {
        if node.resyncs.requested(identity) {
            return true;
        }
        std::thread::sleep(PARKED_CHECK);
    }
    node.resyncs.set_parked(identity, false);
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacetime_commitlog::{encode_commit, CommitlogOptions};
    use spacetime_datastore::{TableChanges, TxData};
    use spacetime_engine::storage::record;
    use spacetime_sats::TableId;

    fn tx(inserts: &[&[u8]], deletes: &[&[u8]]) -> Vec<u8> {
        record::encode_tx(&TxData {
            tables: vec![TableChanges {
                table_id: TableId(4096),
                table_name: "account".into(),
                inserts: inserts.iter().map(|r| Box::from(*r)).collect(),
                deletes: deletes.iter().map(|r| Box::from(*r)).collect(),
            }],
        })
    }

    /// The leader's batch of `records` from tx offset `first`, with the checksum the
    /// leader computes after it (from `before`, the value before the batch).
    fn leader_batch(first: u64, records: &[Vec<u8>], before: RollingChecksum) -> (TailBatch, RollingChecksum) {
        let mut frames = Vec::new();
        let mut sum = before;
        for (i, r) in records.iter().enumerate() {
            encode_commit(&mut frames, 1, first + i as u64, r);
            sum.fold_payload(r).expect("a record");
        }
        let last = first + records.len() as u64 - 1;
        let batch = TailBatch {
            first,
            last,
            frames,
            checksum: Some(sum.value()),
        };
        (batch, sum)
    }

    fn verifier(dir: &Path) -> (Verifier, Commitlog) {
        let (log, _) =
            Commitlog::open(dir.join(spacetime_commitlog::LOG_DIR), CommitlogOptions::default()).expect("open");
        (
            Verifier::from_local_log(Identity::ZERO, dir, &log).expect("starts"),
            log,
        )
    }

    #[test]
    fn a_row_changed_in_a_batch_whose_crcs_verify_is_caught_by_the_checksum() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut v, _log) = verifier(dir.path());
        let (good, after) = leader_batch(
            0,
            &[tx(&[b"alice:100"], &[]), tx(&[b"bob:50"], &[])],
            RollingChecksum::EMPTY,
        );
        assert_eq!(v.fold(&good, 0).expect("reads"), Ok(()));
        assert_eq!(v.status(None).verified, Some(1));

        // The next batch as the leader logged it, and a copy with one row changed and
        // its frames re-encoded, so every CRC verifies: only the checksum can tell.
        let records = [tx(&[b"alice:90"], &[b"alice:100"]), tx(&[b"carol:10"], &[])];
        let (honest, _) = leader_batch(2, &records, after);
        let tampered_records = [tx(&[b"alice:99"], &[b"alice:100"]), records[1].clone()];
        let (mut tampered, _) = leader_batch(2, &tampered_records, after);
        tampered.checksum = honest.checksum;
        assert!(
            spacetime_commitlog::commit_ids(&tampered.frames).is_ok(),
            "the CRCs verify"
        );

        let divergence = v.fold(&tampered, 2).expect("reads").expect_err("diverged");
        assert_eq!(divergence.offset, 3);
        assert_eq!(divergence.last_verified, Some(1));
        assert_ne!(divergence.expected, divergence.computed);
        assert!(divergence.to_string().contains("in 2..=3"), "{divergence}");
        // Not counted: the honest batch still verifies afterwards.
        assert_eq!(v.fold(&honest, 2).expect("reads"), Ok(()));
        assert_eq!(v.status(None).verified, Some(3));
    }

    #[test]
    fn records_the_local_log_holds_are_not_folded_twice_and_no_checksum_means_no_check() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (local, _) = leader_batch(0, &[tx(&[b"a"], &[]), tx(&[b"b"], &[])], RollingChecksum::EMPTY);
        {
            let (mut log, _) = Commitlog::open(
                dir.path().join(spacetime_commitlog::LOG_DIR),
                CommitlogOptions::default(),
            )
            .expect("open");
            log.append_encoded(&local.frames, 0, 2).expect("append");
            log.sync().expect("sync");
        }
        let (mut v, _log) = verifier(dir.path());
        assert_eq!(v.status(None).offset, Some(1));
        // The tail resumed inside a batch the log holds part of.
        let (overlap, _) = leader_batch(
            0,
            &[tx(&[b"a"], &[]), tx(&[b"b"], &[]), tx(&[b"c"], &[])],
            RollingChecksum::EMPTY,
        );
        assert_eq!(v.fold(&overlap, 2).expect("reads"), Ok(()));
        assert_eq!(v.status(None).verified, Some(2));
        // A head without a checksum (an older leader): folded, nothing compared.
        let (mut plain, _) = leader_batch(3, &[tx(&[], &[b"a"])], RollingChecksum::EMPTY);
        plain.checksum = None;
        assert_eq!(v.fold(&plain, 3).expect("reads"), Ok(()));
        assert_eq!(v.status(None).offset, Some(3));
        assert_eq!(v.status(None).verified, Some(2));
    }
}
