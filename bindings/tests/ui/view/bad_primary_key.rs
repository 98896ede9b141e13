use spacetimedb::{view, AnonymousViewContext, SpacetimeType};

#[derive(SpacetimeType)]
pub struct Row {
    id: u32,
    score: f32,
}

#[view(accessor = by_missing, public, primary_key = missing)]
fn by_missing(_ctx: &AnonymousViewContext) -> Vec<Row> {
    Vec::new()
}

#[view(accessor = by_score, public, primary_key = score)]
fn by_score(_ctx: &AnonymousViewContext) -> Vec<Row> {
    Vec::new()
}

fn main() {}
