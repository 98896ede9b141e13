//! A module: tables hold the data, reducers change it, each call one transaction.
//!
//! Try it:
//!     spacetime publish
//!     spacetime call add Alice
//!     spacetime call say_hello
//!     spacetime logs
//!     spacetime sql "SELECT * FROM person"

use spacetimedb::{reducer, table, ReducerContext, Table};

/// Everyone who was added.
#[table(accessor = person, public)]
pub struct Person {
    name: String,
}

/// Adds a person.
#[reducer]
pub fn add(ctx: &ReducerContext, name: String) {
    ctx.db.person().insert(Person { name });
}

/// Greets everyone in the module's log.
#[reducer]
pub fn say_hello(ctx: &ReducerContext) {
    for person in ctx.db.person().iter() {
        log::info!("Hello, {}!", person.name);
    }
    log::info!("Hello, World!");
}
