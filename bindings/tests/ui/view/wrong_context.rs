use spacetimedb::{view, ReducerContext, SpacetimeType};

#[derive(SpacetimeType)]
pub struct Row {
    n: u32,
}

#[view(accessor = rows, public)]
fn rows(_ctx: &ReducerContext) -> Vec<Row> {
    Vec::new()
}

fn main() {}
