#[spacetimedb::table(accessor = person)]
struct Person {
    #[primary_key]
    id: u32,
    #[primary_key]
    email: String,
}

fn main() {}
