use spacetimedb::ReducerContext;

struct Secret;

#[spacetimedb::reducer]
fn reveal(_ctx: &ReducerContext, _secret: Secret) {}

fn main() {}
