#[spacetimedb::table(accessor = person)]
struct Person {
    #[primary_key]
    #[default(1)]
    id: u32,
}

fn main() {}
