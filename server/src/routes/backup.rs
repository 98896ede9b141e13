//! Hot backups over HTTP, owner only. `GET /v1/database/:db/backup` answers a backup
//! file (see [`crate::backup`]) of the database's state at a commit boundary, taken
//! while it keeps serving; `POST /v1/database/:name/restore` creates database `:name`
//! from such a file (replacing an existing one of that name only with
//! `?delete_data=true`), after checking its checksum.

use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::backup::{self, Manifest};
use crate::control;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use spacetime_sats::Timestamp;

/// The largest backup a restore accepts: 4 GiB, far above the 256 MiB module limit
/// plus any state this server holds in memory.
const MAX_BACKUP: usize = 4 << 30;

/// The backup routes (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/database/{db}/backup", get(take)).route(
        "/database/{name}/restore",
        post(restore).layer(DefaultBodyLimit::max(MAX_BACKUP)),
    )
}

async fn take(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let record = state.lookup(&db)?;
    if record.owner_identity != caller.identity {
        return Err(ApiError::Forbidden(format!(
            "only the owner of database `{db}` may back it up, and {} is not its owner",
            caller.identity
        )));
    }
    let database = state.running(&record)?;
    let taken_at = Timestamp::now();
    let taken = database
        .backup()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let store = state.clone();
    let hash = record.program_hash.clone();
    let program = tokio::task::spawn_blocking(move || store.programs().get(&hash))
        .await
        .map_err(|e| ApiError::internal("program reading task failed", e))?
        .map_err(|e| ApiError::internal("cannot read the program", e))?;
    let manifest = Manifest {
        database_identity: record.database_identity.to_string(),
        owner_identity: record.owner_identity.to_string(),
        program_hash: record.program_hash.to_string(),
        tx_offset: taken.tx_offset,
        taken_at_micros: taken_at.to_micros_since_unix_epoch(),
        program_len: program.len() as u64,
        state_len: taken.state.len() as u64,
    };
    let file = backup::encode(&manifest, &program, &taken.state);
    let offset = taken.tx_offset.map_or_else(|| "none".to_owned(), |o| o.to_string());
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::HeaderName::from_static("spacetime-tx-offset"), offset),
        ],
        file,
    ))
}

/// `?delete_data=true`: replace an existing database of that name.
#[derive(Debug, serde::Deserialize)]
struct RestoreParams {
    #[serde(default)]
    delete_data: bool,
}

async fn restore(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    Query(params): Query<RestoreParams>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    if state.config().in_memory {
        return Err(ApiError::BadRequest(
            "this server keeps everything in memory (--in-memory); restore into a server with a data directory".into(),
        ));
    }
    let parsed = backup::decode(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let db_name = crate::names::DatabaseName::parse(&name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // The program store is addressed by the program's BLAKE3 hash.
    let program_hash = blake3::hash(parsed.program).to_hex();
    if program_hash.as_str() != parsed.manifest.program_hash {
        return Err(ApiError::BadRequest(format!(
            "the backup's program hashes to {program_hash} but its manifest says {}; nothing was restored",
            parsed.manifest.program_hash
        )));
    }
    let module = control::prepare(&state, Bytes::copy_from_slice(parsed.program)).await?;
    if let Some(existing) = state.find(&name) {
        if !params.delete_data {
            return Err(ApiError::BadRequest(format!(
                "database `{name}` exists; pass --delete-data to replace it with the backup, or restore under \
                 another name"
            )));
        }
        if existing.owner_identity != caller.identity {
            return Err(ApiError::Forbidden(format!(
                "only the owner of database `{name}` may replace it, and {} is not its owner",
                caller.identity
            )));
        }
        let _guard = state.control_lock().await;
        control::delete(&state, existing.database_identity)?;
    }
    let seed: std::sync::Arc<[u8]> = parsed.state.into();
    let identity =
        control::create_seeded(&state, &caller, Some(db_name), module, Some(seed), Default::default()).await?;
    Ok(Json(serde_json::json!({
        "database_identity": identity.to_string(),
        "restored_from": parsed.manifest.database_identity,
        "tx_offset": parsed.manifest.tx_offset,
    })))
}
