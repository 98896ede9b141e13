//! The smoketests' "modules-basic": people are added by name and greeted in the logs.
//! `log_levels` writes one line at each level, for `logs --level`; `say_identity` takes an
//! identity argument.

use spacetimedb::{log, reducer, table, Identity, ReducerContext, Table};

/// Everyone who has been added.
#[table(accessor = person, public)]
pub struct Person {
    name: String,
}

/// Adds a person.
#[reducer]
pub fn add(ctx: &ReducerContext, name: String) {
    ctx.db.person().insert(Person { name });
}

/// Greets everyone, then the world.
#[reducer]
pub fn say_hello(ctx: &ReducerContext) {
    for person in ctx.db.person().iter() {
        log::info!("Hello, {}!", person.name);
    }
    log::info!("Hello, World!");
}

/// Greets an identity, which `call` accepts as bare hex, `0x` hex or SATS-JSON.
#[reducer]
pub fn say_identity(_ctx: &ReducerContext, who: Identity) {
    log::info!("Hello, {who}!");
}

/// One log line per level, each naming its level.
#[reducer]
pub fn log_levels(_ctx: &ReducerContext) {
    log::trace!("level trace");
    log::debug!("level debug");
    log::info!("level info");
    log::warn!("level warn");
    log::error!("level error");
}
