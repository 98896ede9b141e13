//! A view's read set: what one evaluation read, fine enough that a transaction that
//! changed none of it is known not to change the view's result.
//!
//! Reads through an index (a point lookup such as `find`, or a btree `filter` over a
//! key or range) are recorded as that key or range; a full scan or a row count as the
//! whole table. A transaction touches the read set if it changed a table read whole,
//! or inserted or deleted a row whose key columns fall in a recorded key or range: a
//! row outside every recorded key and range was not returned by those scans before
//! and is not after, so the view would read the same rows again.

use spacetime_datastore::{Datastore, IndexKey, TxData};
use spacetime_sats::{AlgebraicValue, ProductValue, TableId};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

/// How many keys and ranges of one table are recorded before the table counts as read
/// whole: past that, checking each changed row against every key costs more than the
/// evaluations it would save.
pub const MAX_KEYS_PER_TABLE: usize = 64;

/// What a view read of one table.
#[derive(Debug, Clone, PartialEq)]
pub enum TableReads {
    /// Every row (a scan or a row count): any change to the table may change the view.
    All,
    /// Only the rows some index scans matched.
    Keys(Vec<IndexKey>),
}

/// The read set of one view evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewReads {
    tables: BTreeMap<TableId, TableReads>,
}

impl ViewReads {
    /// Records that the view read every row of `table`.
    pub fn read_all(&mut self, table: TableId) {
        self.tables.insert(table, TableReads::All);
    }

    /// Records that the view read the rows of `key.table` that `key` matches.
    pub fn read_key(&mut self, key: IndexKey) {
        let reads = self
            .tables
            .entry(key.table)
            .or_insert_with(|| TableReads::Keys(Vec::new()));
        if let TableReads::Keys(keys) = reads {
            if keys.len() >= MAX_KEYS_PER_TABLE {
                *reads = TableReads::All;
            } else if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }

    /// The tables read, by id.
    pub fn tables(&self) -> impl Iterator<Item = TableId> + '_ {
        self.tables.keys().copied()
    }

    /// What was read of `table`, if anything.
    pub fn table(&self, table: TableId) -> Option<&TableReads> {
        self.tables.get(&table)
    }

    /// Whether `changes` (the changed rows of one transaction) may change what the
    /// view read: a table read whole changed, or a changed row falls in a recorded key
    /// or range.
    pub fn touched_by(&self, changes: &mut ChangedRows<'_>) -> bool {
        self.tables.iter().any(|(table, reads)| match reads {
            TableReads::All => changes.changed(*table),
            TableReads::Keys(keys) => {
                changes.changed(*table)
                    && changes
                        .rows(*table)
                        .iter()
                        .any(|row| keys.iter().any(|k| matches(k, row)))
            }
        })
    }
}

/// Whether `row` is one a scan of `key` returns: its prefix columns equal the key's
/// values and its range column (if any) lies within the bounds.
fn matches(key: &IndexKey, row: &ProductValue) -> bool {
    let column = |i: usize| key.columns.get(i).and_then(|c| row.elements.get(c.idx()));
    let prefix = key.values.iter().enumerate().all(|(i, v)| column(i) == Some(v));
    if !prefix {
        return false;
    }
    let Some((start, end)) = &key.range else {
        return true;
    };
    let Some(value) = column(key.values.len()) else {
        // A row without the column cannot be compared; count it as read.
        return true;
    };
    within(value, start, end)
}

/// Whether `value` lies between `start` and `end`.
fn within(value: &AlgebraicValue, start: &Bound<AlgebraicValue>, end: &Bound<AlgebraicValue>) -> bool {
    let above = match start {
        Bound::Included(s) => value >= s,
        Bound::Excluded(s) => value > s,
        Bound::Unbounded => true,
    };
    let below = match end {
        Bound::Included(e) => value <= e,
        Bound::Excluded(e) => value < e,
        Bound::Unbounded => true,
    };
    above && below
}

/// The rows one transaction inserted or deleted, decoded on first use per table and
/// shared by every read set checked against it.
pub struct ChangedRows<'a> {
    ds: &'a Datastore,
    tx: &'a TxData,
    decoded: HashMap<TableId, Vec<ProductValue>>,
}

impl<'a> ChangedRows<'a> {
    /// The changes of `tx`, whose rows `ds` (the datastore it committed to) decodes.
    pub fn new(ds: &'a Datastore, tx: &'a TxData) -> Self {
        Self {
            ds,
            tx,
            decoded: HashMap::new(),
        }
    }

    /// Whether the transaction changed `table`.
    pub fn changed(&self, table: TableId) -> bool {
        self.tx.table(table).is_some()
    }

    /// The inserted and deleted rows of `table`, decoded (a row that does not decode,
    /// which the datastore never commits, is left out).
    pub fn rows(&mut self, table: TableId) -> &[ProductValue] {
        let (ds, tx) = (self.ds, self.tx);
        self.decoded.entry(table).or_insert_with(|| {
            tx.table(table).map_or_else(Vec::new, |t| {
                (t.inserts.iter().chain(&t.deletes))
                    .filter_map(|row| ds.decode_row(table, row).ok())
                    .collect()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacetime_sats::ColId;

    fn key(values: Vec<AlgebraicValue>, range: Option<(Bound<AlgebraicValue>, Bound<AlgebraicValue>)>) -> IndexKey {
        let columns = (0..values.len() + usize::from(range.is_some()))
            .map(|i| ColId(i as u16))
            .collect();
        IndexKey {
            table: TableId(4096),
            columns,
            values,
            range,
        }
    }

    fn row(values: &[u32]) -> ProductValue {
        ProductValue::new(values.iter().map(|v| AlgebraicValue::U32(*v)).collect())
    }

    #[test]
    fn a_point_matches_rows_with_its_key_only() {
        let point = key(vec![AlgebraicValue::U32(7), AlgebraicValue::U32(1)], None);
        assert!(matches(&point, &row(&[7, 1, 99])));
        assert!(!matches(&point, &row(&[7, 2, 99])));
        assert!(!matches(&point, &row(&[8, 1, 99])));
    }

    #[test]
    fn a_range_matches_rows_within_its_bounds_after_the_prefix() {
        use AlgebraicValue::U32;
        let range = key(vec![U32(1)], Some((Bound::Included(U32(10)), Bound::Excluded(U32(20)))));
        assert!(matches(&range, &row(&[1, 10])));
        assert!(matches(&range, &row(&[1, 19])));
        assert!(!matches(&range, &row(&[1, 20])));
        assert!(!matches(&range, &row(&[1, 9])));
        assert!(!matches(&range, &row(&[2, 15])));
        let open = key(vec![], Some((Bound::Excluded(U32(100)), Bound::Unbounded)));
        assert!(matches(&open, &row(&[101])));
        assert!(!matches(&open, &row(&[100])));
    }

    #[test]
    fn too_many_keys_read_the_whole_table() {
        let mut reads = ViewReads::default();
        for i in 0..MAX_KEYS_PER_TABLE as u32 {
            reads.read_key(key(vec![AlgebraicValue::U32(i)], None));
        }
        assert!(matches!(reads.table(TableId(4096)), Some(TableReads::Keys(k)) if k.len() == MAX_KEYS_PER_TABLE));
        reads.read_key(key(vec![AlgebraicValue::U32(1000)], None));
        assert_eq!(reads.table(TableId(4096)), Some(&TableReads::All));
        // A whole-table read is never narrowed again.
        reads.read_key(key(vec![AlgebraicValue::U32(1)], None));
        assert_eq!(reads.table(TableId(4096)), Some(&TableReads::All));
    }
}
