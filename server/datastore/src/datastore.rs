//! [`Datastore`]: the tables of one database, name lookups, and the read API.
//!
//! Reads work on whatever state the datastore is in: directly on a `Datastore` they
//! see committed state, and through a [`MutTx`] (which derefs to the `Datastore`)
//! they see the transaction's own writes. Scans borrow the datastore, so a result
//! cannot be invalidated by a write while it is being read; callers that must write
//! while holding results collect the rows (or their bytes) first.

use crate::error::{DatastoreError, Result};
use crate::index::{Index, PtrIter};
use crate::layout::RowLayout;
use crate::table::{IdAlloc, IndexSchema, Table, TableSchema};
use crate::{MutTx, RowPointer};
use spacetime_sats::bsatn::DecodeError;
use spacetime_sats::def::model::TableDef;
use spacetime_sats::def::raw::TableType;
use spacetime_sats::{AlgebraicValue, ColId, IndexId, ProductValue, TableId, Typespace};
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

/// The first id given to a user table; system tables count up from 1 below it.
pub const FIRST_USER_TABLE_ID: u32 = 4096;

/// The in-memory state of one database.
///
/// Owned by the database's single writer: there are no locks inside. Writes go
/// through a [`MutTx`] from [`begin_mut_tx`](Self::begin_mut_tx).
#[derive(Debug)]
pub struct Datastore {
    system_tables: Vec<Table>,
    user_tables: Vec<Table>,
    by_name: HashMap<String, TableId>,
    by_accessor: HashMap<String, TableId>,
    index_names: HashMap<String, IndexId>,
    /// `IndexId(i + 1)` lives in table `.0` at index position `.1`.
    index_locations: Vec<(TableId, usize)>,
    ids: IdAlloc,
    typespaces: Vec<Arc<Typespace>>,
}

impl Default for Datastore {
    fn default() -> Self {
        Self::new()
    }
}

/// A live row: its bytes, where it is, and how to decode it.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    layout: &'a RowLayout,
    ptr: RowPointer,
    bytes: &'a [u8],
}

impl<'a> RowRef<'a> {
    /// The row's BSATN bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Where the row is stored.
    pub fn pointer(&self) -> RowPointer {
        self.ptr
    }

    /// The row decoded into a value.
    pub fn to_product_value(&self) -> ProductValue {
        self.layout.decode_row(self.bytes)
    }

    /// Column `col` of the row, decoded; `None` if the table has no such column.
    pub fn read_column(&self, col: ColId) -> Option<AlgebraicValue> {
        if col.idx() >= self.layout.len() {
            return None;
        }
        let mut bounds = Vec::new();
        self.layout.bounds(self.bytes, &mut bounds).ok()?;
        Some(self.layout.read_col(self.bytes, &bounds, col))
    }
}

/// All rows of a table, from [`Datastore::scan`].
#[derive(Debug)]
pub struct TableScan<'a> {
    table: &'a Table,
    next: usize,
}

impl<'a> Iterator for TableScan<'a> {
    type Item = RowRef<'a>;

    fn next(&mut self) -> Option<RowRef<'a>> {
        while self.next < self.table.slots() {
            let ptr = RowPointer(self.next as u32);
            self.next += 1;
            if let Some(bytes) = self.table.get(ptr) {
                return Some(RowRef {
                    layout: &self.table.layout,
                    ptr,
                    bytes,
                });
            }
        }
        None
    }
}

/// The key a point or range scan of an index reads, decoded from its ABI arguments:
/// the rows whose first `values.len()` key columns equal `values` and, for a range, whose
/// next key column lies in `range`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexKey {
    /// The index's table.
    pub table: TableId,
    /// The key columns the scan constrains: the prefix columns, then the range column
    /// if any.
    pub columns: Vec<ColId>,
    /// The values of the prefix columns (every key column for a point).
    pub values: Vec<AlgebraicValue>,
    /// The bounds on the column after the prefix, for a range scan.
    pub range: Option<(Bound<AlgebraicValue>, Bound<AlgebraicValue>)>,
}

/// The rows an index scan matched, in key order for btree indexes.
#[derive(Debug)]
pub struct IndexScan<'a> {
    table: &'a Table,
    ptrs: PtrIter<'a>,
}

impl IndexScan<'_> {
    /// The table the index belongs to.
    pub fn table_id(&self) -> TableId {
        self.table.id()
    }
}

impl<'a> Iterator for IndexScan<'a> {
    type Item = RowRef<'a>;

    fn next(&mut self) -> Option<RowRef<'a>> {
        let ptr = self.ptrs.next()?;
        let bytes = self.table.get(ptr).expect("indexes hold only live rows");
        Some(RowRef {
            layout: &self.table.layout,
            ptr,
            bytes,
        })
    }
}

impl Datastore {
    /// An empty datastore.
    pub fn new() -> Self {
        Self {
            system_tables: Vec::new(),
            user_tables: Vec::new(),
            by_name: HashMap::new(),
            by_accessor: HashMap::new(),
            index_names: HashMap::new(),
            index_locations: Vec::new(),
            ids: IdAlloc {
                next_index: 1,
                next_sequence: 1,
            },
            typespaces: Vec::new(),
        }
    }

    /// Creates an empty table for `def`, whose column types refer into `typespace`.
    ///
    /// User tables get ids 4096, 4097, … in creation order; system tables 1, 2, ….
    /// Index ids are given in order (the definition's indexes first, then a btree for
    /// any unique constraint or primary key that no index covers).
    ///
    /// # Errors
    /// `TableExists` for a name already used; `InvalidSchema` for a definition the
    /// datastore cannot hold (bad column references, a sequence on a non-integer
    /// column, a duplicate index name).
    pub fn create_table(&mut self, def: &TableDef, typespace: &Typespace) -> Result<TableId> {
        if self.by_name.contains_key(&def.name) {
            return Err(DatastoreError::TableExists(def.name.clone()));
        }
        let (tables, first) = match def.table_type {
            TableType::System => (&self.system_tables, 1),
            TableType::User => (&self.user_tables, FIRST_USER_TABLE_ID),
        };
        let table_id = TableId(first + tables.len() as u32);
        if def.table_type == TableType::System && table_id.0 >= FIRST_USER_TABLE_ID {
            return Err(DatastoreError::InvalidSchema {
                table: def.name.clone(),
                reason: "too many system tables".into(),
            });
        }
        let typespace = match self.typespaces.iter().find(|t| ***t == *typespace) {
            Some(t) => t.clone(),
            None => {
                let t = Arc::new(typespace.clone());
                self.typespaces.push(t.clone());
                t
            }
        };
        let mut ids = IdAlloc {
            next_index: self.ids.next_index,
            next_sequence: self.ids.next_sequence,
        };
        let table = Table::new(table_id, def, typespace, &mut ids)?;
        // Modules look indexes up by canonical name or by the name they gave the index
        // (`source_name`); the definition's indexes come first in `table.indexes`.
        let mut names = HashMap::new();
        for ix in &table.indexes {
            if self.index_names.contains_key(&ix.name) || names.insert(ix.name.clone(), ix.id).is_some() {
                return Err(DatastoreError::InvalidSchema {
                    table: def.name.clone(),
                    reason: format!("index name `{}` is already used", ix.name),
                });
            }
        }
        for (ix, ix_def) in table.indexes.iter().zip(&def.indexes) {
            if !self.index_names.contains_key(&ix_def.source_name) {
                names.entry(ix_def.source_name.clone()).or_insert(ix.id);
            }
        }

        self.index_names.extend(names);
        for pos in 0..table.indexes.len() {
            self.index_locations.push((table_id, pos));
        }
        self.ids = ids;
        self.by_name.insert(def.name.clone(), table_id);
        self.by_accessor.entry(def.accessor_name.clone()).or_insert(table_id);
        match def.table_type {
            TableType::System => self.system_tables.push(table),
            TableType::User => self.user_tables.push(table),
        }
        Ok(table_id)
    }

    pub(crate) fn table(&self, id: TableId) -> Result<&Table> {
        let found = match id.0.checked_sub(FIRST_USER_TABLE_ID) {
            Some(i) => self.user_tables.get(i as usize),
            None => id.0.checked_sub(1).and_then(|i| self.system_tables.get(i as usize)),
        };
        found.ok_or(DatastoreError::NoSuchTable(id))
    }

    pub(crate) fn table_mut(&mut self, id: TableId) -> Result<&mut Table> {
        let found = match id.0.checked_sub(FIRST_USER_TABLE_ID) {
            Some(i) => self.user_tables.get_mut(i as usize),
            None => id.0.checked_sub(1).and_then(|i| self.system_tables.get_mut(i as usize)),
        };
        found.ok_or(DatastoreError::NoSuchTable(id))
    }

    pub(crate) fn index_location(&self, id: IndexId) -> Result<(TableId, usize)> {
        id.0.checked_sub(1)
            .and_then(|i| self.index_locations.get(i as usize))
            .copied()
            .ok_or(DatastoreError::NoSuchIndex(id))
    }

    fn index_parts(&self, id: IndexId) -> Result<(&Table, &Index)> {
        let (table, pos) = self.index_location(id)?;
        let table = self.table(table)?;
        Ok((table, &table.indexes[pos]))
    }

    /// The table whose canonical name, or else accessor name, is `name`
    /// (ABI `table_id_from_name`).
    ///
    /// # Errors
    /// `NoSuchTableName`.
    pub fn table_id_from_name(&self, name: &str) -> Result<TableId> {
        self.by_name
            .get(name)
            .or_else(|| self.by_accessor.get(name))
            .copied()
            .ok_or_else(|| DatastoreError::NoSuchTableName(name.to_owned()))
    }

    /// The index whose canonical name, e.g. `user_identity_idx_btree`, or source name
    /// (the name the module gave it) is `name` (ABI `index_id_from_name`).
    ///
    /// # Errors
    /// `NoSuchIndexName`.
    pub fn index_id_from_name(&self, name: &str) -> Result<IndexId> {
        self.index_names
            .get(name)
            .copied()
            .ok_or_else(|| DatastoreError::NoSuchIndexName(name.to_owned()))
    }

    /// The schema of `table`.
    ///
    /// # Errors
    /// `NoSuchTable`.
    pub fn table_schema(&self, table: TableId) -> Result<&TableSchema> {
        self.table(table).map(|t| &t.schema)
    }

    /// The index `index` and the schema of its table.
    ///
    /// # Errors
    /// `NoSuchIndex`.
    pub fn index_schema(&self, index: IndexId) -> Result<(&TableSchema, &IndexSchema)> {
        let (table, pos) = self.index_location(index)?;
        let schema = self.table_schema(table)?;
        Ok((schema, &schema.indexes[pos]))
    }

    /// The schemas of all tables: system tables, then user tables, each by id.
    pub fn tables(&self) -> impl Iterator<Item = &TableSchema> + '_ {
        self.system_tables.iter().chain(&self.user_tables).map(|t| &t.schema)
    }

    /// The sequences of `table` as `(column, next value)`, in column order; the next
    /// value is `None` once a sequence is exhausted. With
    /// [`advance_sequence_past`](Self::advance_sequence_past) this lets a durable copy
    /// (a snapshot, a replayed log) bring sequences back where they were.
    ///
    /// # Errors
    /// `NoSuchTable`.
    pub fn sequence_states(&self, table: TableId) -> Result<Vec<(ColId, Option<i128>)>> {
        Ok(self
            .table(table)?
            .sequences
            .iter()
            .map(|s| (s.column, s.next))
            .collect())
    }

    /// Makes the sequence on `column` of `table` continue after `value`: it will never
    /// hand out `value` or a value before it again. A sequence already past `value` is
    /// left alone; a column without a sequence is ignored. Outside a transaction, so
    /// not undone by any rollback: for restoring state after a restart.
    ///
    /// # Errors
    /// `NoSuchTable`.
    pub fn advance_sequence_past(&mut self, table: TableId, column: ColId, value: i128) -> Result<()> {
        for seq in self
            .table_mut(table)?
            .sequences
            .iter_mut()
            .filter(|s| s.column == column)
        {
            seq.advance_past(value);
        }
        Ok(())
    }

    /// The number of rows in `table`.
    ///
    /// # Errors
    /// `NoSuchTable`.
    pub fn row_count(&self, table: TableId) -> Result<u64> {
        self.table(table).map(Table::len)
    }

    /// Every row of `table`.
    ///
    /// # Errors
    /// `NoSuchTable`.
    pub fn scan(&self, table: TableId) -> Result<TableScan<'_>> {
        Ok(TableScan {
            table: self.table(table)?,
            next: 0,
        })
    }

    /// Decodes a BSATN row of `table` (one stored in it, or from a [`TxData`](crate::TxData)).
    ///
    /// # Errors
    /// `NoSuchTable`, or `Decode` if `row` is not a row of the table's type.
    pub fn decode_row(&self, table: TableId, row: &[u8]) -> Result<ProductValue> {
        let t = self.table(table)?;
        t.layout.bounds(row, &mut Vec::new()).map_err(|e| t.decode_error(e))?;
        Ok(t.layout.decode_row(row))
    }

    /// Rows whose key on `index` equals `key` (the column's value for a one-column
    /// index, a product of the column values for several).
    ///
    /// # Errors
    /// `NoSuchIndex`.
    pub fn index_scan_point(&self, index: IndexId, key: &AlgebraicValue) -> Result<IndexScan<'_>> {
        let (table, ix) = self.index_parts(index)?;
        Ok(IndexScan {
            table,
            ptrs: ix.scan_point(key),
        })
    }

    /// Rows whose first `prefix.len()` key columns equal `prefix` and whose next key
    /// column lies between `start` and `end`; later key columns are unconstrained.
    ///
    /// # Errors
    /// `NoSuchIndex`; `WrongIndexAlgo` for a hash index; `Decode` if `prefix` covers
    /// every key column (use [`index_scan_point`](Self::index_scan_point)).
    pub fn index_scan_range(
        &self,
        index: IndexId,
        prefix: Vec<AlgebraicValue>,
        start: Bound<AlgebraicValue>,
        end: Bound<AlgebraicValue>,
    ) -> Result<IndexScan<'_>> {
        let (table, ix) = self.index_parts(index)?;
        if prefix.len() >= ix.columns.len() {
            return Err(DatastoreError::decode(
                format!("a range scan of index `{}`", ix.name),
                DecodeError::Invalid(format!(
                    "the prefix has {} values but the index has only {} columns; the range applies to the column after the prefix",
                    prefix.len(),
                    ix.columns.len()
                )),
            ));
        }
        let ptrs = ix
            .scan_range(prefix, start, end)
            .ok_or_else(|| DatastoreError::WrongIndexAlgo { index: ix.name.clone() })?;
        Ok(IndexScan { table, ptrs })
    }

    /// [`index_scan_point`](Self::index_scan_point) with the key as BSATN: the
    /// concatenated values of every key column (ABI `datastore_index_scan_point_bsatn`).
    ///
    /// # Errors
    /// `NoSuchIndex`; `Decode` if `point` is not exactly one key.
    pub fn index_scan_point_bsatn(&self, index: IndexId, point: &[u8]) -> Result<IndexScan<'_>> {
        let (table, ix) = self.index_parts(index)?;
        let key = decode_point(table, ix, point)?;
        Ok(IndexScan {
            table,
            ptrs: ix.scan_point(&key),
        })
    }

    /// Decodes the BSATN `point` of index `index` (the concatenated values of every key
    /// column) into one value per key column, as a point scan reads it.
    ///
    /// # Errors
    /// `NoSuchIndex`; `Decode` if `point` is not exactly one key.
    pub fn index_point_key(&self, index: IndexId, point: &[u8]) -> Result<IndexKey> {
        let (table, ix) = self.index_parts(index)?;
        let values = match decode_point(table, ix, point)? {
            AlgebraicValue::Product(key) if ix.columns.len() > 1 => key.elements,
            key => vec![key],
        };
        Ok(IndexKey {
            table: table.id(),
            columns: ix.columns.clone(),
            values,
            range: None,
        })
    }

    /// A range scan with ABI encoding (`datastore_index_scan_range_bsatn`): `prefix` is
    /// the concatenated BSATN of the first `prefix_elems` key columns, and `rstart` and
    /// `rend` are BSATN `Bound`s (`included` = 0, `excluded` = 1, `unbounded` = 2) on
    /// key column `prefix_elems`.
    ///
    /// # Errors
    /// `NoSuchIndex`, `WrongIndexAlgo` (hash index), `Decode`.
    pub fn index_scan_range_bsatn(
        &self,
        index: IndexId,
        prefix: &[u8],
        prefix_elems: u16,
        rstart: &[u8],
        rend: &[u8],
    ) -> Result<IndexScan<'_>> {
        let (table, ix) = self.index_parts(index)?;
        let (prefix, start, end) = decode_range(table, ix, prefix, prefix_elems, rstart, rend)?;
        self.index_scan_range(index, prefix, start, end)
    }

    /// Decodes the ABI arguments of a range scan of `index` (see
    /// [`index_scan_range_bsatn`](Self::index_scan_range_bsatn)): the prefix values and
    /// the bounds on the column after them.
    ///
    /// # Errors
    /// `NoSuchIndex`, `WrongIndexAlgo` (hash index), `Decode`.
    pub fn index_range_key(
        &self,
        index: IndexId,
        prefix: &[u8],
        prefix_elems: u16,
        rstart: &[u8],
        rend: &[u8],
    ) -> Result<IndexKey> {
        let (table, ix) = self.index_parts(index)?;
        let (values, start, end) = decode_range(table, ix, prefix, prefix_elems, rstart, rend)?;
        Ok(IndexKey {
            table: table.id(),
            columns: ix.columns[..=values.len()].to_vec(),
            values,
            range: Some((start, end)),
        })
    }

    /// Renames `table`: SQL and the ABI find it under `name` from now on (and no longer
    /// under its old name); its indexes keep their names. The engine reuses a view's
    /// backing table for another caller this way.
    ///
    /// # Errors
    /// `NoSuchTable`; `TableExists` if another table has `name`.
    pub fn rename_table(&mut self, table: TableId, name: &str) -> Result<()> {
        if self.by_name.get(name).is_some_and(|t| *t != table) {
            return Err(DatastoreError::TableExists(name.to_owned()));
        }
        let t = self.table_mut(table)?;
        let old = std::mem::replace(&mut t.schema.def.name, name.to_owned());
        let old_accessor = std::mem::replace(&mut t.schema.def.accessor_name, name.to_owned());
        self.by_name.remove(&old);
        self.by_name.insert(name.to_owned(), table);
        if self.by_accessor.get(&old_accessor) == Some(&table) {
            self.by_accessor.remove(&old_accessor);
        }
        self.by_accessor.entry(name.to_owned()).or_insert(table);
        Ok(())
    }

    /// Starts a mutable transaction. Only one can be open, and reads directly on the
    /// datastore wait until it is committed or rolled back (the borrow checker says so).
    pub fn begin_mut_tx(&mut self) -> MutTx<'_> {
        MutTx::new(self)
    }
}

/// The key of `ix` (of `table`) a BSATN point names: the column's value for a
/// one-column index, the product of the column values for several.
fn decode_point(table: &Table, ix: &Index, point: &[u8]) -> Result<AlgebraicValue> {
    let err = |e| DatastoreError::decode(format!("a key of index `{}`", ix.name), e);
    let mut rest = point;
    let key = match &ix.columns[..] {
        [col] => table.layout.decode_col_value(*col, &mut rest),
        cols => decode_cols(&table.layout, cols, &mut rest).map(AlgebraicValue::product),
    }
    .map_err(err)?;
    if !rest.is_empty() {
        return Err(err(DecodeError::TrailingBytes(rest.len())));
    }
    Ok(key)
}

/// The prefix values and the bounds of a range scan of `ix` (of `table`) from its ABI
/// arguments.
fn decode_range(
    table: &Table,
    ix: &Index,
    prefix: &[u8],
    prefix_elems: u16,
    rstart: &[u8],
    rend: &[u8],
) -> Result<(Vec<AlgebraicValue>, Bound<AlgebraicValue>, Bound<AlgebraicValue>)> {
    if ix.kind() == crate::IndexKind::Hash {
        return Err(DatastoreError::WrongIndexAlgo { index: ix.name.clone() });
    }
    let err = |e| DatastoreError::decode(format!("a range scan of index `{}`", ix.name), e);
    let k = usize::from(prefix_elems);
    if k >= ix.columns.len() {
        return Err(err(DecodeError::Invalid(format!(
            "prefix_elems is {k} but the index has only {} columns; the range applies to the column after the prefix",
            ix.columns.len()
        ))));
    }
    let mut rest = prefix;
    let values = decode_cols(&table.layout, &ix.columns[..k], &mut rest).map_err(err)?;
    if !rest.is_empty() {
        return Err(err(DecodeError::TrailingBytes(rest.len())));
    }
    let start = decode_bound(&table.layout, ix.columns[k], rstart).map_err(err)?;
    let end = decode_bound(&table.layout, ix.columns[k], rend).map_err(err)?;
    Ok((values, start, end))
}

fn decode_cols(layout: &RowLayout, cols: &[ColId], input: &mut &[u8]) -> Result<Vec<AlgebraicValue>, DecodeError> {
    cols.iter().map(|&c| layout.decode_col_value(c, input)).collect()
}

fn decode_bound(layout: &RowLayout, col: ColId, bytes: &[u8]) -> Result<Bound<AlgebraicValue>, DecodeError> {
    let mut rest = bytes;
    let bound = match spacetime_sats::bsatn::decode_tag(&mut rest, "Bound", 3)? {
        0 => Bound::Included(layout.decode_col_value(col, &mut rest)?),
        1 => Bound::Excluded(layout.decode_col_value(col, &mut rest)?),
        _ => Bound::Unbounded,
    };
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(bound)
}
