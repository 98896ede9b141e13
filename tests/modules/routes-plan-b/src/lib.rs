//! Version b of the module of `tests/modules/routes-plan-a`: `my_notes` returns the
//! caller's first note only, `first_note` is gone and `note_count` is new; `/old` is
//! gone, `/count` calls another handler, and `POST /hello` and the root are new.

use spacetimedb::http::{Body, HandlerContext, Request, Response, Router};
use spacetimedb::{table, view, AnonymousViewContext, Identity, SpacetimeType, ViewContext};

/// Notes, each by an identity.
#[table(accessor = note, public)]
pub struct Note {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index(btree)]
    pub author: Identity,
    pub text: String,
}

/// How many notes there are.
#[derive(SpacetimeType)]
pub struct NoteCount {
    pub count: u64,
}

/// The caller's first note.
#[view(accessor = my_notes, public)]
fn my_notes(ctx: &ViewContext) -> Option<Note> {
    ctx.db.note().author().filter(ctx.sender()).next()
}

/// How many notes there are.
#[view(accessor = note_count, public)]
fn note_count(ctx: &AnonymousViewContext) -> Vec<NoteCount> {
    let count = ctx.db.note().count();
    vec![NoteCount { count }]
}

#[spacetimedb::http::handler]
fn hello(_ctx: &mut HandlerContext, _req: Request) -> Response {
    Response::new(Body::from_bytes("hello"))
}

#[spacetimedb::http::handler]
fn tally(_ctx: &mut HandlerContext, _req: Request) -> Response {
    Response::new(Body::from_bytes("tally"))
}

#[spacetimedb::http::handler]
fn root(_ctx: &mut HandlerContext, _req: Request) -> Response {
    Response::new(Body::from_bytes("root"))
}

#[spacetimedb::http::router]
fn router() -> Router {
    Router::new()
        .get("/hello", hello)
        .get("/count", tally)
        .post("/hello", hello)
        .get("", root)
}
