//! [`Table`]: the rows of one table in a slab, with its indexes, sequences and the
//! per-row operations a transaction is built from.
//!
//! Each mutation checks everything first and only then changes state, so a failed
//! operation leaves the table as it was; a successful one pushes the [`Undo`] entries
//! that let the transaction roll it back. Deleted slots stay empty (not reused) until
//! the transaction commits, which keeps every undo entry's [`RowPointer`] valid.

use crate::error::{DatastoreError, Result};
use crate::index::{Index, IndexKind};
use crate::layout::{Bounds, RowLayout};
use crate::sequence::Sequence;
use crate::tx::Undo;
use crate::{display_value, RowPointer};
use hashbrown::HashTable;
use spacetime_sats::def::model::{IndexAlgorithm, TableDef};
use spacetime_sats::{AlgebraicValue, ColId, IndexId, SequenceId, TableId, Typespace};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

/// A created table: its definition and the ids the datastore gave it and its parts.
#[derive(Debug, Clone)]
pub struct TableSchema {
    /// The table's id.
    pub table_id: TableId,
    /// The validated definition it was created from.
    pub def: TableDef,
    /// The typespace the definition's `Ref`s point into.
    pub typespace: Arc<Typespace>,
    /// Its indexes, including any added to back a unique constraint.
    pub indexes: Vec<IndexSchema>,
    /// Its sequences, as `(id, name, column)`.
    pub sequences: Vec<(SequenceId, String, ColId)>,
}

/// An index as callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSchema {
    /// The index's id.
    pub index_id: IndexId,
    /// The index's name, as `index_id_from_name` accepts it.
    pub name: String,
    /// The key columns, in key order.
    pub columns: Vec<ColId>,
    /// BTree (also for direct indexes) or hash.
    pub kind: IndexKind,
    /// Whether the index enforces a unique constraint.
    pub unique: bool,
}

/// Reusable column-bound buffers, so the per-row path does not allocate them.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub(crate) new: Bounds,
    pub(crate) old: Bounds,
}

#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) schema: TableSchema,
    pub(crate) layout: RowLayout,
    /// The slab: a `RowPointer` is a position here; `None` is a free or deleted slot.
    rows: Vec<Option<Box<[u8]>>>,
    /// Slots freed by committed deletes, reused by later inserts.
    free: Vec<RowPointer>,
    len: u64,
    pub(crate) indexes: Vec<Index>,
    /// Whether some index is unique: then an identical row is found through it and
    /// `row_set` is not kept.
    has_unique: bool,
    /// For tables without a unique index: every live row, hashed by its bytes, for
    /// set semantics.
    row_set: HashTable<RowPointer>,
    hasher: RandomState,
    pub(crate) sequences: Vec<Sequence>,
}

/// Ids handed out while creating tables.
#[derive(Debug)]
pub(crate) struct IdAlloc {
    pub(crate) next_index: u32,
    pub(crate) next_sequence: u32,
}

impl Table {
    pub(crate) fn new(table_id: TableId, def: &TableDef, typespace: Arc<Typespace>, ids: &mut IdAlloc) -> Result<Self> {
        let invalid = |reason: String| DatastoreError::InvalidSchema {
            table: def.name.clone(),
            reason,
        };
        let col_types = def.columns.iter().map(|c| c.ty.clone()).collect::<Vec<_>>();
        let layout = RowLayout::new(&col_types, typespace.clone()).map_err(|e| invalid(format!("column type: {e}")))?;
        let check_cols = |what: &str, cols: &[ColId]| {
            if cols.is_empty() {
                return Err(invalid(format!("{what} has no columns")));
            }
            match cols.iter().find(|c| c.idx() >= layout.len()) {
                Some(c) => Err(invalid(format!(
                    "{what} names column {c}, but the table has {} columns",
                    layout.len()
                ))),
                None => Ok(()),
            }
        };

        // Unique column sets: the constraints, plus the primary key if no constraint
        // covers it (a hand-built definition may leave that implicit).
        let mut uniques = def
            .unique_constraints
            .iter()
            .map(|c| (c.name.clone(), c.columns.clone()))
            .collect::<Vec<_>>();
        if let Some(pk) = def.primary_key {
            if !uniques.iter().any(|(_, cols)| cols[..] == [pk]) {
                let col = def.columns.get(pk.idx()).map_or("?", |c| &c.name);
                uniques.push((format!("{}_{}_key", def.name, col), vec![pk]));
            }
        }
        for (name, cols) in &uniques {
            check_cols(&format!("unique constraint `{name}`"), cols)?;
        }

        let mut indexes = Vec::new();
        for ix in &def.indexes {
            let (kind, cols) = match &ix.algorithm {
                IndexAlgorithm::BTree { columns } => (IndexKind::BTree, columns.clone()),
                IndexAlgorithm::Hash { columns } => (IndexKind::Hash, columns.clone()),
                IndexAlgorithm::Direct { column } => (IndexKind::BTree, vec![*column]),
            };
            check_cols(&format!("index `{}`", ix.name), &cols)?;
            let constraint = uniques.iter().find(|(_, c)| *c == cols).map(|(n, _)| n.clone());
            let key_type = (cols.len() == 1).then(|| layout.col_type(cols[0]));
            indexes.push(Index::new(
                IndexId(ids.next_index),
                ix.name.clone(),
                cols,
                kind,
                constraint,
                key_type,
            ));
            ids.next_index += 1;
        }
        // A unique constraint must be checked through an index; add a btree where the
        // definition declared none.
        for (name, cols) in &uniques {
            if !indexes.iter().any(|ix| ix.columns == *cols) {
                let col_names = cols
                    .iter()
                    .map(|c| def.columns.get(c.idx()).map_or("?", |c| &c.name))
                    .collect::<Vec<_>>();
                let ix_name = format!("{}_{}_idx_btree", def.name, col_names.join("_"));
                let key_type = (cols.len() == 1).then(|| layout.col_type(cols[0]));
                indexes.push(Index::new(
                    IndexId(ids.next_index),
                    ix_name,
                    cols.clone(),
                    IndexKind::BTree,
                    Some(name.clone()),
                    key_type,
                ));
                ids.next_index += 1;
            }
        }

        let mut sequences = Vec::new();
        for seq in &def.sequences {
            check_cols(&format!("sequence `{}`", seq.name), &[seq.column])?;
            sequences.push(Sequence::new(
                SequenceId(ids.next_sequence),
                seq,
                layout.col_type(seq.column),
                &def.name,
            )?);
            ids.next_sequence += 1;
        }
        // Generated values are written back in column order.
        sequences.sort_by_key(|s| s.column);

        let schema = TableSchema {
            table_id,
            def: def.clone(),
            typespace,
            indexes: indexes
                .iter()
                .map(|ix| IndexSchema {
                    index_id: ix.id,
                    name: ix.name.clone(),
                    columns: ix.columns.clone(),
                    kind: ix.kind(),
                    unique: ix.is_unique(),
                })
                .collect(),
            sequences: sequences.iter().map(|s| (s.id, s.name.clone(), s.column)).collect(),
        };
        let has_unique = indexes.iter().any(Index::is_unique);
        Ok(Self {
            schema,
            layout,
            rows: Vec::new(),
            free: Vec::new(),
            len: 0,
            indexes,
            has_unique,
            row_set: HashTable::new(),
            hasher: RandomState::new(),
            sequences,
        })
    }

    pub(crate) fn id(&self) -> TableId {
        self.schema.table_id
    }

    pub(crate) fn name(&self) -> &str {
        &self.schema.def.name
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The slab's length: every row pointer is below it.
    pub(crate) fn slots(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn get(&self, ptr: RowPointer) -> Option<&[u8]> {
        self.rows.get(ptr.idx()).and_then(|r| r.as_deref())
    }

    /// Every live row, in slab order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (RowPointer, &[u8])> + '_ {
        self.rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((RowPointer(i as u32), r.as_deref()?)))
    }

    pub(crate) fn decode_error(&self, e: spacetime_sats::bsatn::DecodeError) -> DatastoreError {
        DatastoreError::decode(format!("a row of table `{}`", self.name()), e)
    }

    fn unique_violation(&self, ix: &Index, key: &AlgebraicValue) -> DatastoreError {
        DatastoreError::UniqueConstraintViolation {
            constraint: ix.constraint.clone().unwrap_or_else(|| ix.name.clone()),
            table: self.name().to_owned(),
            value: display_value(key),
        }
    }

    fn hash_row(hasher: &RandomState, row: &[u8]) -> u64 {
        hasher.hash_one(row)
    }

    // ---- slab and index maintenance -------------------------------------------------

    fn alloc(&mut self, row: Box<[u8]>) -> RowPointer {
        match self.free.pop() {
            Some(ptr) => {
                self.rows[ptr.idx()] = Some(row);
                ptr
            }
            None => {
                let ptr = RowPointer(u32::try_from(self.rows.len()).expect("a table holds fewer than 2^32 rows"));
                self.rows.push(Some(row));
                ptr
            }
        }
    }

    /// Gives a slot back, so the slab ends exactly as it was before `alloc`.
    pub(crate) fn release(&mut self, ptr: RowPointer) {
        if ptr.idx() + 1 == self.rows.len() && self.rows[ptr.idx()].is_none() {
            self.rows.pop();
        } else {
            self.free.push(ptr);
        }
    }

    /// Marks a slot emptied by a committed delete as reusable.
    pub(crate) fn free_slot(&mut self, ptr: RowPointer) {
        if self.rows.get(ptr.idx()).is_some_and(Option::is_none) {
            self.free.push(ptr);
        }
    }

    /// Adds the live row at `ptr` to the indexes (with precomputed `keys`, one per
    /// index) and the row set.
    fn link(&mut self, ptr: RowPointer, keys: Vec<AlgebraicValue>) {
        for (ix, key) in self.indexes.iter_mut().zip(keys) {
            ix.insert(key, ptr);
        }
        if !self.has_unique {
            let Self {
                rows, row_set, hasher, ..
            } = self;
            let row = rows[ptr.idx()].as_deref().expect("linked rows are live");
            let hash = Self::hash_row(hasher, row);
            row_set.insert_unique(hash, ptr, |p| {
                Self::hash_row(hasher, rows[p.idx()].as_deref().unwrap_or_default())
            });
        }
        self.len += 1;
    }

    fn keys_of(&self, row: &[u8], bounds: &[u32]) -> Vec<AlgebraicValue> {
        self.indexes
            .iter()
            .map(|ix| self.layout.key(row, bounds, &ix.columns))
            .collect()
    }

    /// Removes the live row at `ptr` from the indexes and row set and takes its bytes,
    /// leaving the slot empty.
    pub(crate) fn unlink(&mut self, ptr: RowPointer, s: &mut Scratch) -> Box<[u8]> {
        let row = self.rows[ptr.idx()].take().expect("unlinked rows are live");
        self.layout.bounds(&row, &mut s.old).expect("stored rows are valid");
        for ix in &mut self.indexes {
            let key = self.layout.key(&row, &s.old, &ix.columns);
            ix.remove(&key, ptr);
        }
        if !self.has_unique {
            let hash = Self::hash_row(&self.hasher, &row);
            if let Ok(entry) = self.row_set.find_entry(hash, |&p| p == ptr) {
                entry.remove();
            }
        }
        self.len -= 1;
        row
    }

    /// Puts `row` back into the empty slot `ptr` and re-adds it to the indexes.
    pub(crate) fn relink(&mut self, ptr: RowPointer, row: Box<[u8]>, s: &mut Scratch) {
        self.layout.bounds(&row, &mut s.old).expect("stored rows are valid");
        let keys = self.keys_of(&row, &s.old);
        self.rows[ptr.idx()] = Some(row);
        self.link(ptr, keys);
    }

    /// Replaces the live row at `ptr` with `new`, moving it in every index whose key
    /// changed, and returns the old bytes. Used by rollback; `update` does the checked
    /// forward version.
    pub(crate) fn replace(&mut self, ptr: RowPointer, new: Box<[u8]>, s: &mut Scratch) -> Box<[u8]> {
        let old = self.rows[ptr.idx()].take().expect("replaced rows are live");
        self.layout.bounds(&old, &mut s.old).expect("stored rows are valid");
        self.layout.bounds(&new, &mut s.new).expect("stored rows are valid");
        for ix in &mut self.indexes {
            let old_key = self.layout.key(&old, &s.old, &ix.columns);
            let new_key = self.layout.key(&new, &s.new, &ix.columns);
            if old_key != new_key {
                ix.remove(&old_key, ptr);
                ix.insert(new_key, ptr);
            }
        }
        self.rows[ptr.idx()] = Some(new);
        old
    }

    /// The live row with exactly the bytes `row` (whose bounds are `bounds`).
    fn find_identical(&self, row: &[u8], bounds: &[u32]) -> Option<RowPointer> {
        if self.has_unique {
            let ix = self.indexes.iter().find(|ix| ix.is_unique())?;
            let ptr = ix.get_unique(&self.layout.key(row, bounds, &ix.columns))?;
            return (self.get(ptr)? == row).then_some(ptr);
        }
        let hash = Self::hash_row(&self.hasher, row);
        self.row_set.find(hash, |&p| self.get(p) == Some(row)).copied()
    }

    // ---- sequences ------------------------------------------------------------------

    /// Fills every sequence column of `row` that holds zero, appending the generated
    /// bytes to `generated`. Returns each sequence's previous state, to undo with.
    fn fill_sequences(
        &mut self,
        row: &mut [u8],
        bounds: &[u32],
        generated: &mut Vec<u8>,
    ) -> Result<Vec<(usize, Option<i128>)>> {
        let mut taken = Vec::new();
        for i in 0..self.sequences.len() {
            let seq = &mut self.sequences[i];
            let col = seq.column.idx();
            let range = bounds[col] as usize..bounds[col + 1] as usize;
            if row[range.clone()].iter().any(|&b| b != 0) {
                continue;
            }
            let prev = seq.next;
            match seq.take() {
                Ok(value) => {
                    seq.ty.write(value, &mut row[range.clone()]);
                    generated.extend_from_slice(&row[range]);
                    taken.push((i, prev));
                }
                Err(e) => {
                    self.restore_sequences(&taken);
                    return Err(e);
                }
            }
        }
        Ok(taken)
    }

    fn restore_sequences(&mut self, taken: &[(usize, Option<i128>)]) {
        for &(i, prev) in taken.iter().rev() {
            self.sequences[i].next = prev;
        }
    }

    fn log_sequences(&self, taken: Vec<(usize, Option<i128>)>, undo: &mut Vec<Undo>) {
        let table = self.id();
        undo.extend(taken.into_iter().map(|(seq, next)| Undo::Sequence { table, seq, next }));
    }

    // ---- transactional operations ---------------------------------------------------

    /// Inserts `row`, filling sequence columns that hold zero. Returns the generated
    /// column bytes, in column order. Inserting a row identical to a live one is a
    /// no-op.
    pub(crate) fn insert(&mut self, row: &[u8], s: &mut Scratch, undo: &mut Vec<Undo>) -> Result<Vec<u8>> {
        self.layout.bounds(row, &mut s.new).map_err(|e| self.decode_error(e))?;
        let mut row: Box<[u8]> = row.into();
        let mut generated = Vec::new();
        let taken = self.fill_sequences(&mut row, &s.new, &mut generated)?;
        let keys = self.keys_of(&row, &s.new);
        for (ix, key) in self.indexes.iter().zip(&keys) {
            let Some(existing) = ix.get_unique(key) else {
                continue;
            };
            // Every unique index of an identical row finds that row, so the first hit
            // decides between "already there" and "conflict".
            if self.get(existing) == Some(&row[..]) {
                self.log_sequences(taken, undo);
                return Ok(generated);
            }
            let err = self.unique_violation(ix, key);
            self.restore_sequences(&taken);
            return Err(err);
        }
        if !self.has_unique && self.find_identical(&row, &s.new).is_some() {
            self.log_sequences(taken, undo);
            return Ok(generated);
        }
        self.log_sequences(taken, undo);
        let ptr = self.alloc(row);
        self.link(ptr, keys);
        undo.push(Undo::Insert { table: self.id(), ptr });
        Ok(generated)
    }

    /// Replaces the row whose key on the unique index at position `index` equals that
    /// of `row`. Only indexes whose columns changed are touched.
    pub(crate) fn update(
        &mut self,
        index: usize,
        row: &[u8],
        s: &mut Scratch,
        undo: &mut Vec<Undo>,
    ) -> Result<Vec<u8>> {
        self.layout.bounds(row, &mut s.new).map_err(|e| self.decode_error(e))?;
        if !self.indexes[index].is_unique() {
            return Err(DatastoreError::IndexNotUnique {
                index: self.indexes[index].name.clone(),
            });
        }
        let mut row: Box<[u8]> = row.into();
        let mut generated = Vec::new();
        let taken = self.fill_sequences(&mut row, &s.new, &mut generated)?;
        let ix = &self.indexes[index];
        let key = self.layout.key(&row, &s.new, &ix.columns);
        let Some(ptr) = ix.get_unique(&key) else {
            let err = DatastoreError::NoSuchRow {
                table: self.name().to_owned(),
                index: ix.name.clone(),
                value: display_value(&key),
            };
            self.restore_sequences(&taken);
            return Err(err);
        };
        let old = self.get(ptr).expect("indexed rows are live");
        if *old == *row {
            self.log_sequences(taken, undo);
            return Ok(generated);
        }
        self.layout.bounds(old, &mut s.old).expect("stored rows are valid");
        let mut moves = Vec::new();
        for (i, ix) in self.indexes.iter().enumerate() {
            let changed = ix
                .columns
                .iter()
                .any(|&c| RowLayout::col_bytes(old, &s.old, c) != RowLayout::col_bytes(&row, &s.new, c));
            if !changed {
                continue;
            }
            let new_key = self.layout.key(&row, &s.new, &ix.columns);
            if ix.get_unique(&new_key).is_some_and(|p| p != ptr) {
                let err = self.unique_violation(ix, &new_key);
                self.restore_sequences(&taken);
                return Err(err);
            }
            moves.push((i, self.layout.key(old, &s.old, &ix.columns), new_key));
        }
        for (i, old_key, new_key) in moves {
            self.indexes[i].remove(&old_key, ptr);
            self.indexes[i].insert(new_key, ptr);
        }
        self.log_sequences(taken, undo);
        let old = self.rows[ptr.idx()].replace(row).expect("indexed rows are live");
        undo.push(Undo::Update {
            table: self.id(),
            ptr,
            old,
        });
        Ok(generated)
    }

    /// Deletes the live row at `ptr`.
    pub(crate) fn delete_ptr(&mut self, ptr: RowPointer, s: &mut Scratch, undo: &mut Vec<Undo>) {
        let row = self.unlink(ptr, s);
        undo.push(Undo::Delete {
            table: self.id(),
            ptr,
            row,
        });
    }

    /// Deletes the live row identical to the validated `row`, if any.
    pub(crate) fn delete_identical(&mut self, row: &[u8], s: &mut Scratch, undo: &mut Vec<Undo>) -> bool {
        match self.find_identical(row, &s.new) {
            Some(ptr) => {
                self.delete_ptr(ptr, s, undo);
                true
            }
            None => false,
        }
    }
}
