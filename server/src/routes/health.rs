//! `GET /v1/health`: readiness. 200 `{"status":"ready"}` once every registered database
//! is running; 503 with the ones that are not (still starting, or failed with the
//! reason) otherwise, so a load balancer sends no traffic to a server that would answer
//! 503 for some database. In cluster mode a database this node follows as a standby
//! counts as ready (its requests are redirected to the leader). `/v1/ping` stays the
//! liveness check.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The health route (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let records = state.registry().all();
    let not_running: Vec<Value> = records
        .iter()
        .filter_map(|record| {
            // In cluster mode a database this node follows as a standby is where it
            // should be: its requests are redirected to the leader.
            let standby = state
                .cluster()
                .and_then(|node| node.following(record.database_identity));
            if standby.is_some() {
                return None;
            }
            let why = state.running(record).err()?;
            Some(json!({ "database": record.database_identity.to_string(), "reason": why.to_string() }))
        })
        .collect();
    if not_running.is_empty() {
        (
            StatusCode::OK,
            Json(json!({ "status": "ready", "databases": records.len() })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready", "databases": records.len(), "not_running": not_running })),
        )
    }
}
