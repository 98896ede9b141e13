use spacetimedb::{procedure, ReducerContext};

#[procedure]
fn fetch(_ctx: &ReducerContext) -> u32 {
    1
}

fn main() {}
