#[spacetimedb::table(accessor = person, public, private)]
struct Person {
    id: u32,
}

fn main() {}
