//! Creating a module's tables in a datastore: at start, for a module update's new
//! datastore ([`crate::migration`]), and to check a module at publish. Which updates
//! keep the data is the migration planner's ([`spacetime_migrate`]).

use crate::error::CreateTableError;
use spacetime_datastore::Datastore;
use spacetime_sats::def::model::{ModuleDef, TableDef};

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
