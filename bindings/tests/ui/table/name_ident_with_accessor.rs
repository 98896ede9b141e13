#[spacetimedb::table(accessor = person, name = people)]
struct Person {
    id: u32,
}

fn main() {}
