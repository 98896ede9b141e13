//! `POST /v1/database/:db/lock` and `/unlock` (owner only, both idempotent): a locked
//! database cannot be deleted or reset; [`ensure_unlocked`] is the check the delete and
//! publish routes make.

use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Extension, Router};
use spacetime_sats::Identity;

/// The lock routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/database/{db}/lock", post(lock))
        .route("/database/{db}/unlock", post(unlock))
}

async fn lock(state: State<AppState>, caller: Extension<Caller>, db: Path<String>) -> Result<(), ApiError> {
    set(state, caller, db, true).await
}

async fn unlock(state: State<AppState>, caller: Extension<Caller>, db: Path<String>) -> Result<(), ApiError> {
    set(state, caller, db, false).await
}

async fn set(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    locked: bool,
) -> Result<(), ApiError> {
    let _guard = state.control_lock().await;
    let record = state.lookup(&db)?;
    if record.owner_identity != caller.identity {
        let verb = if locked { "lock" } else { "unlock" };
        return Err(ApiError::Forbidden(format!(
            "only the owner of database `{db}` may {verb} it, and {} is not its owner",
            caller.identity
        )));
    }
    state
        .locks()
        .set(record.database_identity, locked)
        .map_err(|e| ApiError::internal("saving the database locks", e))
}

/// Refuses `what` (e.g. "delete it") on a locked database, saying how to unlock it.
///
/// # Errors
/// 403 when `identity` is locked.
pub(crate) fn ensure_unlocked(state: &AppState, identity: Identity, db: &str, what: &str) -> Result<(), ApiError> {
    if state.locks().is_locked(identity) {
        return Err(ApiError::Forbidden(format!(
            "database `{db}` is locked, so you cannot {what}. Unlock it first with `spacetime unlock {db}`"
        )));
    }
    Ok(())
}
