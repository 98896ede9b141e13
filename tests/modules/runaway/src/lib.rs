//! A reducer that never returns (the host must stop it) next to one that counts, to show
//! that the database keeps working after the runaway call is stopped.

use spacetimedb::{reducer, table, ReducerContext, Table};

#[table(accessor = counter, public)]
pub struct Counter {
    #[primary_key]
    id: u32,
    count: u64,
}

/// Loops forever; `black_box` keeps the loop from being optimised away.
#[reducer]
pub fn spin(_ctx: &ReducerContext) {
    let mut i: u64 = 0;
    loop {
        i = std::hint::black_box(i.wrapping_add(1));
    }
}

/// Adds one to the counter.
#[reducer]
pub fn bump(ctx: &ReducerContext) {
    let count = ctx.db.counter().id().find(0).map_or(0, |c| c.count) + 1;
    ctx.db.counter().id().delete(0);
    ctx.db.counter().insert(Counter { id: 0, count });
}
