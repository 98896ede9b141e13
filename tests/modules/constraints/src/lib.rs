//! The smoketests' "autoinc-unique": a person has an auto-incremented primary key and a
//! unique name. `add_with_id` sets the key by hand, so the sequence can collide with it.

use spacetimedb::{log, reducer, table, ReducerContext, Table};

/// People, numbered by a sequence.
#[table(accessor = person, public)]
pub struct Person {
    #[primary_key]
    #[auto_inc]
    id: u64,
    #[unique]
    name: String,
}

/// Adds a person with the next id, logging it.
#[reducer]
pub fn add(ctx: &ReducerContext, name: String) -> Result<(), String> {
    let person = ctx
        .db
        .person()
        .try_insert(Person { id: 0, name })
        .map_err(|e| e.to_string())?;
    log::info!("Inserted {} with id {}", person.name, person.id);
    Ok(())
}

/// Adds a person with a chosen id.
#[reducer]
pub fn add_with_id(ctx: &ReducerContext, id: u64, name: String) -> Result<(), String> {
    ctx.db
        .person()
        .try_insert(Person { id, name })
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Renames the person `id` (an update through the primary key).
#[reducer]
pub fn rename(ctx: &ReducerContext, id: u64, name: String) -> Result<(), String> {
    if ctx.db.person().id().find(id).is_none() {
        return Err(format!("no person with id {id}"));
    }
    ctx.db.person().id().update(Person { id, name });
    Ok(())
}

/// Removes the person called `name`.
#[reducer]
pub fn remove(ctx: &ReducerContext, name: String) {
    ctx.db.person().name().delete(&name);
}
