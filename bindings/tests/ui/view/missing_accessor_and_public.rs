use spacetimedb::{view, AnonymousViewContext, SpacetimeType};

#[derive(SpacetimeType)]
pub struct Row {
    n: u32,
}

#[view]
fn rows(_ctx: &AnonymousViewContext) -> Vec<Row> {
    Vec::new()
}

fn main() {}
