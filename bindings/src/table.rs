//! Table handles: the [`Table`] trait every `#[table]` handle implements, the index
//! handles [`UniqueColumn`], [`RangedIndex`] and [`PointIndex`], and their read-only
//! counterparts reached through `LocalReadOnly`.
//!
//! Handles are zero-sized; every operation is a host call on the table or index id, which
//! each handle resolves once by name (`table_id_from_name`, `index_id_from_name`) and caches.

use crate::filter::{FilterableValue, IndexScanRangeBounds, WithPointArg};
use crate::sys;
use core::borrow::Borrow;
use core::convert::Infallible;
use core::fmt;
use core::marker::PhantomData;
use spacetime_sats::bsatn::{Decode, Encode};
use spacetime_sats::def::raw::TableAccess;
use spacetime_sats::ids::{IndexId, TableId};
use spacetime_sats::{i256, u256, SpacetimeType};

/// A handle to one table; `#[table(accessor = t)]` generates `t__TableHandle`, reached as
/// `ctx.db.t()`.
///
/// Tables are sets: inserting a row identical to one already present does nothing.
pub trait Table: TableInternal {
    /// The row type, the struct the `#[table]` attribute is on.
    type Row: SpacetimeType + Encode + Decode + 'static;

    /// [`UniqueConstraintViolation`] if the table has a unique column, else [`Infallible`].
    type UniqueConstraintViolation: MaybeError<UniqueConstraintViolation>;

    /// [`AutoIncOverflow`] if the table has an `#[auto_inc]` column, else [`Infallible`].
    type AutoIncOverflow: MaybeError<AutoIncOverflow>;

    /// The number of rows, including this transaction's changes.
    fn count(&self) -> u64 {
        sys::datastore_table_row_count(Self::table_id())
            .unwrap_or_else(|e| panic!("counting rows of `{}` failed: {e}", Self::TABLE_NAME))
    }

    /// Iterates over every row. Prefer an index lookup on large tables.
    fn iter(&self) -> impl Iterator<Item = Self::Row> {
        let iter = sys::datastore_table_scan_bsatn(Self::table_id())
            .unwrap_or_else(|e| panic!("scanning `{}` failed: {e}", Self::TABLE_NAME));
        TableIter::new(iter)
    }

    /// Inserts `row` and returns it with `#[auto_inc]` columns that were 0 filled in.
    ///
    /// # Panics
    /// If the row violates a unique constraint or an auto-inc sequence overflows; use
    /// [`Table::try_insert`] to handle those.
    #[track_caller]
    fn insert(&self, row: Self::Row) -> Self::Row {
        self.try_insert(row).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Inserts `row` and returns it with generated columns filled in.
    ///
    /// # Errors
    /// [`TryInsertError::UniqueConstraintViolation`] if a unique column's value is already
    /// taken by a different row; [`TryInsertError::AutoIncOverflow`] if a sequence is exhausted.
    #[track_caller]
    fn try_insert(&self, row: Self::Row) -> Result<Self::Row, TryInsertError<Self>> {
        insert::<Self>(row)
    }

    /// Deletes the row equal to `row`; returns whether it was present.
    fn delete(&self, row: Self::Row) -> bool {
        // The host takes a BSATN `Vec<Row>`: a u32 count, then the rows.
        let mut relation = 1u32.to_le_bytes().to_vec();
        row.encode(&mut relation);
        let deleted = sys::datastore_delete_all_by_eq_bsatn(Self::table_id(), &relation)
            .unwrap_or_else(|e| panic!("deleting from `{}` failed: {e}", Self::TABLE_NAME));
        deleted > 0
    }

    /// Deletes every row and returns how many there were.
    fn clear(&self) -> u64 {
        sys::datastore_clear(Self::table_id()).unwrap_or_else(|e| panic!("clearing `{}` failed: {e}", Self::TABLE_NAME))
    }

    /// Writes the generated column values the host returned (BSATN, in column order) into `row`.
    #[doc(hidden)]
    fn integrate_generated_columns(row: &mut Self::Row, generated: &[u8]);
}

/// The static description of a table that `#[table]` generates; read when the module is
/// described and when the table id is resolved.
#[doc(hidden)]
pub trait TableInternal: Sized {
    /// The table's source name: its accessor.
    const TABLE_NAME: &'static str;
    /// Public or private (the default).
    const TABLE_ACCESS: TableAccess = TableAccess::Private;
    /// The columns with a unique constraint, in column order.
    const UNIQUE_COLUMNS: &'static [u16];
    /// The indexes, unique ones first.
    const INDEXES: &'static [IndexDesc];
    /// The primary key column.
    const PRIMARY_KEY: Option<u16> = None;
    /// The `#[auto_inc]` columns.
    const SEQUENCES: &'static [u16];
    /// The schedule, for a scheduled table.
    const SCHEDULE: Option<ScheduleDesc> = None;
    /// Whether this is an event table.
    const IS_EVENT: bool = false;
    /// The explicit canonical name of the table, from `name = ".."`.
    const CANONICAL_NAME: Option<&'static str> = None;
    /// The table id, resolved once by name.
    fn table_id() -> TableId;
    /// `(column, BSATN value)` for each `#[default(..)]` column.
    fn default_values() -> Vec<(u16, Vec<u8>)>;
}

/// An index of a table, as `#[table]` describes it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct IndexDesc {
    /// `{table}_{cols}_idx_{algo}`, the name `index_id_from_name` resolves.
    pub source_name: &'static str,
    /// The accessor the module uses.
    pub accessor_name: &'static str,
    /// The explicit canonical name, from `index(name = "..")`.
    pub canonical_name: Option<&'static str>,
    /// The algorithm and columns.
    pub algo: IndexAlgo,
}

/// The algorithm and columns of an [`IndexDesc`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum IndexAlgo {
    /// An ordered index.
    BTree(&'static [u16]),
    /// A hash index.
    Hash(&'static [u16]),
    /// A direct (array-indexed) index on one column.
    Direct(u16),
}

/// The schedule of a scheduled table.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct ScheduleDesc {
    /// The reducer each row calls.
    pub reducer_name: &'static str,
    /// The `ScheduleAt` column.
    pub scheduled_at_column: u16,
}

/// A row was rejected because a unique column's value is already taken.
#[derive(Debug)]
#[non_exhaustive]
pub struct UniqueConstraintViolation;

impl fmt::Display for UniqueConstraintViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("duplicate unique column")
    }
}

impl std::error::Error for UniqueConstraintViolation {}

/// An `#[auto_inc]` sequence ran past its column type's range.
#[derive(Debug)]
#[non_exhaustive]
pub struct AutoIncOverflow;

impl fmt::Display for AutoIncOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("auto-inc sequence overflowed its column type")
    }
}

impl std::error::Error for AutoIncOverflow {}

/// Why [`Table::try_insert`] failed. A variant whose error the table cannot produce holds
/// [`Infallible`].
pub enum TryInsertError<Tbl: Table> {
    /// A unique column's value is already taken.
    UniqueConstraintViolation(Tbl::UniqueConstraintViolation),
    /// An auto-inc sequence overflowed.
    AutoIncOverflow(Tbl::AutoIncOverflow),
}

impl<Tbl: Table> fmt::Debug for TryInsertError<Tbl> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TryInsertError::<{}>::", Tbl::TABLE_NAME)?;
        match self {
            Self::UniqueConstraintViolation(e) => fmt::Debug::fmt(e, f),
            Self::AutoIncOverflow(e) => fmt::Debug::fmt(e, f),
        }
    }
}

impl<Tbl: Table> fmt::Display for TryInsertError<Tbl> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "insertion error on table `{}`:", Tbl::TABLE_NAME)?;
        match self {
            Self::UniqueConstraintViolation(e) => fmt::Display::fmt(e, f),
            Self::AutoIncOverflow(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl<Tbl: Table> std::error::Error for TryInsertError<Tbl> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(match self {
            Self::UniqueConstraintViolation(e) => e,
            Self::AutoIncOverflow(e) => e,
        })
    }
}

impl<Tbl: Table> From<TryInsertError<Tbl>> for String {
    fn from(err: TryInsertError<Tbl>) -> Self {
        err.to_string()
    }
}

/// An error type that a table either can produce (`E` itself) or cannot ([`Infallible`]).
#[doc(hidden)]
pub trait MaybeError<E = Self>: std::error::Error + Send + Sync + Sized + 'static {
    /// The error, if the table can produce it.
    fn get() -> Option<Self>;
}

impl<E> MaybeError<E> for Infallible {
    fn get() -> Option<Self> {
        None
    }
}

impl MaybeError for UniqueConstraintViolation {
    fn get() -> Option<Self> {
        Some(UniqueConstraintViolation)
    }
}

impl MaybeError for AutoIncOverflow {
    fn get() -> Option<Self> {
        Some(AutoIncOverflow)
    }
}

/// An index of a table, identified by a marker type `#[table]` generates.
#[doc(hidden)]
pub trait Index {
    /// How many columns the index covers; a ranged argument giving all of them as values
    /// is a point lookup.
    const NUM_COLS_INDEXED: usize;
    /// The index id, resolved once by name.
    fn index_id() -> IndexId;
}

/// A unique index over one column.
#[doc(hidden)]
pub trait Column: Index {
    /// The table.
    type Table: Table;
    /// The column type.
    type ColType: SpacetimeType + Encode + Decode;
    /// The column's value in `row`.
    fn get_field(row: &<Self::Table as Table>::Row) -> &Self::ColType;
}

/// Marks the unique index of the primary key, the only one [`UniqueColumn::update`] works on.
#[doc(hidden)]
pub trait PrimaryKey {}

/// Marks a btree index, which supports ranges.
#[doc(hidden)]
pub trait IndexIsRanged: Index {}

/// Marks a hash index, which supports only whole-key lookups.
#[doc(hidden)]
pub trait IndexIsPointed: Index {}

/// The handle of a `#[unique]` or `#[primary_key]` column: `ctx.db.t().col()`.
pub struct UniqueColumn<Tbl, ColType, Idx> {
    _marker: PhantomData<(Tbl, ColType, Idx)>,
}

impl<Tbl: Table, Idx: Column<Table = Tbl>> UniqueColumn<Tbl, Idx::ColType, Idx> {
    #[doc(hidden)]
    pub const __NEW: Self = Self { _marker: PhantomData };

    /// The row whose column equals `value`, if any.
    pub fn find(&self, value: impl Borrow<Idx::ColType>) -> Option<Tbl::Row>
    where
        for<'a> &'a Idx::ColType: FilterableValue,
    {
        let point = spacetime_sats::bsatn::to_vec(value.borrow());
        let iter = sys::datastore_index_scan_point_bsatn(Idx::index_id(), &point)
            .unwrap_or_else(|e| panic!("looking up a row of `{}` failed: {e}", Tbl::TABLE_NAME));
        TableIter::new(iter).next()
    }

    /// Deletes the row whose column equals `value`; returns whether there was one.
    pub fn delete(&self, value: impl Borrow<Idx::ColType>) -> bool {
        let point = spacetime_sats::bsatn::to_vec(value.borrow());
        let deleted = sys::datastore_delete_by_index_scan_point_bsatn(Idx::index_id(), &point)
            .unwrap_or_else(|e| panic!("deleting a row of `{}` failed: {e}", Tbl::TABLE_NAME));
        deleted > 0
    }

    /// Replaces the row that has `new_row`'s primary key with `new_row`, and returns it with
    /// generated columns filled in.
    ///
    /// # Panics
    /// If no row has that primary key, or the new row violates a unique constraint.
    #[track_caller]
    pub fn update(&self, new_row: Tbl::Row) -> Tbl::Row
    where
        Idx: PrimaryKey,
    {
        let mut row = new_row;
        let mut buf = spacetime_sats::bsatn::to_vec(&row);
        match sys::datastore_update_bsatn(Tbl::table_id(), Idx::index_id(), &mut buf) {
            Ok(generated) => {
                Tbl::integrate_generated_columns(&mut row, generated);
                row
            }
            Err(e) => panic!("updating a row of `{}` failed: {e}", Tbl::TABLE_NAME),
        }
    }
}

/// The handle of a btree index: `ctx.db.t().index()`. `Cols` is the tuple of the indexed
/// column types.
pub struct RangedIndex<Tbl, Cols, Idx> {
    _marker: PhantomData<(Tbl, Cols, Idx)>,
}

impl<Tbl: Table, Cols, Idx: IndexIsRanged> RangedIndex<Tbl, Cols, Idx> {
    #[doc(hidden)]
    pub const __NEW: Self = Self { _marker: PhantomData };

    /// The rows matching `b`: a prefix of column values whose last element may be a range,
    /// such as `x`, `(x, y)`, `(x, 1..5)` or `..=5`.
    pub fn filter<B, K>(&self, b: B) -> impl Iterator<Item = Tbl::Row> + use<B, K, Tbl, Cols, Idx>
    where
        B: IndexScanRangeBounds<Cols, K>,
    {
        let index_id = Idx::index_id();
        let iter = if B::POINT && B::COLS_PROVIDED == Idx::NUM_COLS_INDEXED {
            let mut point = Vec::new();
            b.encode_point(&mut point);
            sys::datastore_index_scan_point_bsatn(index_id, &point)
        } else {
            let args = b.range_args();
            let (prefix, prefix_elems, rstart, rend) = args.parts();
            sys::datastore_index_scan_range_bsatn(index_id, prefix, prefix_elems, rstart, rend)
        };
        TableIter::new(iter.unwrap_or_else(|e| panic!("scanning an index of `{}` failed: {e}", Tbl::TABLE_NAME)))
    }

    /// Deletes the rows matching `b` (as in [`RangedIndex::filter`]) and returns the count.
    pub fn delete<B, K>(&self, b: B) -> u64
    where
        B: IndexScanRangeBounds<Cols, K>,
    {
        let index_id = Idx::index_id();
        let deleted = if B::POINT && B::COLS_PROVIDED == Idx::NUM_COLS_INDEXED {
            let mut point = Vec::new();
            b.encode_point(&mut point);
            sys::datastore_delete_by_index_scan_point_bsatn(index_id, &point)
        } else {
            let args = b.range_args();
            let (prefix, prefix_elems, rstart, rend) = args.parts();
            sys::datastore_delete_by_index_scan_range_bsatn(index_id, prefix, prefix_elems, rstart, rend)
        };
        deleted
            .map(u64::from)
            .unwrap_or_else(|e| panic!("deleting rows of `{}` failed: {e}", Tbl::TABLE_NAME))
    }
}

/// The handle of a hash index: `ctx.db.t().index()`. Only whole keys can be looked up.
pub struct PointIndex<Tbl, Cols, Idx> {
    _marker: PhantomData<(Tbl, Cols, Idx)>,
}

impl<Tbl: Table, Cols, Idx: IndexIsPointed> PointIndex<Tbl, Cols, Idx> {
    #[doc(hidden)]
    pub const __NEW: Self = Self { _marker: PhantomData };

    /// The rows whose key equals `point` (one value per indexed column: `x` or `(x, y)`).
    pub fn filter<P, K>(&self, point: P) -> impl Iterator<Item = Tbl::Row> + use<P, K, Tbl, Cols, Idx>
    where
        P: WithPointArg<Cols, K>,
    {
        let mut key = Vec::new();
        point.encode_point(&mut key);
        let iter = sys::datastore_index_scan_point_bsatn(Idx::index_id(), &key)
            .unwrap_or_else(|e| panic!("scanning an index of `{}` failed: {e}", Tbl::TABLE_NAME));
        TableIter::new(iter)
    }

    /// Deletes the rows whose key equals `point` and returns the count.
    pub fn delete<P, K>(&self, point: P) -> u64
    where
        P: WithPointArg<Cols, K>,
    {
        let mut key = Vec::new();
        point.encode_point(&mut key);
        sys::datastore_delete_by_index_scan_point_bsatn(Idx::index_id(), &key)
            .map(u64::from)
            .unwrap_or_else(|e| panic!("deleting rows of `{}` failed: {e}", Tbl::TABLE_NAME))
    }
}

/// The read-only handle of a `#[unique]` or `#[primary_key]` column:
/// `ctx.db_read_only().t().col()`.
pub struct UniqueColumnReadOnly<Tbl, ColType, Idx> {
    _marker: PhantomData<(Tbl, ColType, Idx)>,
}

impl<Tbl: Table, Idx: Column<Table = Tbl>> UniqueColumnReadOnly<Tbl, Idx::ColType, Idx> {
    #[doc(hidden)]
    pub const __NEW: Self = Self { _marker: PhantomData };

    /// The row whose column equals `value`, if any.
    pub fn find(&self, value: impl Borrow<Idx::ColType>) -> Option<Tbl::Row>
    where
        for<'a> &'a Idx::ColType: FilterableValue,
    {
        UniqueColumn::<Tbl, Idx::ColType, Idx>::__NEW.find(value)
    }
}

/// The read-only handle of a btree index: `ctx.db_read_only().t().index()`.
pub struct RangedIndexReadOnly<Tbl, Cols, Idx> {
    _marker: PhantomData<(Tbl, Cols, Idx)>,
}

impl<Tbl: Table, Cols, Idx: IndexIsRanged> RangedIndexReadOnly<Tbl, Cols, Idx> {
    #[doc(hidden)]
    pub const __NEW: Self = Self { _marker: PhantomData };

    /// The rows matching `b`, as in [`RangedIndex::filter`].
    pub fn filter<B, K>(&self, b: B) -> impl Iterator<Item = Tbl::Row> + use<B, K, Tbl, Cols, Idx>
    where
        B: IndexScanRangeBounds<Cols, K>,
    {
        RangedIndex::<Tbl, Cols, Idx>::__NEW.filter(b)
    }
}

/// The read-only handle of a hash index: `ctx.db_read_only().t().index()`.
pub struct PointIndexReadOnly<Tbl, Cols, Idx> {
    _marker: PhantomData<(Tbl, Cols, Idx)>,
}

impl<Tbl: Table, Cols, Idx: IndexIsPointed> PointIndexReadOnly<Tbl, Cols, Idx> {
    #[doc(hidden)]
    pub const __NEW: Self = Self { _marker: PhantomData };

    /// The rows whose key equals `point`, as in [`PointIndex::filter`].
    pub fn filter<P, K>(&self, point: P) -> impl Iterator<Item = Tbl::Row> + use<P, K, Tbl, Cols, Idx>
    where
        P: WithPointArg<Cols, K>,
    {
        PointIndex::<Tbl, Cols, Idx>::__NEW.filter(point)
    }
}

/// An integer column type that can carry `#[auto_inc]`: the value 0 asks the host for the
/// next value of the sequence.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[auto_inc]` needs an integer column, but `{Self}` is not an integer type",
    label = "not an integer",
    note = "use one of u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, u256, i256, or remove `#[auto_inc]`"
)]
pub trait SequenceTrigger: Sized + Decode {
    /// Whether the value asks for generation.
    fn is_sequence_trigger(&self) -> bool;

    /// Replaces a trigger value with the next generated value from `generated`.
    fn maybe_decode_into(&mut self, generated: &mut &[u8]) {
        if self.is_sequence_trigger() {
            *self = Self::decode(generated).unwrap_or_else(|e| {
                panic!("the host returned no generated value for an auto-inc column that was 0: {e}")
            });
        }
    }
}

macro_rules! sequence_trigger {
    ($($ty:ty => $zero:expr),*) => {$(
        impl SequenceTrigger for $ty {
            fn is_sequence_trigger(&self) -> bool {
                *self == $zero
            }
        }
    )*};
}

sequence_trigger!(
    u8 => 0, u16 => 0, u32 => 0, u64 => 0, u128 => 0, i8 => 0, i16 => 0, i32 => 0, i64 => 0, i128 => 0,
    u256 => u256::ZERO, i256 => i256::ZERO
);

#[track_caller]
fn insert<Tbl: Table>(mut row: Tbl::Row) -> Result<Tbl::Row, TryInsertError<Tbl>> {
    let mut buf = spacetime_sats::bsatn::to_vec(&row);
    match sys::datastore_insert_bsatn(Tbl::table_id(), &mut buf) {
        Ok(generated) => {
            Tbl::integrate_generated_columns(&mut row, generated);
            Ok(row)
        }
        Err(e) => {
            let err = if e == sys::Errno::UNIQUE_ALREADY_EXISTS {
                Tbl::UniqueConstraintViolation::get().map(TryInsertError::UniqueConstraintViolation)
            } else if e == sys::Errno::AUTO_INC_OVERFLOW {
                Tbl::AutoIncOverflow::get().map(TryInsertError::AutoIncOverflow)
            } else {
                None
            };
            Err(err.unwrap_or_else(|| panic!("inserting into `{}` failed: {e}", Tbl::TABLE_NAME)))
        }
    }
}

/// Decodes the rows of a host iterator, fetching chunks as needed.
struct TableIter<T> {
    inner: sys::RowIter,
    buf: Vec<u8>,
    pos: usize,
    _marker: PhantomData<T>,
}

impl<T: Decode> TableIter<T> {
    fn new(inner: sys::RowIter) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            pos: 0,
            _marker: PhantomData,
        }
    }
}

impl<T: Decode> Iterator for TableIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        loop {
            if self.pos < self.buf.len() {
                let mut rest = &self.buf[self.pos..];
                let before = rest.len();
                let row =
                    T::decode(&mut rest).unwrap_or_else(|e| panic!("the host sent a row that does not decode: {e}"));
                self.pos += before - rest.len();
                return Some(row);
            }
            if self.inner.is_exhausted() {
                return None;
            }
            self.buf.clear();
            self.pos = 0;
            self.inner
                .read(&mut self.buf)
                .unwrap_or_else(|e| panic!("reading rows failed: {e}"));
        }
    }
}
