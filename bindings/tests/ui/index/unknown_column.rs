#[spacetimedb::table(accessor = person, index(accessor = by_age, btree(columns = [age])))]
struct Person {
    id: u32,
    name: String,
}

fn main() {}
