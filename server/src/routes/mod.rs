//! The HTTP API under `/v1`: one module per resource, assembled into one router here.
//!
//! Routes under `/v1/database` go through [`anon_auth_middleware`], which attaches a
//! caller to each request (a fresh identity if it sent no token) and returns the
//! caller's identity and token in response headers, except a module's own HTTP routes
//! (`module_route`), which are anonymous.

mod backup;
mod call;
mod database;
mod env;
mod handover;
mod health;
mod hosted;
mod identity;
pub(crate) mod lock;
mod logs;
mod metrics;
mod module_route;
mod peer;
pub(crate) mod publish;
mod query;
mod resync;
mod snapshot;
mod sql;
mod subscribe;
mod versions;

use crate::auth::anon_auth_middleware;
use crate::state::AppState;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// The whole API.
pub fn router(state: AppState) -> Router {
    let keys = Arc::clone(&axum::extract::FromRef::from_ref(&state));
    let databases = Router::new()
        .merge(publish::router())
        .merge(database::router())
        .merge(call::router())
        .merge(hosted::router())
        .merge(env::router())
        .merge(logs::router())
        .merge(sql::router())
        .merge(snapshot::router())
        .merge(backup::router())
        .merge(subscribe::router())
        .merge(versions::router())
        .merge(lock::router())
        .merge(handover::router())
        .merge(resync::router())
        .route_layer(from_fn_with_state(keys, anon_auth_middleware))
        // Module routes are anonymous, as upstream: outside the token middleware.
        .merge(module_route::router());
    let v1 = Router::new()
        .route("/ping", get(|| async {}))
        .merge(health::router())
        // Cluster mode: transfer between nodes, authenticated by the peer secret.
        .merge(peer::router())
        .nest("/identity", identity::router())
        .merge(databases);
    Router::new()
        .nest("/v1", v1)
        .merge(metrics::router())
        // Cluster mode: requests for a database this node only follows go to its leader.
        .layer(from_fn_with_state(state.clone(), crate::cluster::redirect_to_leader))
        .with_state(state)
}
