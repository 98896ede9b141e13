use spacetimedb::{table, view, Table, ViewContext};

#[table(accessor = item)]
pub struct Item {
    #[primary_key]
    id: u64,
}

#[view(accessor = items, public)]
fn items(ctx: &ViewContext) -> Vec<Item> {
    ctx.db.item().insert(Item { id: 1 });
    Vec::new()
}

fn main() {}
