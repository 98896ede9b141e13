#[spacetimedb::reducer]
fn tick() {}

fn main() {}
