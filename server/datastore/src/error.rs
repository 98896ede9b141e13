//! [`DatastoreError`], the one error type of the datastore, and its mapping onto the
//! module ABI's errno codes (the table in [`spacetime_sats::errno`]).

use spacetime_sats::bsatn::DecodeError;
use spacetime_sats::{Errno, IndexId, TableId};

/// Why a datastore operation failed. A failed operation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatastoreError {
    /// No table has this id.
    #[error("no such table: there is no table with id {0}")]
    NoSuchTable(TableId),
    /// No table has this canonical or accessor name.
    #[error("no such table: `{0}`")]
    NoSuchTableName(String),
    /// No index has this id.
    #[error("no such index: there is no index with id {0}")]
    NoSuchIndex(IndexId),
    /// No index has this name.
    #[error("no such index: `{0}`; index names look like `{{table}}_{{col}}_idx_btree`")]
    NoSuchIndexName(String),
    /// The index exists but belongs to another table than the one named.
    #[error("index `{index}` does not belong to table `{table}`")]
    IndexNotOnTable {
        /// The index's name.
        index: String,
        /// The table that was named.
        table: String,
    },
    /// A range scan was asked of a hash index.
    #[error(
        "index `{index}` is a hash index, which supports only point lookups; declare a btree index for range scans"
    )]
    WrongIndexAlgo {
        /// The index's name.
        index: String,
    },
    /// The input bytes are not BSATN of the expected type.
    #[error("invalid BSATN for {context}: {source}")]
    Decode {
        /// What was being decoded (a row of a table, an index key, …).
        context: String,
        /// What was wrong with the bytes.
        source: DecodeError,
    },
    /// An insert or update would give two rows the same value on unique columns.
    #[error(
        "duplicate unique value: constraint `{constraint}` on table `{table}` already has a row with value {value}"
    )]
    UniqueConstraintViolation {
        /// The constraint's name.
        constraint: String,
        /// The table's name.
        table: String,
        /// The duplicated value of the constrained columns.
        value: String,
    },
    /// A sequence has no value left.
    #[error("sequence `{sequence}` is exhausted: its next value would pass {limit}")]
    AutoIncOverflow {
        /// The sequence's name.
        sequence: String,
        /// The last value the sequence may produce.
        limit: i128,
    },
    /// An update named an index that is not unique.
    #[error("index `{index}` is not unique; an update finds the row to replace through a unique index such as the primary key")]
    IndexNotUnique {
        /// The index's name.
        index: String,
    },
    /// An update found no existing row with the new row's key.
    #[error(
        "no such row: table `{table}` has no row with value {value} in index `{index}` to update; insert it instead"
    )]
    NoSuchRow {
        /// The table's name.
        table: String,
        /// The unique index that was probed.
        index: String,
        /// The key that was not found.
        value: String,
    },
    /// A table of the same name was already created.
    #[error("table `{0}` already exists")]
    TableExists(String),
    /// A table definition the datastore cannot hold.
    #[error("invalid definition of table `{table}`: {reason}")]
    InvalidSchema {
        /// The table's name.
        table: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl DatastoreError {
    /// The module ABI errno a host call returns for this error.
    pub fn errno(&self) -> Errno {
        match self {
            Self::NoSuchTable(_) | Self::NoSuchTableName(_) => Errno::NO_SUCH_TABLE,
            Self::NoSuchIndex(_) | Self::NoSuchIndexName(_) | Self::IndexNotOnTable { .. } => Errno::NO_SUCH_INDEX,
            Self::WrongIndexAlgo { .. } => Errno::WRONG_INDEX_ALGO,
            Self::Decode { .. } => Errno::BSATN_DECODE_ERROR,
            Self::UniqueConstraintViolation { .. } => Errno::UNIQUE_ALREADY_EXISTS,
            Self::AutoIncOverflow { .. } => Errno::AUTO_INC_OVERFLOW,
            Self::IndexNotUnique { .. } => Errno::INDEX_NOT_UNIQUE,
            Self::NoSuchRow { .. } => Errno::NO_SUCH_ROW,
            Self::TableExists(_) | Self::InvalidSchema { .. } => Errno::HOST_CALL_FAILURE,
        }
    }

    pub(crate) fn decode(context: impl Into<String>, source: DecodeError) -> Self {
        Self::Decode {
            context: context.into(),
            source,
        }
    }
}

/// The datastore's result type.
pub type Result<T, E = DatastoreError> = std::result::Result<T, E>;
