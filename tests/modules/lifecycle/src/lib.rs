//! The smoketests' "connect-disconnect" and "permissions-lifecycle": every lifecycle
//! reducer logs, so a test can see init run at publish and connect/disconnect run around
//! each call (a procedure's too); none of them may be called by a client.

use spacetimedb::{log, procedure, reducer, ProcedureContext, ReducerContext};

#[reducer(init)]
pub fn init(_ctx: &ReducerContext) {
    log::info!("init ran");
}

#[reducer(client_connected)]
pub fn connected(ctx: &ReducerContext) {
    log::info!("connected {}", ctx.sender());
}

#[reducer(client_disconnected)]
pub fn disconnected(ctx: &ReducerContext) {
    log::info!("disconnected {}", ctx.sender());
}

/// An ordinary reducer, to trigger a connect/disconnect pair.
#[reducer]
pub fn ping(ctx: &ReducerContext) {
    log::info!("ping from {}", ctx.sender());
}

/// A procedure, to trigger a connect/disconnect pair around an HTTP procedure call.
#[procedure]
pub fn pong(ctx: &mut ProcedureContext) -> u32 {
    log::info!("pong from {} on {:?}", ctx.sender(), ctx.connection_id());
    1
}
