//! `POST /v1/database/:db/snapshot`: takes a snapshot of the database now, for the owner
//! only, and answers `{"tx_offset": n}` once the snapshot file is written. Snapshots are
//! also taken every `--snapshot-every` transactions; this is the on-demand form (before a
//! backup, or to shorten the next restart's replay).

use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Extension, Json, Router};

/// The snapshot route (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/database/{db}/snapshot", post(snapshot))
}

async fn snapshot(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let record = state.lookup(&db)?;
    if record.owner_identity != caller.identity {
        return Err(ApiError::Forbidden(format!(
            "only the owner of database `{db}` may snapshot it, and {} is not its owner",
            caller.identity
        )));
    }
    let database = state.running(&record)?;
    let tx_offset = database.snapshot().await?;
    Ok(Json(serde_json::json!({ "tx_offset": tx_offset })))
}
