//! HTTP handlers for the end-to-end tests, one router holding the scenarios of
//! SpacetimeDB's `http_routes` smoketest (simple responses, writes and reads through
//! `with_tx`, `any`, headers both ways, a custom status, a body stored and fetched by id,
//! strict root and trailing-slash paths, the full external URI, request bodies), plus a
//! handler that panics, one that never returns, and reducers that queue calls with
//! `volatile_nonatomic_schedule_immediate!`.

use spacetimedb::http::{Body, HandlerContext, Request, Response, Router};
use spacetimedb::{reducer, table, ReducerContext, Table};
use std::str::FromStr;

/// Rows written by `post_insert`.
#[table(accessor = entries, public)]
pub struct Entry {
    id: u64,
    value: String,
}

/// Bodies stored by `insert`, fetched by `retrieve`.
#[table(accessor = data)]
pub struct Data {
    #[primary_key]
    #[auto_inc]
    id: u64,
    body: Vec<u8>,
}

/// Notes written by `add_note`, directly or through an immediate call.
#[table(accessor = notes, public)]
pub struct Note {
    #[primary_key]
    #[auto_inc]
    id: u64,
    text: String,
    by_database: bool,
}

fn text(body: impl Into<String>) -> Response {
    Response::new(Body::from_bytes(body.into()))
}

#[spacetimedb::http::handler]
fn get_simple(_ctx: &mut HandlerContext, _req: Request) -> Response {
    text("ok")
}

#[spacetimedb::http::handler]
fn post_insert(ctx: &mut HandlerContext, _req: Request) -> Response {
    ctx.with_tx(|tx| {
        let id = tx.db.entries().iter().count() as u64;
        tx.db.entries().insert(Entry {
            id,
            value: "posted".to_string(),
        });
    });
    text("inserted")
}

#[spacetimedb::http::handler]
fn get_count(ctx: &mut HandlerContext, _req: Request) -> Response {
    let count = ctx.with_tx(|tx| tx.db.entries().iter().count());
    text(count.to_string())
}

#[spacetimedb::http::handler]
fn any_handler(_ctx: &mut HandlerContext, req: Request) -> Response {
    text(format!("any {}", req.method()))
}

#[spacetimedb::http::handler]
fn header_echo(_ctx: &mut HandlerContext, req: Request) -> Response {
    let value = req.headers().get("x-echo").and_then(|v| v.to_str().ok()).unwrap_or("");
    text(value.to_string())
}

#[spacetimedb::http::handler]
fn set_response_header(_ctx: &mut HandlerContext, _req: Request) -> Response {
    Response::builder()
        .header("x-response", "set")
        .body(Body::from_bytes("header-set"))
        .expect("a valid response")
}

#[spacetimedb::http::handler]
fn teapot(_ctx: &mut HandlerContext, _req: Request) -> Response {
    Response::builder()
        .status(418)
        .body(Body::from_bytes("teapot"))
        .expect("a valid response")
}

#[spacetimedb::http::handler]
fn insert(ctx: &mut HandlerContext, request: Request) -> Response {
    let body: Vec<u8> = request.into_body().into_bytes().into();
    let id = ctx.with_tx(|tx| {
        tx.db
            .data()
            .insert(Data {
                id: 0,
                body: body.clone(),
            })
            .id
    });
    text(id.to_string())
}

#[spacetimedb::http::handler]
fn retrieve(ctx: &mut HandlerContext, request: Request) -> Response {
    let id = request
        .uri()
        .query()
        .and_then(|query| query.strip_prefix("id="))
        .and_then(|id| u64::from_str(id).ok())
        .expect("the query must be `id=<u64>`");
    match ctx.with_tx(|tx| tx.db.data().id().find(id).map(|data| data.body)) {
        Some(body) => Response::new(Body::from_bytes(body)),
        None => Response::builder()
            .status(404)
            .body(Body::empty())
            .expect("a valid response"),
    }
}

#[spacetimedb::http::handler]
fn empty_root(_ctx: &mut HandlerContext, _req: Request) -> Response {
    text("empty")
}

#[spacetimedb::http::handler]
fn slash_root(_ctx: &mut HandlerContext, _req: Request) -> Response {
    text("slash")
}

#[spacetimedb::http::handler]
fn foo(_ctx: &mut HandlerContext, _req: Request) -> Response {
    text("foo")
}

#[spacetimedb::http::handler]
fn foo_slash(_ctx: &mut HandlerContext, _req: Request) -> Response {
    text("foo-slash")
}

#[spacetimedb::http::handler]
fn echo_uri(_ctx: &mut HandlerContext, req: Request) -> Response {
    text(req.uri().to_string())
}

#[spacetimedb::http::handler]
fn reverse_bytes(_ctx: &mut HandlerContext, req: Request) -> Response {
    let mut reversed = req.into_body().into_bytes().to_vec();
    reversed.reverse();
    Response::new(Body::from_bytes(reversed))
}

#[spacetimedb::http::handler]
fn reverse_words(_ctx: &mut HandlerContext, req: Request) -> Response {
    match req.into_body().into_string() {
        Ok(body) => text(body.split(' ').rev().collect::<Vec<_>>().join(" ")),
        Err(_) => Response::builder()
            .status(400)
            .body(Body::from_bytes("request body must be valid UTF-8"))
            .expect("a valid response"),
    }
}

/// Writes a row, then panics inside the same transaction: nothing must stay.
#[spacetimedb::http::handler]
fn panics(ctx: &mut HandlerContext, _req: Request) -> Response {
    ctx.with_tx(|tx| {
        tx.db.entries().insert(Entry {
            id: 9_999,
            value: "ghost".to_string(),
        });
        panic!("boom in a handler");
    })
}

/// Answers with the sender's identity and the database's (they differ: a route request
/// is anonymous, with a fresh identity).
#[spacetimedb::http::handler]
fn whoami(ctx: &mut HandlerContext, _req: Request) -> Response {
    text(format!("{} {}", ctx.sender(), ctx.database_identity()))
}

/// A version 7 UUID from the handler's RNG and timestamp, and a random number.
#[spacetimedb::http::handler]
fn new_uuid(ctx: &mut HandlerContext, _req: Request) -> Response {
    let uuid = ctx.new_uuid_v7().expect("the timestamp is after 1970");
    text(format!("{uuid} {}", ctx.random::<u32>()))
}

/// Queues `add_note("from a handler")` to run right after this request.
#[spacetimedb::http::handler]
fn note_from_handler(_ctx: &mut HandlerContext, _req: Request) -> Response {
    spacetimedb::volatile_nonatomic_schedule_immediate!(add_note("from a handler".to_string()));
    text("queued")
}

/// Never returns: the host's time budget stops it. Logs first, so a test knows it runs.
#[spacetimedb::http::handler]
fn spin(_ctx: &mut HandlerContext, _req: Request) -> Response {
    log::info!("spin: started");
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

#[spacetimedb::http::router]
fn router() -> Router {
    Router::new()
        .get("/get", get_simple)
        .post("/post", post_insert)
        .get("/count", get_count)
        .any("/any", any_handler)
        .get("/header", header_echo)
        .get("/set-header", set_response_header)
        .get("/teapot", teapot)
        .post("/insert", insert)
        .get("/retrieve", retrieve)
        .get("", empty_root)
        .get("/", slash_root)
        .get("/foo", foo)
        .get("/foo/", foo_slash)
        .get("/echo-uri", echo_uri)
        .post("/reverse-bytes", reverse_bytes)
        .post("/reverse-words", reverse_words)
        .get("/panics", panics)
        .get("/whoami", whoami)
        .get("/spin", spin)
        .get("/uuid", new_uuid)
        .post("/note-later", note_from_handler)
}

/// Writes a note, recording whether the database itself called it.
#[reducer]
pub fn add_note(ctx: &ReducerContext, text: String) {
    let by_database = ctx.sender() == ctx.database_identity();
    ctx.db.notes().insert(Note {
        id: 0,
        text,
        by_database,
    });
}

/// Queues `add_note(text)` to run right after this reducer, outside its transaction.
#[reducer]
pub fn note_later(_ctx: &ReducerContext, text: String) {
    spacetimedb::volatile_nonatomic_schedule_immediate!(add_note(text));
}

/// Queues `add_note(text)`, then fails: the queued call is not atomic with this one, so
/// it still runs.
#[reducer]
pub fn note_later_then_fail(_ctx: &ReducerContext, text: String) -> Result<(), String> {
    spacetimedb::volatile_nonatomic_schedule_immediate!(add_note(text));
    Err("failing after queueing".to_string())
}
