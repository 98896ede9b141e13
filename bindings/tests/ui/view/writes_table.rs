use spacetimedb::{table, view, ViewContext};

#[table(accessor = item)]
pub struct Item {
    #[primary_key]
    id: u64,
}

#[view(accessor = items, public)]
fn items(ctx: &ViewContext) -> Vec<Item> {
    ctx.db.item().id().delete(1u64);
    Vec::new()
}

fn main() {}
