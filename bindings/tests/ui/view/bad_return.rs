use spacetimedb::{view, AnonymousViewContext};

#[view(accessor = total, public)]
fn total(_ctx: &AnonymousViewContext) -> u32 {
    0
}

#[view(accessor = nothing, public)]
fn nothing(_ctx: &AnonymousViewContext) {}

fn main() {}
