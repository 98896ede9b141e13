use spacetimedb::ReducerContext;

#[spacetimedb::reducer(on_connect)]
fn setup(_ctx: &ReducerContext) {}

fn main() {}
