//! `POST /v1/cluster/database/:db/resync[?force=true]` (owner only, cluster mode):
//! rebuilds THIS node's replica of the database from a healthy peer
//! (`crate::cluster::ClusterNode::resync`), typically one parked because its copy
//! diverged. Outside `/v1/database/`, so it is never redirected to the leader: it is
//! sent to the node whose copy is to be rebuilt. Answers `{"node", "was_parked",
//! "moved_to", "copied_ms"}`.

use super::query::{flag, Params};
use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::cluster::{ResyncError, ResyncReport};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::post;
use axum::{Extension, Json, Router};

/// The resync route.
pub fn router() -> Router<AppState> {
    Router::new().route("/cluster/database/{db}/resync", post(resync))
}

async fn resync(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<ResyncReport>, ApiError> {
    let Some(node) = state.cluster().cloned() else {
        return Err(ResyncError::Standalone(db).into());
    };
    let record = state.lookup(&db)?;
    if record.owner_identity != caller.identity {
        return Err(ApiError::Forbidden(format!(
            "only the owner of database `{db}` may resync its replicas, and {} is not its owner",
            caller.identity
        )));
    }
    let force = flag(&params, "force", false)?;
    let identity = record.database_identity;
    let report = tokio::task::spawn_blocking(move || node.resync(identity, &db, force))
        .await
        .map_err(|e| ApiError::internal("running a resync", e))??;
    Ok(Json(report))
}

impl From<ResyncError> for ApiError {
    fn from(e: ResyncError) -> Self {
        match e {
            ResyncError::Standalone(_) | ResyncError::Leader { .. } | ResyncError::NotParked { .. } => {
                Self::BadRequest(e.to_string())
            }
            ResyncError::NoReplica { .. } => Self::NotFound(e.to_string()),
            ResyncError::Failed { .. } => Self::Unavailable(e.to_string()),
        }
    }
}
