//! The smoketests' "panic" and "panic-error": reducers write a row and then fail, by
//! panicking or by returning `Err`; neither write may survive.

use spacetimedb::{reducer, table, ReducerContext, Table};

/// Rows written by the reducers below.
#[table(accessor = item, public)]
pub struct Item {
    name: String,
}

/// Writes a row and succeeds.
#[reducer]
pub fn insert(ctx: &ReducerContext, name: String) {
    ctx.db.item().insert(Item { name });
}

/// Writes a row, then panics.
#[reducer]
pub fn insert_then_panic(ctx: &ReducerContext, name: String) {
    ctx.db.item().insert(Item { name: name.clone() });
    panic!("This is a panic while inserting {name}");
}

/// Writes a row, then returns an error.
#[reducer]
pub fn insert_then_fail(ctx: &ReducerContext, name: String) -> Result<(), String> {
    ctx.db.item().insert(Item { name });
    Err("oopsie :(".to_string())
}
