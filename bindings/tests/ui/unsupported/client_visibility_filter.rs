#[spacetimedb::client_visibility_filter]
const ONLY_MINE: spacetimedb::Filter = spacetimedb::Filter::Sql("SELECT * FROM item WHERE owner = :sender");

fn main() {}
