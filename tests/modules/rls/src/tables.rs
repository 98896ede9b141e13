//! The tables and reducers of the row-level security test modules, shared by `rls`
//! (with filters) and `rls-open` (the same schema without them).

use spacetimedb::{reducer, table, Identity, ReducerContext, Table};

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
    ctx.db.member().insert(Member {
        who: ctx.sender(),
        team,
    });
}

#[reducer]
pub fn add_doc(ctx: &ReducerContext, id: u32, team: u32, title: String) {
    ctx.db.doc().insert(Doc { id, team, title });
}
