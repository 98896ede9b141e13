use spacetimedb::ReducerContext;

#[spacetimedb::reducer]
fn count(_ctx: &ReducerContext) -> u32 {
    0
}

fn main() {}
