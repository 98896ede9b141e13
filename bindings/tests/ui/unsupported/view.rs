use spacetimedb::{view, ViewContext};

#[view(accessor = my_player, public)]
fn my_player(ctx: &ViewContext) -> Option<u32> {
    None
}

fn main() {}
