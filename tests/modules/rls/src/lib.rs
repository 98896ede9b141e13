//! Row-level security: notes a client sees when it wrote them or they are shared (two
//! filters on one table), and documents it sees when it is a member of their team (a
//! filter with a join). The owner sees every row.

use spacetimedb::{client_visibility_filter, Filter};

#[path = "tables.rs"]
mod tables;
pub use tables::*;

/// A client sees its own notes…
#[client_visibility_filter]
const MY_NOTES: Filter = Filter::Sql("SELECT * FROM note WHERE owner = :sender");

/// …and every shared note.
#[client_visibility_filter]
const SHARED_NOTES: Filter = Filter::Sql("SELECT * FROM note WHERE shared = true");

/// A client sees the documents of its team.
#[client_visibility_filter]
const TEAM_DOCS: Filter =
    Filter::Sql("SELECT doc.* FROM doc JOIN member ON doc.team = member.team WHERE member.who = :sender");
