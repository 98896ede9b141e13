//! Row-level security: notes a client sees when it wrote them or they are shared (two
//! filters on one table), and documents it sees when it is a member of their team (a
//! filter with a join). The owner sees every row.

use spacetimedb::{client_visibility_filter, reducer, table, Filter, Identity, ReducerContext, Table};

#[table(accessor = note, public)]
pub struct Note {
    #[primary_key]
    #[auto_inc]
    id: u64,
    #[index(btree)]
    owner: Identity,
    text: String,
    shared: bool,
}

#[table(accessor = member, public)]
pub struct Member {
    #[primary_key]
    who: Identity,
    #[index(btree)]
    team: u32,
}

#[table(accessor = doc, public)]
pub struct Doc {
    #[primary_key]
    id: u32,
    #[index(btree)]
    team: u32,
    title: String,
}

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

#[reducer]
pub fn add_note(ctx: &ReducerContext, text: String, shared: bool) {
    ctx.db.note().insert(Note {
        id: 0,
        owner: ctx.sender(),
        text,
        shared,
    });
}

#[reducer]
pub fn join_team(ctx: &ReducerContext, team: u32) {
    ctx.db.member().who().delete(ctx.sender());
    ctx.db.member().insert(Member { who: ctx.sender(), team });
}

#[reducer]
pub fn add_doc(ctx: &ReducerContext, id: u32, team: u32, title: String) {
    ctx.db.doc().insert(Doc { id, team, title });
}
