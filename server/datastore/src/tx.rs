//! [`MutTx`], the mutable transaction, and [`TxData`], what a commit changed.
//!
//! A transaction mutates the committed state in place and records an [`Undo`] entry
//! per change. Rolling back replays the entries in reverse, which restores rows,
//! indexes, sequences and the slab exactly. Committing walks the undo entries once to
//! compute the net inserts and deletes per table and to free the slots of deleted rows.
//! `commit` and `rollback` consume the transaction; dropping one unfinished rolls it
//! back, so a panic in the caller cannot leave half a transaction behind.

use crate::error::{DatastoreError, Result};
use crate::table::{Scratch, Table};
use crate::{Datastore, RowPointer};
use spacetime_sats::bsatn::{Decode, DecodeError};
use spacetime_sats::{IndexId, ProductValue, TableId};
use std::collections::HashSet;
use std::ops::Deref;

/// One change made by a transaction, with what is needed to take it back.
#[derive(Debug)]
pub(crate) enum Undo {
    /// A row was inserted at `ptr`.
    Insert { table: TableId, ptr: RowPointer },
    /// The row at `ptr` was deleted; its slot stays empty until commit.
    Delete {
        table: TableId,
        ptr: RowPointer,
        row: Box<[u8]>,
    },
    /// The row at `ptr` was replaced; `old` is what it held.
    Update {
        table: TableId,
        ptr: RowPointer,
        old: Box<[u8]>,
    },
    /// Sequence number `seq` of the table advanced from `next`.
    Sequence {
        table: TableId,
        seq: usize,
        next: Option<i128>,
    },
}

/// The net changes of one table in a committed transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableChanges {
    /// The table.
    pub table_id: TableId,
    /// Its canonical name.
    pub table_name: String,
    /// BSATN of the rows present after the transaction but not before, in the order
    /// they were first written.
    pub inserts: Vec<Box<[u8]>>,
    /// BSATN of the rows present before the transaction but not after.
    pub deletes: Vec<Box<[u8]>>,
}

/// What a committed transaction changed: for every table it touched, the rows it
/// inserted and deleted, net of each other (a row inserted and then deleted again
/// appears in neither list, nor does a row deleted and re-inserted unchanged).
///
/// Rows are BSATN, as the commit log stores them; [`Datastore::decode_row`] turns
/// them into [`ProductValue`]s for subscription evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxData {
    /// Changed tables, ordered by table id; tables with no net change are left out.
    pub tables: Vec<TableChanges>,
}

impl TxData {
    /// Whether the transaction changed nothing.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// The changes of `table`, if it changed.
    pub fn table(&self, table: TableId) -> Option<&TableChanges> {
        self.tables.iter().find(|t| t.table_id == table)
    }

    /// Decodes every changed row.
    ///
    /// # Errors
    /// Fails only if `ds` is not the datastore the transaction ran on.
    pub fn decode(&self, ds: &Datastore) -> Result<Vec<DecodedChanges>> {
        self.tables
            .iter()
            .map(|t| {
                let inserts = t
                    .inserts
                    .iter()
                    .map(|r| ds.decode_row(t.table_id, r))
                    .collect::<Result<_>>()?;
                let deletes = t
                    .deletes
                    .iter()
                    .map(|r| ds.decode_row(t.table_id, r))
                    .collect::<Result<_>>()?;
                Ok(DecodedChanges {
                    table_id: t.table_id,
                    inserts,
                    deletes,
                })
            })
            .collect()
    }
}

/// [`TableChanges`] with the rows decoded, from [`TxData::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedChanges {
    /// The table.
    pub table_id: TableId,
    /// The inserted rows.
    pub inserts: Vec<ProductValue>,
    /// The deleted rows.
    pub deletes: Vec<ProductValue>,
}

/// A mutable transaction over a [`Datastore`].
///
/// Reads through it (via `Deref` to [`Datastore`]) see its own writes. Every write
/// either succeeds completely or fails with no effect, so a caller may catch an error
/// (say, a unique violation) and carry on with the rest of the transaction.
#[derive(Debug)]
pub struct MutTx<'a> {
    ds: &'a mut Datastore,
    undo: Vec<Undo>,
    scratch: Scratch,
    finished: bool,
}

impl Deref for MutTx<'_> {
    type Target = Datastore;

    fn deref(&self) -> &Datastore {
        self.ds
    }
}

impl Drop for MutTx<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.undo_all();
        }
    }
}

impl<'a> MutTx<'a> {
    pub(crate) fn new(ds: &'a mut Datastore) -> Self {
        Self {
            ds,
            undo: Vec::new(),
            scratch: Scratch::default(),
            finished: false,
        }
    }

    fn parts(&mut self, table: TableId) -> Result<(&mut Table, &mut Scratch, &mut Vec<Undo>)> {
        let t = self.ds.table_mut(table)?;
        Ok((t, &mut self.scratch, &mut self.undo))
    }

    /// Inserts one BSATN row into `table` (ABI `datastore_insert_bsatn`).
    ///
    /// Sequence columns that hold zero get the sequence's next value. Returns the
    /// BSATN of those generated values, in column order (empty if none), which is what
    /// the ABI writes back into the caller's buffer. Inserting a row identical to an
    /// existing one changes nothing and succeeds.
    ///
    /// # Errors
    /// `NoSuchTable`, `Decode` (the bytes are not one row of the table's type),
    /// `UniqueConstraintViolation`, `AutoIncOverflow`.
    pub fn insert_bsatn(&mut self, table: TableId, row: &[u8]) -> Result<Vec<u8>> {
        let (t, s, undo) = self.parts(table)?;
        t.insert(row, s, undo)
    }

    /// Replaces the row of `table` that has the same key as `row` on the unique index
    /// `index` (ABI `datastore_update_bsatn`). Returns the generated sequence values
    /// as [`insert_bsatn`](Self::insert_bsatn) does.
    ///
    /// # Errors
    /// `NoSuchTable`, `NoSuchIndex`, `IndexNotOnTable`, `IndexNotUnique`, `NoSuchRow`,
    /// `Decode`, `UniqueConstraintViolation` (another unique column now collides),
    /// `AutoIncOverflow`.
    pub fn update_bsatn(&mut self, table: TableId, index: IndexId, row: &[u8]) -> Result<Vec<u8>> {
        let (index_table, pos) = self.ds.index_location(index)?;
        if index_table != table {
            let index = self.ds.table(index_table)?.indexes[pos].name.clone();
            return Err(DatastoreError::IndexNotOnTable {
                index,
                table: self.ds.table(table)?.name().to_owned(),
            });
        }
        let (t, s, undo) = self.parts(table)?;
        t.update(pos, row, s, undo)
    }

    /// Deletes the row of `table` identical to the BSATN `row`. Returns whether one was
    /// there.
    ///
    /// # Errors
    /// `NoSuchTable`, `Decode`.
    pub fn delete_row(&mut self, table: TableId, row: &[u8]) -> Result<bool> {
        let (t, s, undo) = self.parts(table)?;
        t.layout.bounds(row, &mut s.new).map_err(|e| t.decode_error(e))?;
        Ok(t.delete_identical(row, s, undo))
    }

    /// Deletes the rows of `table` identical to those in `rel`, a BSATN `Vec<Row>`
    /// (ABI `datastore_delete_all_by_eq_bsatn`). Returns how many were deleted.
    ///
    /// # Errors
    /// `NoSuchTable`, `Decode` (checked for all rows before any is deleted).
    pub fn delete_by_rows(&mut self, table: TableId, rel: &[u8]) -> Result<u32> {
        let (t, s, undo) = self.parts(table)?;
        let mut rest = rel;
        let count = u32::decode(&mut rest).map_err(|e| t.decode_error(e))?;
        let mut rows = Vec::with_capacity((count as usize).min(rest.len()));
        for _ in 0..count {
            let len = t.layout.measure(rest, &mut s.new).map_err(|e| t.decode_error(e))?;
            let (row, tail) = rest.split_at(len);
            rows.push(row);
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(t.decode_error(DecodeError::TrailingBytes(rest.len())));
        }
        let mut deleted = 0;
        for row in rows {
            t.layout.bounds(row, &mut s.new).map_err(|e| t.decode_error(e))?;
            deleted += u32::from(t.delete_identical(row, s, undo));
        }
        Ok(deleted)
    }

    /// Deletes the rows a point scan of `index` for the BSATN key `point` would return
    /// (ABI `datastore_delete_by_index_scan_point_bsatn`). Returns how many.
    ///
    /// # Errors
    /// As [`Datastore::index_scan_point_bsatn`].
    pub fn delete_by_index_scan_point_bsatn(&mut self, index: IndexId, point: &[u8]) -> Result<u32> {
        let (table, ptrs) = {
            let scan = self.ds.index_scan_point_bsatn(index, point)?;
            (scan.table_id(), scan.map(|r| r.pointer()).collect::<Vec<_>>())
        };
        self.delete_ptrs(table, ptrs)
    }

    /// Deletes the rows a range scan would return (ABI
    /// `datastore_delete_by_index_scan_range_bsatn`). Returns how many.
    ///
    /// # Errors
    /// As [`Datastore::index_scan_range_bsatn`].
    pub fn delete_by_index_scan_range_bsatn(
        &mut self,
        index: IndexId,
        prefix: &[u8],
        prefix_elems: u16,
        rstart: &[u8],
        rend: &[u8],
    ) -> Result<u32> {
        let (table, ptrs) = {
            let scan = self
                .ds
                .index_scan_range_bsatn(index, prefix, prefix_elems, rstart, rend)?;
            (scan.table_id(), scan.map(|r| r.pointer()).collect::<Vec<_>>())
        };
        self.delete_ptrs(table, ptrs)
    }

    /// Deletes the rows at `ptrs` (all live rows of `table`, e.g. from a scan).
    fn delete_ptrs(&mut self, table: TableId, ptrs: Vec<RowPointer>) -> Result<u32> {
        let (t, s, undo) = self.parts(table)?;
        for &ptr in &ptrs {
            t.delete_ptr(ptr, s, undo);
        }
        Ok(u32::try_from(ptrs.len()).unwrap_or(u32::MAX))
    }

    /// Deletes every row of `table` (ABI `datastore_clear`). Returns how many.
    ///
    /// # Errors
    /// `NoSuchTable`.
    pub fn clear(&mut self, table: TableId) -> Result<u64> {
        let (t, s, undo) = self.parts(table)?;
        let ptrs = t.iter().map(|(p, _)| p).collect::<Vec<_>>();
        for &ptr in &ptrs {
            t.delete_ptr(ptr, s, undo);
        }
        Ok(ptrs.len() as u64)
    }

    /// Whether the transaction has written anything so far (a sequence step counts):
    /// how a read-only caller, such as a view, is checked.
    pub fn has_writes(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Makes the transaction's changes permanent and returns them.
    pub fn commit(mut self) -> TxData {
        self.finished = true;
        let undo = std::mem::take(&mut self.undo);
        net_changes(self.ds, undo, &mut self.scratch)
    }

    /// Undoes every change of the transaction.
    pub fn rollback(mut self) {
        self.finished = true;
        self.undo_all();
    }

    fn undo_all(&mut self) {
        while let Some(entry) = self.undo.pop() {
            let table = match &entry {
                Undo::Insert { table, .. }
                | Undo::Delete { table, .. }
                | Undo::Update { table, .. }
                | Undo::Sequence { table, .. } => *table,
            };
            let t = self.ds.table_mut(table).expect("undo entries name existing tables");
            match entry {
                Undo::Insert { ptr, .. } => {
                    t.unlink(ptr, &mut self.scratch);
                    t.release(ptr);
                }
                Undo::Delete { ptr, row, .. } => t.relink(ptr, row, &mut self.scratch),
                Undo::Update { ptr, old, .. } => {
                    t.replace(ptr, old, &mut self.scratch);
                }
                Undo::Sequence { seq, next, .. } => t.sequences[seq].next = next,
            }
        }
    }
}

/// What one row slot held before a transaction, as seen from its first undo entry.
enum Before {
    Absent,
    Present(Box<[u8]>),
}

/// The slots of one table a transaction touched, in first-touch order, with what
/// each held before.
struct Touched {
    table: TableId,
    slots: Vec<(RowPointer, Before)>,
    seen: HashSet<RowPointer>,
}

/// Computes a committed transaction's net changes from its undo entries and frees the
/// slots it emptied.
fn net_changes(ds: &mut Datastore, undo: Vec<Undo>, s: &mut Scratch) -> TxData {
    // Per table: each touched slot in first-touch order, with what it held before.
    let mut touched: Vec<Touched> = Vec::new();
    let mut emptied = Vec::new();
    for entry in undo {
        let (table, ptr, before) = match entry {
            Undo::Insert { table, ptr } => (table, ptr, Before::Absent),
            Undo::Delete { table, ptr, row } => {
                emptied.push((table, ptr));
                (table, ptr, Before::Present(row))
            }
            Undo::Update { table, ptr, old } => (table, ptr, Before::Present(old)),
            Undo::Sequence { .. } => continue,
        };
        let at = match touched.iter().position(|t| t.table == table) {
            Some(at) => at,
            None => {
                touched.push(Touched {
                    table,
                    slots: Vec::new(),
                    seen: HashSet::new(),
                });
                touched.len() - 1
            }
        };
        let t = &mut touched[at];
        if t.seen.insert(ptr) {
            t.slots.push((ptr, before));
        }
    }

    let mut tables = Vec::new();
    for Touched {
        table: table_id, slots, ..
    } in touched
    {
        let t = ds.table(table_id).expect("logged tables exist");
        let mut inserts: Vec<Box<[u8]>> = Vec::new();
        let mut deletes: Vec<Box<[u8]>> = Vec::new();
        for (ptr, before) in slots {
            let after = t.get(ptr);
            match before {
                Before::Present(old) if after == Some(&old[..]) => {}
                Before::Present(old) => {
                    deletes.push(old);
                    inserts.extend(after.map(Box::from));
                }
                Before::Absent => inserts.extend(after.map(Box::from)),
            }
        }
        // A row deleted and then inserted again unchanged lands in another slot; it is
        // no change. Rows are a set, so equal bytes pair up one to one.
        if !inserts.is_empty() && !deletes.is_empty() {
            let del: HashSet<&[u8]> = deletes.iter().map(|r| &r[..]).collect();
            let both: HashSet<Box<[u8]>> = inserts.iter().filter(|r| del.contains(&r[..])).cloned().collect();
            if !both.is_empty() {
                inserts.retain(|r| !both.contains(r));
                deletes.retain(|r| !both.contains(r));
            }
        }
        if !inserts.is_empty() || !deletes.is_empty() {
            tables.push(TableChanges {
                table_id,
                table_name: t.name().to_owned(),
                inserts,
                deletes,
            });
        }
    }
    tables.sort_by_key(|t| t.table_id);

    for (table, ptr) in emptied {
        if let Ok(t) = ds.table_mut(table) {
            t.free_slot(ptr);
        }
    }
    // Event tables publish their rows but never keep them.
    for changes in &tables {
        let Ok(t) = ds.table_mut(changes.table_id) else {
            continue;
        };
        if !t.schema.def.is_event {
            continue;
        }
        let live = t.iter().map(|(p, _)| p).collect::<Vec<_>>();
        for ptr in live {
            t.unlink(ptr, s);
            t.release(ptr);
        }
    }
    TxData { tables }
}
