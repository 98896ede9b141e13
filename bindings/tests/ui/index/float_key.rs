use spacetimedb::{reducer, table, ReducerContext};

#[table(accessor = reading)]
struct Reading {
    #[index(btree)]
    value: u32,
}

#[reducer]
fn lookup(ctx: &ReducerContext) {
    for _ in ctx.db.reading().value().filter(1.5f32) {}
}

fn main() {}
