#[spacetimedb::table(accessor = person)]
struct Person {
    #[unique]
    #[unique]
    email: String,
}

fn main() {}
