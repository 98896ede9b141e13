#[spacetimedb::table(public)]
struct PlayerScore {
    id: u32,
}

fn main() {}
