use spacetimedb::{view, AnonymousViewContext, SpacetimeType};

#[derive(SpacetimeType)]
pub struct Row {
    id: u32,
}

#[view(accessor = rows, public, private, name = rows_v2)]
fn rows(_ctx: &AnonymousViewContext) -> Vec<Row> {
    Vec::new()
}

fn main() {}
