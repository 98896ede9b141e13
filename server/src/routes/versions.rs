//! A database's version history and rollback: `GET /v1/database/:db/versions` and
//! `POST /v1/database/:db/rollback[?to=<n>][&break_clients=true][&dry_run=true]`.
//!
//! A rollback publishes an earlier version's program again, through the same planner
//! and migration as any publish: it is refused with the planner's reasons when going
//! back is not automatic (a column added since would be dropped, say), and a plan that
//! breaks clients needs `break_clients`, as a publish does. It is recorded as a new
//! version. SpacetimeDB has no rollback; this is ours.

use super::publish::{break_clients, check_owner, plan_json};
use super::query::{flag, number, Params};
use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::control;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::json;
use spacetime_engine::UpdateOptions;

/// The version routes (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/database/{db}/versions", get(versions))
        .route("/database/{db}/rollback", post(rollback))
}

/// `{"versions": [{version, program_hash, published_at, publisher, summary}…], "current": n}`,
/// oldest first.
async fn versions(State(state): State<AppState>, Path(db): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let record = state.find(&db).ok_or_else(|| no_such_database(&db))?;
    let history = state.registry().versions(record.database_identity);
    let current = history.last().map(|v| v.number);
    let list: Vec<_> = history.iter().map(|v| v.to_json()).collect();
    Ok(Json(json!({ "versions": list, "current": current })))
}

fn no_such_database(db: &str) -> ApiError {
    ApiError::NotFound(format!("No such database: `{db}`"))
}

async fn rollback(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let to = number(&params, "to")?
        .map(|n| u32::try_from(n).map_err(|_| ApiError::BadRequest(format!("no version {n}"))))
        .transpose()?;
    let dry_run = flag(&params, "dry_run", false)?;
    let options = UpdateOptions {
        break_clients: break_clients(&params)?,
        publisher: caller.identity,
    };
    let record = state.find(&db).ok_or_else(|| no_such_database(&db))?;
    check_owner(&db, record.owner_identity, &caller)?;
    let target = control::rollback_target(&state, &record, to).map_err(control::ControlError::from)?;
    let module = control::prepare_version(&state, &target).await?;
    if dry_run {
        let plan = plan_json(control::plan(&state, &record, &module)?);
        return Ok(Json(json!({ "to": target.number, "plan": plan })));
    }
    let _guard = state.control_lock().await;
    let record = state.find(&db).ok_or_else(|| no_such_database(&db))?;
    check_owner(&db, record.owner_identity, &caller)?;
    let identity = record.database_identity;
    let note = format!("rollback to version {}", target.number);
    control::update(&state, record, module, false, options, Some(&note)).await?;
    let current = state.registry().versions(identity).last().map(|v| v.to_json());
    Ok(Json(
        json!({ "RolledBack": { "to": target.number, "version": current } }),
    ))
}
