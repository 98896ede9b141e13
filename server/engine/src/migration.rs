//! The data side of a module update: from the datastore the old module ran on and an
//! automatic [`Plan`], the datastore the new module runs on, or why the rows do not
//! allow it.
//!
//! The new datastore is built beside the old one (tables from the new definition, every
//! kept row copied, added columns filled with their defaults, sequences carried over),
//! so a refusal leaves the old one untouched, and the swap is one assignment in the
//! actor. The checks that need rows happen here: a removed table must be empty, and a
//! new unique constraint must hold (the insert that breaks it names the duplicate).

use crate::error::CreateTableError;
use crate::schema_change::create_tables;
use crate::storage::record::{advance_sequences, RecordError};
use spacetime_datastore::{Datastore, DatastoreError};
use spacetime_migrate::{Plan, Step};
use spacetime_sats::bsatn::value::encode_value;
use spacetime_sats::def::model::ModuleDef;

/// Why the rows do not allow an automatic plan; the old module keeps running.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// A table to remove still holds rows.
    #[error(
        "table `{table}` was removed from the module but holds {rows} row(s); delete them first (or republish \
         with --delete-data to clear the database), or keep the table"
    )]
    TableNotEmpty {
        /// The table.
        table: String,
        /// How many rows it holds.
        rows: u64,
    },
    /// The existing rows break a new unique constraint (or primary key).
    #[error("the existing rows of table `{table}` break a unique constraint the update adds: {source}; remove the duplicates first, or drop the constraint")]
    Duplicate {
        /// The table.
        table: String,
        /// The datastore's error, naming the constraint and the duplicate value.
        source: DatastoreError,
    },
    /// The new module's tables cannot be created.
    #[error(transparent)]
    Tables(#[from] CreateTableError),
    /// A row or sequence could not be carried over (a bug, or a damaged datastore).
    #[error("cannot carry the rows of table `{table}` over: {source}")]
    Copy {
        /// The table.
        table: String,
        /// The datastore's error.
        source: DatastoreError,
    },
    /// The sequences could not be moved past the copied values.
    #[error("cannot carry a sequence over: {0}")]
    Sequence(#[from] RecordError),
}

/// Builds the datastore of `new` from `old` following `plan`.
///
/// # Errors
/// [`MigrationError`]: every non-empty removed table is named (in the first error);
/// otherwise the first duplicate found.
pub(crate) fn migrate(old: &Datastore, plan: &Plan, new: &ModuleDef) -> Result<Datastore, MigrationError> {
    for step in &plan.steps {
        if let Step::RemoveTable { table } = step {
            let rows = old
                .table_id_from_name(table)
                .and_then(|id| old.row_count(id))
                .unwrap_or(0);
            if rows > 0 {
                return Err(MigrationError::TableNotEmpty {
                    table: table.clone(),
                    rows,
                });
            }
        }
    }
    let mut ds = Datastore::new();
    create_tables(&mut ds, new.tables.iter(), new)?;
    for table in &new.tables {
        let Ok(old_id) = old.table_id_from_name(&table.name) else {
            continue;
        };
        let copy_err = |source| MigrationError::Copy {
            table: table.name.clone(),
            source,
        };
        let new_id = ds.table_id_from_name(&table.name).map_err(copy_err)?;
        // BSATN of a row is its columns' encodings in order, so new columns at the end
        // are their defaults' encodings appended to each old row.
        let old_columns = old.table_schema(old_id).map_err(copy_err)?.def.columns.len();
        let mut suffix = Vec::new();
        for column in &table.columns[old_columns.min(table.columns.len())..] {
            if let Some((_, value)) = table.default_values.iter().find(|(c, _)| *c == column.col_id) {
                encode_value(value, &mut suffix);
            }
        }
        let rows: Vec<Box<[u8]>> = old
            .scan(old_id)
            .map_err(copy_err)?
            .map(|row| [row.bytes(), &suffix].concat().into_boxed_slice())
            .collect();
        let mut tx = ds.begin_mut_tx();
        for row in &rows {
            tx.insert_bsatn(new_id, row).map_err(|source| match source {
                DatastoreError::UniqueConstraintViolation { .. } => MigrationError::Duplicate {
                    table: table.name.clone(),
                    source,
                },
                source => MigrationError::Copy {
                    table: table.name.clone(),
                    source,
                },
            })?;
        }
        tx.commit();
        advance_sequences(&mut ds, new_id, &table.name, &rows)?;
        // Values handed out for rows deleted since are in the old sequence state.
        for (column, next) in old.sequence_states(old_id).map_err(copy_err)? {
            let sequence = table.sequences.iter().find(|s| s.column == column);
            if let Some(past) = sequence.zip(next).and_then(|(s, next)| next.checked_sub(s.increment)) {
                ds.advance_sequence_past(new_id, column, past).map_err(copy_err)?;
            }
        }
    }
    Ok(ds)
}

#[cfg(test)]
#[path = "migration_tests.rs"]
pub(crate) mod tests;
