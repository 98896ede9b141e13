//! Version a of the module whose views and HTTP routes change in version b
//! (`tests/modules/routes-plan-b`): `tests/e2e/migrations.rs` checks that the plan of
//! publishing b over a lists each change.

use spacetimedb::http::{Body, HandlerContext, Request, Response, Router};
use spacetimedb::{table, view, AnonymousViewContext, Identity, ViewContext};

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

/// The caller's notes (becomes the caller's first note in version b).
#[view(accessor = my_notes, public)]
fn my_notes(ctx: &ViewContext) -> Vec<Note> {
    ctx.db.note().author().filter(ctx.sender()).collect()
}

/// The first note (gone in version b).
#[view(accessor = first_note, public)]
fn first_note(ctx: &AnonymousViewContext) -> Vec<Note> {
    ctx.db.note().id().find(1).into_iter().collect()
}

#[spacetimedb::http::handler]
fn hello(_ctx: &mut HandlerContext, _req: Request) -> Response {
    Response::new(Body::from_bytes("hello"))
}

#[spacetimedb::http::handler]
fn count(_ctx: &mut HandlerContext, _req: Request) -> Response {
    Response::new(Body::from_bytes("count"))
}

#[spacetimedb::http::handler]
fn legacy(_ctx: &mut HandlerContext, _req: Request) -> Response {
    Response::new(Body::from_bytes("legacy"))
}

#[spacetimedb::http::router]
fn router() -> Router {
    Router::new()
        .get("/hello", hello)
        .get("/count", count)
        .any("/old", legacy)
}
