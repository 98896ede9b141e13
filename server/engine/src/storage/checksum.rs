//! The rolling checksum of a database's contents (design §9, after LiteFS's): the XOR
//! of `hash(table, row)` over every row of every table, updated per transaction by
//! XOR-ing in each inserted row and XOR-ing out each deleted one. XOR makes it
//! independent of order, so the value depends only on what the tables hold, and an
//! insert followed by the delete of the same row gives back the value before.
//!
//! It is computed from what the commit log holds and nothing else: a transaction
//! record's row deltas ([`Record::Tx`], [`Record::Lifecycle`]), a migration record's whole state, and a
//! snapshot's rows. So every replica computes the same value from the same log without
//! trusting the leader, and a replica whose copy differs (a changed row that still
//! passes the frames' CRCs, a bug in applying) finds out at the next value the leader
//! publishes with its head.
//!
//! # The hash
//! BLAKE3 (already in the workspace for snapshots and backups), truncated to 128 bits,
//! of the table's name (`u32` length, then UTF-8) followed by the row's BSATN bytes.
//! A 128-bit value keeps accidental equality of two different contents out of reach
//! (XOR of independent uniform values stays uniform), and BLAKE3 is fast on the short
//! inputs rows are. Tables are named, not numbered, for the reason `record.rs` gives:
//! the log names them, and ids depend on creation order.
//!
//! # Where it lives
//! A running database's [`super::DatabaseLog`] keeps the value current in its appends
//! and recomputes it while restoring (snapshot plus replay), so it survives restarts
//! without being stored; [`SharedChecksum`] lets the edge read it and hands a cluster
//! leader's replicated log the value after each tx offset. A follower computes its
//! starting value from its local log with [`checksum_of_local_log`], then folds every
//! batch it applies with [`RollingChecksum::fold_payload`].

use super::record::{self, Record, RecordError};
use super::snapshot;
use spacetime_commitlog::{CommitChecksums, Commitlog, SnapshotStore, SNAPSHOT_DIR};
use std::collections::VecDeque;
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

/// The order-independent checksum of a database's rows; see the module docs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RollingChecksum(u128);

impl RollingChecksum {
    /// The checksum of a database without rows.
    pub const EMPTY: Self = Self(0);

    /// The checksum with value `value` (as [`Self::value`] gave it).
    pub fn from_value(value: u128) -> Self {
        Self(value)
    }

    /// The 128-bit value, as published in a cluster's head.
    pub fn value(self) -> u128 {
        self.0
    }

    /// Adds the row `row` of table `table` if it is not counted, removes it if it is:
    /// inserts and deletes are the same operation.
    pub fn toggle(&mut self, table: &str, row: &[u8]) {
        self.0 ^= row_hash(table, row);
    }

    /// Folds one table's changes in a transaction: its deleted and inserted rows.
    pub fn apply_changes(&mut self, table: &str, deletes: &[Box<[u8]>], inserts: &[Box<[u8]>]) {
        for row in deletes.iter().chain(inserts) {
            self.toggle(table, row);
        }
    }

    /// The checksum of the rows of a snapshot payload (or a migration record's state).
    ///
    /// # Errors
    /// [`RecordError`] if the payload is not a snapshot.
    pub fn of_snapshot(payload: &[u8]) -> Result<Self, RecordError> {
        let mut sum = Self::EMPTY;
        snapshot::visit_tables(payload, |table| {
            for row in &table.rows {
                sum.toggle(&table.name, row);
            }
            Ok(())
        })?;
        Ok(sum)
    }

    /// Folds one decoded log record: a transaction toggles its rows, a migration
    /// replaces everything with its state's rows, other records hold no rows.
    ///
    /// # Errors
    /// A migration record whose state is not a snapshot.
    pub fn fold_record(&mut self, record: &Record) -> Result<(), RecordError> {
        match record {
            // A lifecycle transaction's client change holds no rows: the value is the
            // one its tables alone give, as when the change had a record of its own.
            Record::Tx(tables) | Record::Lifecycle(tables, _) => {
                for t in tables {
                    self.apply_changes(&t.name, &t.deletes, &t.inserts);
                }
            }
            Record::Migration(migration) => *self = Self::of_snapshot(&migration.state)?,
            Record::Created | Record::Client(_) | Record::Module(_) => {}
        }
        Ok(())
    }

    /// Decodes and folds one log record's bytes (see [`Self::fold_record`]).
    ///
    /// # Errors
    /// [`RecordError`] if the bytes are not a record.
    pub fn fold_payload(&mut self, payload: &[u8]) -> Result<(), RecordError> {
        self.fold_record(&record::decode(payload)?)
    }
}

/// 32 lowercase hex digits, as `GET /v1/database/:db` and the cluster's head show it.
impl fmt::Display for RollingChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for RollingChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RollingChecksum({self})")
    }
}

/// `hash(table, row)`: BLAKE3 of the length-prefixed table name and the row bytes,
/// truncated to 128 bits. The length prefix keeps (`ab`, `c..`) apart from (`a`, `bc..`).
fn row_hash(table: &str, row: &[u8]) -> u128 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&u32::try_from(table.len()).unwrap_or(u32::MAX).to_le_bytes());
    hasher.update(table.as_bytes());
    hasher.update(row);
    let hash = hasher.finalize();
    let mut low = [0u8; 16];
    low.copy_from_slice(&hash.as_bytes()[..16]);
    u128::from_le_bytes(low)
}

/// The checksum after a tx offset: what the edge shows and nodes compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChecksumAt {
    /// The tx offset of the last record counted; `None` before the first record.
    pub offset: Option<u64>,
    /// The checksum of the contents after it.
    pub checksum: RollingChecksum,
}

/// A running database's checksum, shared by its actor (which updates it), the edge
/// (which shows it) and, on a cluster's leader, the replicated log (which publishes
/// the value after the last tx offset of each batch with the head).
#[derive(Debug)]
pub struct SharedChecksum {
    inner: Mutex<SharedInner>,
}

#[derive(Debug)]
struct SharedInner {
    latest: ChecksumAt,
    /// For a replicated log: the value after each tx offset that changed it, from the
    /// last one asked for on (the front holds the value at or before it). `None` when
    /// no replicated log asks, so nothing is kept.
    trail: Option<VecDeque<(u64, RollingChecksum)>>,
}

impl SharedChecksum {
    /// Starts at `latest` (the restored state), keeping no trail.
    pub(crate) fn new(latest: ChecksumAt) -> Self {
        Self {
            inner: Mutex::new(SharedInner { latest, trail: None }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SharedInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The checksum after the last record appended.
    pub fn latest(&self) -> ChecksumAt {
        self.lock().latest
    }

    /// From now on, keeps the value after each offset for [`CommitChecksums`].
    pub(crate) fn keep_trail(&self) {
        let mut inner = self.lock();
        let at = inner.latest.offset.unwrap_or(0);
        let base = (at, inner.latest.checksum);
        inner.trail.get_or_insert_with(VecDeque::new).push_back(base);
    }

    /// Notes that the record about to get tx offset `offset` leaves the contents at
    /// `checksum`. Called before the record is queued, so the writer, which asks
    /// after taking the record, always finds it.
    pub(crate) fn will_append(&self, offset: u64, checksum: RollingChecksum) {
        if let Some(trail) = &mut self.lock().trail {
            trail.push_back((offset, checksum));
        }
    }

    /// Notes the last record appended and the checksum after it.
    pub(crate) fn appended(&self, latest: ChecksumAt) {
        self.lock().latest = latest;
    }
}

impl CommitChecksums for SharedChecksum {
    fn checksum_at(&self, tx_offset: u64) -> Option<u128> {
        let mut inner = self.lock();
        let trail = inner.trail.as_mut()?;
        // Keep the last entry at or below `tx_offset` at the front: later asks are
        // for the same offset or higher.
        while trail.get(1).is_some_and(|&(at, _)| at <= tx_offset) {
            trail.pop_front();
        }
        match trail.front() {
            Some(&(at, checksum)) if at <= tx_offset => Some(checksum.value()),
            _ => None,
        }
    }
}

/// Why a local log's checksum could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ChecksumError {
    /// The snapshot directory could not be read.
    #[error("snapshots: {0}")]
    Snapshot(#[from] spacetime_commitlog::SnapshotError),
    /// The log could not be read.
    #[error("commit log: {0}")]
    Log(#[from] spacetime_commitlog::CommitlogError),
    /// A snapshot's payload is not a snapshot.
    #[error("snapshot at tx offset {offset}: {source}")]
    BadSnapshot {
        /// Its tx offset.
        offset: u64,
        /// What is wrong.
        source: RecordError,
    },
    /// A record is not one this server reads.
    #[error("commit log record at tx offset {offset}: {source}")]
    BadRecord {
        /// Its tx offset.
        offset: u64,
        /// What is wrong.
        source: RecordError,
    },
    /// The log starts after every usable snapshot: part of the history is missing.
    #[error(
        "the log starts at tx offset {first} and no readable snapshot covers what comes before it, so the \
         contents cannot be computed"
    )]
    MissingHistory {
        /// The log's first tx offset.
        first: u64,
    },
}

/// The checksum of what the replica directory `replica_dir` holds, with `log` its
/// opened commit log: the newest readable snapshot the log covers, then every record
/// after it. Reads only (a damaged snapshot is passed over, not renamed); no datastore.
///
/// # Errors
/// [`ChecksumError`].
pub fn checksum_of_local_log(replica_dir: &Path, log: &Commitlog) -> Result<ChecksumAt, ChecksumError> {
    let next = log.next_tx_offset();
    let first = log.first_tx_offset();
    let snapshots = SnapshotStore::open(replica_dir.join(SNAPSHOT_DIR))?;
    let mut offsets = snapshots.offsets()?;
    offsets.retain(|&o| o < next && o + 1 >= first);
    let mut start = (first, RollingChecksum::EMPTY);
    let mut found = false;
    for &offset in offsets.iter().rev() {
        let Ok(snap) = snapshots.read(offset) else {
            continue;
        };
        let sum = RollingChecksum::of_snapshot(&snap.payload)
            .map_err(|source| ChecksumError::BadSnapshot { offset, source })?;
        start = (offset + 1, sum);
        found = true;
        break;
    }
    if !found && first > 0 {
        return Err(ChecksumError::MissingHistory { first });
    }
    let (from, mut checksum) = start;
    for item in log.replay_from(from) {
        let (offset, bytes) = item?;
        checksum
            .fold_payload(&bytes)
            .map_err(|source| ChecksumError::BadRecord { offset, source })?;
    }
    Ok(ChecksumAt {
        offset: next.checked_sub(1),
        checksum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{self, StorageConfig};
    use spacetime_datastore::{Datastore, TableChanges, TxData};
    use spacetime_sats::def::model::ModuleDef;
    use spacetime_sats::TableId;

    fn rows(rows: &[&[u8]]) -> Vec<Box<[u8]>> {
        rows.iter().map(|r| Box::from(*r)).collect()
    }

    #[test]
    fn order_does_not_matter_and_a_delete_undoes_an_insert() {
        let mut a = RollingChecksum::EMPTY;
        a.apply_changes("t", &[], &rows(&[b"1", b"2", b"3"]));
        a.toggle("u", b"1");
        let mut b = RollingChecksum::EMPTY;
        b.toggle("u", b"1");
        b.apply_changes("t", &[], &rows(&[b"3", b"1"]));
        b.apply_changes("t", &[], &rows(&[b"2"]));
        assert_eq!(a, b);
        assert_ne!(a, RollingChecksum::EMPTY);

        let before = a;
        a.apply_changes("t", &[], &rows(&[b"4"]));
        assert_ne!(a, before);
        a.apply_changes("t", &rows(&[b"4"]), &[]);
        assert_eq!(a, before, "inserting then deleting a row gives back the value before");
    }

    #[test]
    fn different_contents_differ() {
        let of = |table: &str, row: &[u8]| {
            let mut sum = RollingChecksum::EMPTY;
            sum.toggle(table, row);
            sum
        };
        // The same row in another table, a changed byte, the name/row boundary moved.
        assert_ne!(of("t", b"row"), of("u", b"row"));
        assert_ne!(of("t", b"row"), of("t", b"rox"));
        assert_ne!(of("ab", b"c"), of("a", b"bc"));
        let mut two = of("t", b"a");
        two.toggle("t", b"b");
        assert_ne!(two, of("t", b"a"));
        assert_eq!(format!("{}", of("t", b"a")).len(), 32);
    }

    #[test]
    fn the_trail_answers_the_value_at_or_before_each_offset() {
        let sum = |v| RollingChecksum::from_value(v);
        let shared = SharedChecksum::new(ChecksumAt {
            offset: Some(4),
            checksum: sum(7),
        });
        assert_eq!(shared.checksum_at(4), None, "no trail until a replicated log asks");
        shared.keep_trail();
        shared.will_append(6, sum(9));
        shared.will_append(8, sum(11));
        assert_eq!(shared.checksum_at(5), Some(7), "offset 5 changed nothing");
        assert_eq!(shared.checksum_at(6), Some(9));
        assert_eq!(shared.checksum_at(6), Some(9), "a resent batch asks again");
        assert_eq!(shared.checksum_at(7), Some(9));
        assert_eq!(shared.checksum_at(20), Some(11));
        assert_eq!(shared.checksum_at(3), None, "values below the last asked are forgotten");
    }

    fn module() -> ModuleDef {
        crate::migration::tests::module(vec![crate::migration::tests::person().build()])
    }

    fn person(id: u32, name: &str) -> Vec<u8> {
        use spacetime_sats::AlgebraicValue as V;
        crate::migration::tests::row(vec![V::U32(id), V::String(name.into())])
    }

    /// Inserts and deletes rows of `person` in `ds` and logs the transaction.
    fn commit(ds: &mut Datastore, log: &mut storage::DatabaseLog, insert: &[(u32, &str)], delete: &[(u32, &str)]) {
        let id = ds.table_id_from_name("person").expect("table");
        let mut tx = ds.begin_mut_tx();
        for &(k, name) in delete {
            assert!(tx.delete_row(id, &person(k, name)).expect("delete"));
        }
        for &(k, name) in insert {
            tx.insert_bsatn(id, &person(k, name)).expect("insert");
        }
        let committed = tx.commit();
        log.append_tx(&committed);
    }

    /// The checksum of `ds`'s rows, from the datastore itself: what the log-derived
    /// value must equal.
    fn of_datastore(ds: &Datastore) -> RollingChecksum {
        let mut sum = RollingChecksum::EMPTY;
        for schema in ds.tables() {
            for row in ds.scan(schema.table_id).into_iter().flatten() {
                sum.toggle(&schema.def.name, row.bytes());
            }
        }
        sum
    }

    fn empty(def: &ModuleDef) -> Datastore {
        crate::migration::tests::filled(def, &[])
    }

    #[test]
    fn the_value_is_kept_in_appends_and_survives_a_restart_through_a_snapshot_and_replay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = std::sync::Arc::new(crate::module_logs::ModuleLogs::in_memory());
        let def = module();
        // A snapshot after the third transaction: the restart restores it and replays after it.
        let config = StorageConfig::new(dir.path().to_owned(), 0);
        let mut ds = empty(&def);
        let mut log = storage::open(&config, &mut ds, &logs).expect("open").log;
        assert_eq!(log.checksum().checksum, RollingChecksum::EMPTY);
        commit(&mut ds, &mut log, &[(1, "ada"), (2, "bob")], &[]);
        commit(&mut ds, &mut log, &[(3, "cy")], &[]);
        commit(&mut ds, &mut log, &[(2, "bobby")], &[(2, "bob")]);
        let (done, written) = tokio::sync::oneshot::channel();
        log.snapshot_now(&ds, done);
        written.blocking_recv().expect("answered").expect("a snapshot");
        commit(&mut ds, &mut log, &[(4, "dee")], &[(1, "ada")]);
        let at = log.checksum();
        assert_eq!(at.checksum, of_datastore(&ds));
        assert_ne!(at.checksum, RollingChecksum::EMPTY);
        assert_eq!(at.offset, log.last_offset());
        assert_eq!(log.shared_checksum().latest(), at);
        let offset = at.offset.expect("logged");
        log.wait_durable(offset).expect("durable");
        drop(log);
        let snapshots = SnapshotStore::open(dir.path().join(SNAPSHOT_DIR)).expect("snapshots");
        assert_eq!(
            snapshots.offsets().expect("listed").len(),
            1,
            "restored from a snapshot, then replayed"
        );

        let mut restored = empty(&def);
        let config = StorageConfig::new(dir.path().to_owned(), 0);
        let log = storage::open(&config, &mut restored, &logs).expect("restore").log;
        assert_eq!(log.checksum(), at, "the same value after a restart");

        // A follower computes the same from the files alone.
        let (clog, _) =
            Commitlog::open(dir.path().join(spacetime_commitlog::LOG_DIR), Default::default()).expect("open the log");
        assert_eq!(checksum_of_local_log(dir.path(), &clog).expect("computes"), at);
    }

    #[test]
    fn a_migration_record_resets_the_value_to_its_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = std::sync::Arc::new(crate::module_logs::ModuleLogs::in_memory());
        let def = module();
        let config = StorageConfig::new(dir.path().to_owned(), 0);
        let mut ds = empty(&def);
        let mut log = storage::open(&config, &mut ds, &logs).expect("open").log;
        commit(&mut ds, &mut log, &[(1, "ada")], &[]);
        let mut other = empty(&def);
        let id = other.table_id_from_name("person").expect("table");
        let mut tx = other.begin_mut_tx();
        tx.insert_bsatn(id, &person(9, "zed")).expect("insert");
        tx.commit();
        let identity = spacetime_sats::Identity::from_claims("t", "me");
        log.append_migration(&other, "cafe", 1, identity, "swap".into())
            .expect("append");
        assert_eq!(log.checksum().checksum, of_datastore(&other));
        // A transaction record's deltas, as the leader logs them, fold the same way.
        let tx = TxData {
            tables: vec![TableChanges {
                table_id: TableId(4096),
                table_name: "person".into(),
                inserts: vec![person(10, "x").into()],
                deletes: vec![],
            }],
        };
        let mut folded = log.checksum().checksum;
        folded.fold_payload(&record::encode_tx(&tx)).expect("a record");
        let mut expected = of_datastore(&other);
        expected.toggle("person", &person(10, "x"));
        assert_eq!(folded, expected);
    }

    #[test]
    fn a_lifecycle_record_gives_the_value_its_tables_give_and_keeps_its_client() {
        let identity = spacetime_sats::Identity::from_claims("t", "me");
        let connection_id = spacetime_sats::ConnectionId::from_u128(77);
        let change = record::ClientChange::Connected(identity, connection_id);
        let tx = TxData {
            tables: vec![TableChanges {
                table_id: TableId(4096),
                table_name: "person".into(),
                inserts: vec![person(10, "x").into()],
                deletes: vec![person(3, "cy").into()],
            }],
        };
        // One kind 7 record folds as the kind 1 and kind 2 records it replaces.
        let mut separate = RollingChecksum::EMPTY;
        separate.fold_payload(&record::encode_tx(&tx)).expect("a record");
        separate
            .fold_payload(&record::encode_client(&change))
            .expect("a record");
        let mut bytes = Vec::new();
        record::encode_lifecycle_into(&tx, &change, &mut bytes);
        let mut together = RollingChecksum::EMPTY;
        together.fold_payload(&bytes).expect("a record");
        assert_eq!(together, separate);
        assert_ne!(together, RollingChecksum::EMPTY);

        // Through a log: kept in the append, restored, and computed from the files.
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = std::sync::Arc::new(crate::module_logs::ModuleLogs::in_memory());
        let def = module();
        let config = StorageConfig::new(dir.path().to_owned(), 0);
        let mut ds = empty(&def);
        let mut log = storage::open(&config, &mut ds, &logs).expect("open").log;
        commit(&mut ds, &mut log, &[(1, "ada")], &[]);
        let id = ds.table_id_from_name("person").expect("table");
        let mut tx = ds.begin_mut_tx();
        tx.insert_bsatn(id, &person(2, "bob")).expect("insert");
        log.append_lifecycle(&tx.commit(), change);
        let at = log.checksum();
        assert_eq!(at.checksum, of_datastore(&ds));
        assert_eq!(log.connected(), vec![(identity, connection_id)]);
        log.wait_durable(at.offset.expect("logged")).expect("durable");
        drop(log);
        let mut restored = empty(&def);
        let log = storage::open(&config, &mut restored, &logs).expect("restore").log;
        assert_eq!(log.checksum(), at);
        assert_eq!(log.connected(), vec![(identity, connection_id)]);
        assert_eq!(of_datastore(&restored), at.checksum);
        let (clog, _) =
            Commitlog::open(dir.path().join(spacetime_commitlog::LOG_DIR), Default::default()).expect("open the log");
        assert_eq!(checksum_of_local_log(dir.path(), &clog).expect("computes"), at);
    }
}
