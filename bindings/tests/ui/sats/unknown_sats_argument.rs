#[derive(spacetimedb::SpacetimeType)]
#[sats(rename = "Other")]
struct Point {
    x: i32,
}

fn main() {}
