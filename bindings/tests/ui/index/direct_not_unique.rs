#[spacetimedb::table(accessor = slot)]
pub struct Slot {
    #[index(direct)]
    number: u8,
}

fn main() {}
