#[spacetimedb::table(accessor = color)]
enum Color {
    Red,
}

fn main() {}
