//! Upstream's `rls-broken-private-table`: a filter on a private table, which publishing
//! refuses (only public tables can be filtered; nobody but the owner sees a private one).

use spacetimedb::{client_visibility_filter, table, Filter, Identity};

#[table(accessor = user)]
pub struct User {
    identity: Identity,
}

#[client_visibility_filter]
const PERSON_FILTER: Filter = Filter::Sql("SELECT * FROM \"user\" WHERE identity = :sender");
