use spacetimedb::ReducerContext;

#[spacetimedb::reducer(init, client_connected)]
fn setup(_ctx: &ReducerContext) {}

fn main() {}
