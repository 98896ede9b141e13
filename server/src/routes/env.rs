//! `GET` and `PATCH /v1/database/:db/env`: the database's environment values (2.14's
//! module environment, read by modules with `env_get`), for the owner only.
//!
//! `PATCH` takes a JSON object of changes: a string sets a key, `null` removes it. Keys must
//! be POSIX environment names; a key the module declares with a fixed set of values must get
//! one of them. Both answer with every value after the change.

use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::environment;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Map, Value};
use spacetime_host::EnvironmentValues;

/// The environment route (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/database/{db}/env", get(list).patch(change))
}

/// The database's identity if `caller` owns it.
fn owned(state: &AppState, caller: &Caller, db: &str) -> Result<spacetime_sats::Identity, ApiError> {
    let record = state.lookup(db)?;
    if record.owner_identity != caller.identity {
        return Err(ApiError::Forbidden(format!(
            "only the owner of database `{db}` may read or change its environment, and {} is not its owner",
            caller.identity
        )));
    }
    Ok(record.database_identity)
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
) -> Result<Json<EnvironmentValues>, ApiError> {
    let identity = owned(&state, &caller, &db)?;
    Ok(Json((*state.host().environments().get(identity)).clone()))
}

async fn change(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    Json(changes): Json<Map<String, Value>>,
) -> Result<Json<EnvironmentValues>, ApiError> {
    let identity = owned(&state, &caller, &db)?;
    let record = state.lookup(&db)?;
    let program = state.running(&record)?.program();
    let module = program.module_def();
    let mut values = (*state.host().environments().get(identity)).clone();
    environment::apply_changes(module, &db, &mut values, changes)?;
    environment::check_required(module, &db, &values)?;
    environment::store(&state, identity, values.clone())
        .map_err(|e| ApiError::Unavailable(format!("cannot store the environment of database `{db}`: {e}")))?;
    Ok(Json(values))
}
