#[derive(spacetimedb::SpacetimeType)]
enum Shape {
    Rect(f32, f32),
    Empty,
}

fn main() {}
