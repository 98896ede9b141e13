//! Which module updates keep the data: the rules of a hot swap without a migration.
//!
//! An update is accepted when every existing table is unchanged (same columns and
//! types, keys, indexes, constraints, sequences, schedule and access) and new tables
//! are only added. Anything else needs a manual migration, and the publisher is told
//! to clear the database instead; the old module keeps running.

use crate::error::{CreateTableError, UpdateError};
use spacetime_datastore::Datastore;
use spacetime_sats::def::model::{ModuleDef, TableDef};
use spacetime_sats::{AlgebraicType, Typespace};

/// The tables of `new` that `old` lacks, if the update keeps every existing table.
///
/// # Errors
/// [`UpdateError::Incompatible`] naming the first incompatible change.
pub(crate) fn check_update<'a>(old: &ModuleDef, new: &'a ModuleDef) -> Result<Vec<&'a TableDef>, UpdateError> {
    let reject = |change: String| Err(UpdateError::Incompatible { change });
    for table in &old.tables {
        let Some(updated) = new.tables.iter().find(|t| t.name == table.name) else {
            return reject(format!("table `{}` was removed", table.name));
        };
        if let Some(change) = table_change(table, &old.typespace, updated, &new.typespace) {
            return reject(format!("table `{}` changed: {change}", table.name));
        }
    }
    Ok(new
        .tables
        .iter()
        .filter(|t| old.tables.iter().all(|o| o.name != t.name))
        .collect())
}

/// What differs between two versions of a table, if anything.
fn table_change(old: &TableDef, old_ts: &Typespace, new: &TableDef, new_ts: &Typespace) -> Option<&'static str> {
    if old.columns.len() != new.columns.len() {
        return Some("its columns were added or removed");
    }
    let columns_same = old
        .columns
        .iter()
        .zip(&new.columns)
        .all(|(a, b)| a.name == b.name && same_type(&a.ty, old_ts, &b.ty, new_ts));
    if !columns_same {
        return Some("a column was renamed, reordered or changed type");
    }
    if old.primary_key != new.primary_key {
        return Some("its primary key changed");
    }
    if old
        .unique_constraints
        .iter()
        .map(|c| &c.columns)
        .ne(new.unique_constraints.iter().map(|c| &c.columns))
    {
        return Some("its unique constraints changed");
    }
    if old
        .indexes
        .iter()
        .map(|i| &i.algorithm)
        .ne(new.indexes.iter().map(|i| &i.algorithm))
    {
        return Some("its indexes changed");
    }
    if old
        .sequences
        .iter()
        .map(|s| s.column)
        .ne(new.sequences.iter().map(|s| s.column))
    {
        return Some("its auto-increment columns changed");
    }
    if old.schedule.as_ref().map(|s| (&s.function_name, s.at_column))
        != new.schedule.as_ref().map(|s| (&s.function_name, s.at_column))
    {
        return Some("its schedule changed");
    }
    if old.access != new.access || old.table_type != new.table_type || old.is_event != new.is_event {
        return Some("its access or kind changed");
    }
    None
}

/// Structural equality of two types from different typespaces.
fn same_type(a: &AlgebraicType, ts_a: &Typespace, b: &AlgebraicType, ts_b: &Typespace) -> bool {
    let (Ok(a), Ok(b)) = (ts_a.resolve(a), ts_b.resolve(b)) else {
        return false;
    };
    match (a, b) {
        (AlgebraicType::Product(x), AlgebraicType::Product(y)) => {
            x.elements.len() == y.elements.len()
                && x.elements
                    .iter()
                    .zip(&y.elements)
                    .all(|(p, q)| p.name == q.name && same_type(&p.algebraic_type, ts_a, &q.algebraic_type, ts_b))
        }
        (AlgebraicType::Sum(x), AlgebraicType::Sum(y)) => {
            x.variants.len() == y.variants.len()
                && x.variants
                    .iter()
                    .zip(&y.variants)
                    .all(|(p, q)| p.name == q.name && same_type(&p.algebraic_type, ts_a, &q.algebraic_type, ts_b))
        }
        (AlgebraicType::Array(x), AlgebraicType::Array(y)) => same_type(&x.elem_ty, ts_a, &y.elem_ty, ts_b),
        (x, y) => x == y,
    }
}

/// Creates `tables` of `def` in `datastore`.
///
/// # Errors
/// The datastore's reason if it refuses one.
pub(crate) fn create_tables<'a>(
    datastore: &mut Datastore,
    tables: impl Iterator<Item = &'a TableDef>,
    def: &ModuleDef,
) -> Result<(), CreateTableError> {
    for table in tables {
        datastore
            .create_table(table, &def.typespace)
            .map_err(|source| CreateTableError {
                table: table.name.clone(),
                source,
            })?;
    }
    Ok(())
}
