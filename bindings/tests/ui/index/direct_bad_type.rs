#[spacetimedb::table(accessor = slot)]
pub struct Slot {
    #[unique]
    #[index(direct)]
    name: String,
}

fn main() {}
