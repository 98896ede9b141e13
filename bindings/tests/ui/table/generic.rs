#[spacetimedb::table(accessor = boxed)]
struct Boxed<T> {
    value: T,
}

fn main() {}
