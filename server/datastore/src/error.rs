//! [`DatastoreError`], the one error type of the datastore, and its mapping onto the
//! module ABI's errno codes (`shared/reference/module-api.md` §2.3).

use spacetime_sats::bsatn::DecodeError;
use spacetime_sats::{IndexId, TableId};

/// The errno codes of the module ABI that datastore failures map to.
///
/// Only the codes a datastore operation can produce are here; the host owns the rest
/// (iterators, byte sources, transactions).
pub mod errno {
    /// An unexpected failure of the host (here: a schema the datastore cannot hold).
    pub const HOST_CALL_FAILURE: u16 = 1;
    /// The input did not decode as BSATN of the expected type.
    pub const BSATN_DECODE_ERROR: u16 = 3;
    /// No table has the given id or name.
    pub const NO_SUCH_TABLE: u16 = 4;
    /// No index has the given id or name.
    pub const NO_SUCH_INDEX: u16 = 5;
    /// A range scan was asked of a hash index.
    pub const WRONG_INDEX_ALGO: u16 = 10;
    /// A unique constraint would be violated.
    pub const UNIQUE_ALREADY_EXISTS: u16 = 12;
    /// An update named an index that is not unique.
    pub const INDEX_NOT_UNIQUE: u16 = 14;
    /// An update found no row to replace.
    pub const NO_SUCH_ROW: u16 = 15;
    /// A sequence ran past its last value.
    pub const AUTO_INC_OVERFLOW: u16 = 16;
}

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
    /// The module ABI errno code a host call returns for this error.
    pub fn errno(&self) -> u16 {
        match self {
            Self::NoSuchTable(_) | Self::NoSuchTableName(_) => errno::NO_SUCH_TABLE,
            Self::NoSuchIndex(_) | Self::NoSuchIndexName(_) | Self::IndexNotOnTable { .. } => errno::NO_SUCH_INDEX,
            Self::WrongIndexAlgo { .. } => errno::WRONG_INDEX_ALGO,
            Self::Decode { .. } => errno::BSATN_DECODE_ERROR,
            Self::UniqueConstraintViolation { .. } => errno::UNIQUE_ALREADY_EXISTS,
            Self::AutoIncOverflow { .. } => errno::AUTO_INC_OVERFLOW,
            Self::IndexNotUnique { .. } => errno::INDEX_NOT_UNIQUE,
            Self::NoSuchRow { .. } => errno::NO_SUCH_ROW,
            Self::TableExists(_) | Self::InvalidSchema { .. } => errno::HOST_CALL_FAILURE,
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
