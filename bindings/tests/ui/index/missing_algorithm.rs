#[spacetimedb::table(accessor = person, index(accessor = by_name))]
struct Person {
    name: String,
}

fn main() {}
