//! The smoketests' "client-connection-reject" and "client-connection-disconnect-panic" in
//! one module: `client_connected` refuses the identities in `refused` (and logs it), and
//! `client_disconnected` logs whom it was called for, then panics. A refused connection
//! must never reach `client_disconnected`; a panicking one must still leave `st_client`.

use spacetimedb::{log, reducer, table, Identity, ReducerContext, Table};

/// Something to subscribe to.
#[table(accessor = all_u8s, public)]
pub struct AllU8s {
    n: u8,
}

/// Identities `client_connected` refuses.
#[table(accessor = refused)]
pub struct Refused {
    #[primary_key]
    identity: Identity,
}

/// Makes `client_connected` refuse `identity` from now on.
#[reducer]
pub fn refuse(ctx: &ReducerContext, identity: Identity) {
    ctx.db.refused().insert(Refused { identity });
}

#[reducer(client_connected)]
pub fn connected(ctx: &ReducerContext) -> Result<(), String> {
    if ctx.db.refused().identity().find(ctx.sender()).is_some() {
        log::info!("Rejecting connection from client {}", ctx.sender());
        return Err(format!("{} is refused", ctx.sender()));
    }
    Ok(())
}

#[reducer(client_disconnected)]
pub fn disconnected(ctx: &ReducerContext) {
    log::info!("client_disconnected called for {}", ctx.sender());
    panic!("This should be called, but the `st_client` row should still be deleted");
}
