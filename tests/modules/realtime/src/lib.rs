//! The real-time end-to-end tests' module: `item` (a primary key, so a client sees
//! updates), `person` and `pet` (joinable on `pet.owner_id = person.id`, both sides
//! indexed), the private `secret`, and reducers that insert, update, delete, do nothing,
//! or change a row and then fail (by returning an error or by panicking), so a test can
//! check that a failed call changes nothing anywhere.

use spacetimedb::{reducer, table, ReducerContext, Table};

/// Things with a count; updates go through the primary key.
#[table(accessor = item, public)]
pub struct Item {
    #[primary_key]
    id: u32,
    name: String,
    count: u32,
}

/// People; the `id` is what pets point at.
#[table(accessor = person, public)]
pub struct Person {
    #[primary_key]
    id: u32,
    name: String,
}

/// Pets, each owned by a person (indexed, so subscriptions can join on it).
#[table(accessor = pet, public)]
pub struct Pet {
    #[primary_key]
    id: u32,
    #[index(btree)]
    owner_id: u32,
    name: String,
}

/// Only the database owner may read this table.
#[table(accessor = secret)]
pub struct Secret {
    #[primary_key]
    id: u32,
    value: String,
}

/// Inserts an item; a duplicate id is an error.
#[reducer]
pub fn insert_item(ctx: &ReducerContext, id: u32, name: String, count: u32) -> Result<(), String> {
    ctx.db
        .item()
        .try_insert(Item { id, name, count })
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Sets an item's count (an update through the primary key).
#[reducer]
pub fn set_count(ctx: &ReducerContext, id: u32, count: u32) -> Result<(), String> {
    let Some(item) = ctx.db.item().id().find(id) else {
        return Err(format!("no item with id {id}"));
    };
    ctx.db.item().id().update(Item { count, ..item });
    Ok(())
}

/// Deletes an item.
#[reducer]
pub fn delete_item(ctx: &ReducerContext, id: u32) {
    ctx.db.item().id().delete(id);
}

/// Inserts an item, bumps every other item's count, then fails: nothing must stick.
#[reducer]
pub fn insert_then_fail(ctx: &ReducerContext, id: u32) -> Result<(), String> {
    for item in ctx.db.item().iter() {
        ctx.db.item().id().update(Item {
            count: item.count + 1000,
            ..item
        });
    }
    ctx.db.item().insert(Item {
        id,
        name: "doomed".into(),
        count: 0,
    });
    Err(format!("insert_then_fail refuses item {id} after inserting it"))
}

/// Inserts an item, then panics: nothing must stick.
#[reducer]
pub fn insert_then_panic(ctx: &ReducerContext, id: u32) {
    ctx.db.item().insert(Item {
        id,
        name: "doomed".into(),
        count: 0,
    });
    panic!("insert_then_panic gives up on item {id}");
}

/// Does nothing; the caller still hears that it committed.
#[reducer]
pub fn noop(_ctx: &ReducerContext) {}

/// Inserts a person.
#[reducer]
pub fn add_person(ctx: &ReducerContext, id: u32, name: String) {
    ctx.db.person().insert(Person { id, name });
}

/// Renames a person (an update through the primary key).
#[reducer]
pub fn rename_person(ctx: &ReducerContext, id: u32, name: String) {
    ctx.db.person().id().update(Person { id, name });
}

/// Deletes a person (their pets stay, orphaned).
#[reducer]
pub fn delete_person(ctx: &ReducerContext, id: u32) {
    ctx.db.person().id().delete(id);
}

/// Inserts a pet owned by `owner_id`.
#[reducer]
pub fn add_pet(ctx: &ReducerContext, id: u32, owner_id: u32, name: String) {
    ctx.db.pet().insert(Pet { id, owner_id, name });
}

/// Gives a pet to another owner.
#[reducer]
pub fn move_pet(ctx: &ReducerContext, id: u32, owner_id: u32) -> Result<(), String> {
    let Some(pet) = ctx.db.pet().id().find(id) else {
        return Err(format!("no pet with id {id}"));
    };
    ctx.db.pet().id().update(Pet { owner_id, ..pet });
    Ok(())
}

/// Deletes a pet.
#[reducer]
pub fn delete_pet(ctx: &ReducerContext, id: u32) {
    ctx.db.pet().id().delete(id);
}

/// Inserts a secret.
#[reducer]
pub fn add_secret(ctx: &ReducerContext, id: u32, value: String) {
    ctx.db.secret().insert(Secret { id, value });
}
