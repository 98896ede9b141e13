use spacetimedb::{view, SpacetimeType, ViewContext};

#[derive(SpacetimeType)]
pub struct Row {
    n: u32,
}

#[view(accessor = rows, public)]
fn rows(_ctx: ViewContext) -> Vec<Row> {
    Vec::new()
}

fn main() {}
