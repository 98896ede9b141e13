//! [`SqlError`]: everything that can go wrong between SQL text and a result, each
//! with a message that names the problem and, where there is one, the fix.

use spacetime_datastore::DatastoreError;

/// Why a SQL statement was rejected or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// The text is not SQL that `sqlparser` understands.
    #[error("syntax error: {0}")]
    Parse(String),
    /// Valid SQL outside the supported subset.
    #[error("unsupported: {what}; {fix}")]
    Unsupported {
        /// What was used.
        what: String,
        /// What to write instead.
        fix: String,
    },
    /// No table of this name is visible to the caller. Private tables look exactly
    /// like missing ones to non-owners.
    #[error("no such table: `{0}`. If the table exists, it may be marked private.")]
    NoSuchTable(String),
    /// A column reference that names no column.
    #[error("no such column: `{column}` in {scope}")]
    NoSuchColumn {
        /// The column as written.
        column: String,
        /// Where it was looked for (`table \`t\``, or the tables of the query).
        scope: String,
    },
    /// A name that needs (or has the wrong) table qualifier.
    #[error("{0}")]
    Name(String),
    /// A literal or column that does not fit the type it is used at.
    #[error("type error: {0}")]
    Type(String),
    /// The statement is over a size or nesting limit; the message names the limit, its
    /// value and what to write instead.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// A result whose rows, encoded, pass the budget its reader set
    /// ([`select_bsatn`](crate::exec::select_bsatn)); the scan stopped there.
    #[error("the result is larger than {limit} bytes")]
    ResultTooLarge {
        /// The budget, in bytes.
        limit: usize,
    },
    /// A statement only the database owner may run.
    #[error("permission denied: {0}")]
    NotOwner(String),
    /// DML that names a view.
    #[error("`{0}` is a view, and views are read-only: change the tables it reads (in a reducer) and its rows follow")]
    ReadOnlyView(String),
    /// The datastore refused a change (a unique violation, say).
    #[error("{0}")]
    Datastore(#[from] DatastoreError),
}

impl SqlError {
    pub(crate) fn unsupported(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Unsupported {
            what: what.into(),
            fix: fix.into(),
        }
    }
}
