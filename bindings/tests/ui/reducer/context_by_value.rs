use spacetimedb::ReducerContext;

#[spacetimedb::reducer]
fn tick(ctx: ReducerContext) {
    let _ = ctx;
}

fn main() {}
