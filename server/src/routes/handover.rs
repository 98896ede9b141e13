//! `POST /v1/database/:db/handover[?to=<node-id>]` (owner only, cluster mode): a
//! planned handover of the database from the node that leads it to one of its
//! standbys (`crate::cluster::ClusterNode::handover`). Sent to a standby, it is
//! redirected to the leader like any request for the database. Answers, once the
//! target is elected, `{"from", "to", "addr", "epoch", "drained_ms", "elected_ms"}`.

use super::query::Params;
use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::cluster::{HandoverError, HandoverReport};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::post;
use axum::{Extension, Json, Router};

/// The handover route.
pub fn router() -> Router<AppState> {
    Router::new().route("/database/{db}/handover", post(handover))
}

async fn handover(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<HandoverReport>, ApiError> {
    let record = state.lookup(&db)?;
    if record.owner_identity != caller.identity {
        return Err(ApiError::Forbidden(format!(
            "only the owner of database `{db}` may hand it over to another node, and {} is not its owner",
            caller.identity
        )));
    }
    let Some(node) = state.cluster().cloned() else {
        return Err(HandoverError::Standalone(db).into());
    };
    let to = params.get("to").filter(|t| !t.is_empty()).cloned();
    let identity = record.database_identity;
    let report = tokio::task::spawn_blocking(move || node.handover(identity, &db, to.as_deref()))
        .await
        .map_err(|e| ApiError::internal("running a handover", e))??;
    Ok(Json(report))
}

impl From<HandoverError> for ApiError {
    fn from(e: HandoverError) -> Self {
        match e {
            HandoverError::Standalone(_) | HandoverError::BadTarget { .. } => Self::BadRequest(e.to_string()),
            HandoverError::NotLeader { .. }
            | HandoverError::NoStandby(_)
            | HandoverError::NotDrained { .. }
            | HandoverError::NotElected { .. }
            | HandoverError::Replication(_) => Self::Unavailable(e.to_string()),
        }
    }
}
