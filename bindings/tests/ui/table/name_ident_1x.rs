#[spacetimedb::table(name = person, public)]
struct Person {
    id: u32,
}

fn main() {}
