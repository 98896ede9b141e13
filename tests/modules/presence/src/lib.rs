//! The module of the cluster readers' lifecycle test (`tests/e2e/replication_readers.rs`):
//! `client_connected` puts the connection in `online` (refusing the identities in
//! `refused`), `client_disconnected` takes it out and records the departure, so a test
//! sees that it ran exactly once per connection, and `whoami` records the connection a
//! call ran on. Connections are named by their id in hex, as a client names its
//! connection (`?connection_id=`).

use spacetimedb::{reducer, table, Identity, ReducerContext, Table};

/// A connected client.
#[table(accessor = online, public)]
pub struct Online {
    #[primary_key]
    connection: String,
    identity: Identity,
}

/// One row per run of `client_disconnected`.
#[table(accessor = departure, public)]
pub struct Departure {
    #[primary_key]
    #[auto_inc]
    id: u64,
    connection: String,
    identity: Identity,
}

/// One row per call of `whoami`: the connection it ran on (empty for none).
#[table(accessor = seen, public)]
pub struct Seen {
    #[primary_key]
    #[auto_inc]
    id: u64,
    tag: u32,
    connection: String,
    identity: Identity,
}

/// Identities `client_connected` refuses.
#[table(accessor = refused)]
pub struct Refused {
    #[primary_key]
    identity: Identity,
}

fn connection(ctx: &ReducerContext) -> String {
    ctx.connection_id().map_or_else(String::new, |c| c.to_hex().to_string())
}

#[reducer(client_connected)]
pub fn connected(ctx: &ReducerContext) -> Result<(), String> {
    if ctx.db.refused().identity().find(ctx.sender()).is_some() {
        return Err(format!("{} may not connect", ctx.sender()));
    }
    ctx.db.online().insert(Online {
        connection: connection(ctx),
        identity: ctx.sender(),
    });
    Ok(())
}

#[reducer(client_disconnected)]
pub fn disconnected(ctx: &ReducerContext) {
    let connection = connection(ctx);
    ctx.db.online().connection().delete(&connection);
    ctx.db.departure().insert(Departure {
        id: 0,
        connection,
        identity: ctx.sender(),
    });
}

/// Records the connection this call ran on, under `tag`.
#[reducer]
pub fn whoami(ctx: &ReducerContext, tag: u32) {
    ctx.db.seen().insert(Seen {
        id: 0,
        tag,
        connection: connection(ctx),
        identity: ctx.sender(),
    });
}

/// Makes `client_connected` refuse `identity` from now on.
#[reducer]
pub fn refuse(ctx: &ReducerContext, identity: Identity) {
    ctx.db.refused().insert(Refused { identity });
}
