#[spacetimedb::table(accessor = person, pubic)]
struct Person {
    id: u32,
}

fn main() {}
