//! In-memory tables, indexes, constraints, sequences and transactions.
//!
//! # Brief overview
//! - [`Datastore`] holds the tables of one database. [`Datastore::create_table`] makes
//!   a table from a validated [`TableDef`](spacetime_sats::def::model::TableDef); the
//!   read methods ([`row_count`](Datastore::row_count), [`scan`](Datastore::scan),
//!   [`index_scan_point`](Datastore::index_scan_point),
//!   [`index_scan_range`](Datastore::index_scan_range) and their `_bsatn` forms that
//!   take the module ABI's encodings) yield [`RowRef`]s: the row's BSATN bytes, which
//!   decode cheaply into a `ProductValue`.
//! - [`Datastore::begin_mut_tx`] opens a [`MutTx`]: inserts, updates and deletes in
//!   the shape of the module ABI's host calls, then [`MutTx::commit`] (returning the
//!   [`TxData`] of net inserted and deleted rows) or [`MutTx::rollback`].
//! - [`DatastoreError`] is the one error type; [`DatastoreError::errno`] maps it to the
//!   ABI's [`Errno`](spacetime_sats::Errno).
//!
//! # Design
//! One writer owns the datastore (the database's actor thread), so there are no locks.
//! A transaction changes the committed state in place and keeps an undo log; rollback
//! replays it backwards. Rows are stored once, as BSATN bytes in a per-table slab
//! addressed by [`RowPointer`]. Tables are sets: inserting a row identical to an
//! existing one is a no-op. Indexes map the values of their columns to row pointers;
//! unique indexes (primary keys, unique constraints) map a key to one row, so a
//! primary-key lookup is one probe, and an update moves the row only in the indexes
//! whose columns changed.
//!
//! **Architecture invariant:** knows nothing of wasmtime, HTTP, JSON or SQL text.
#![deny(missing_docs)]

mod builder;
mod datastore;
mod display;
mod error;
mod index;
mod layout;
mod sequence;
mod table;
mod tx;

pub use builder::TableBuilder;
pub use datastore::{Datastore, IndexKey, IndexScan, RowRef, TableScan, FIRST_USER_TABLE_ID};
pub use display::display_value;
pub use error::{DatastoreError, Result};
pub use index::IndexKind;
pub use table::{IndexSchema, TableSchema};
pub use tx::{DecodedChanges, MutTx, TableChanges, TxData};

/// Where a row lives in its table's slab. Stable while the row is live; a slot freed
/// by a committed delete may be reused by a later insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowPointer(pub(crate) u32);

impl RowPointer {
    pub(crate) fn idx(self) -> usize {
        self.0 as usize
    }
}
