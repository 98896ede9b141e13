#[derive(spacetimedb::SpacetimeType)]
enum Shape {
    Circle { radius: f32 },
    Empty,
}

fn main() {}
