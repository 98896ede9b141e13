#[derive(spacetimedb::SpacetimeType)]
enum Shape {
    Rect { width: f32, height: f32 },
    Empty,
}

fn main() {}
