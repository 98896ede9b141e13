#[spacetimedb::table(accessor = person)]
struct Person {
    #[primary_key]
    #[auto_inc]
    name: String,
}

fn main() {}
