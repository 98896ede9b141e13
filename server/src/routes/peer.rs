//! The peer endpoints (cluster mode only; protocol in `cluster/peer.rs`): the files a
//! node holds of a database, one snapshot or segment, and a program by hash, for
//! another node of the cluster. Every request must carry the cluster's peer secret as
//! a bearer token; anything else is a 401 before any file is looked at. Files are
//! sent as they are on disk: the receiving node checks them.

use crate::api_error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use spacetime_commitlog::{segment_file_name, snapshot_file_name, LOG_DIR, SNAPSHOT_DIR};
use spacetime_sats::Identity;
use tokio::io::AsyncReadExt;

/// The peer routes (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/peer/database/{identity}/files", get(files))
        .route("/peer/database/{identity}/snapshot/{tx_offset}", get(snapshot))
        .route("/peer/database/{identity}/segment/{start}", get(segment))
        .route("/peer/program/{hash}", get(program))
}

/// Refuses a request that is not from a node of this cluster.
fn check_peer(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(node) = state.cluster() else {
        return Err(ApiError::NotFound(
            "peer endpoints exist only in cluster mode (spacetime start --cluster)".into(),
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(given) if node.is_peer(given) => Ok(()),
        _ => Err(ApiError::Unauthorized(
            "peer endpoints answer only the cluster's nodes: send the cluster's peer secret (which nodes read from \
             etcd) as `Authorization: Bearer <secret>`"
                .into(),
        )),
    }
}

/// The replica directory of database `identity` (hex) on this node.
fn replica_dir(state: &AppState, identity: &str) -> Result<std::path::PathBuf, ApiError> {
    let parsed: Identity = identity
        .parse()
        .map_err(|e| ApiError::BadRequest(format!("`{identity}` is not a database identity: {e}")))?;
    let record = state
        .registry()
        .get(parsed)
        .ok_or_else(|| ApiError::NotFound(format!("this node holds no database {identity}")))?;
    Ok(state.config().replica_dir(record.replica_id))
}

async fn files(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(identity): Path<String>,
) -> Result<Json<crate::cluster::peer::FileList>, ApiError> {
    check_peer(&state, &headers)?;
    let dir = replica_dir(&state, &identity)?;
    let listed = tokio::task::spawn_blocking(move || crate::cluster::peer::list_files(&dir))
        .await
        .map_err(|e| ApiError::internal("listing a database's files", e))?;
    Ok(Json(
        listed.map_err(|e| ApiError::internal("listing a database's files", e))?,
    ))
}

async fn snapshot(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((identity, tx_offset)): Path<(String, u64)>,
) -> Result<Response, ApiError> {
    check_peer(&state, &headers)?;
    let path = replica_dir(&state, &identity)?
        .join(SNAPSHOT_DIR)
        .join(snapshot_file_name(tx_offset));
    send_file(&path, None).await
}

/// `?bytes=<n>`: how much of a segment to send.
#[derive(serde::Deserialize)]
struct SegmentQuery {
    bytes: Option<u64>,
}

async fn segment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((identity, start)): Path<(String, u64)>,
    Query(query): Query<SegmentQuery>,
) -> Result<Response, ApiError> {
    check_peer(&state, &headers)?;
    let path = replica_dir(&state, &identity)?
        .join(LOG_DIR)
        .join(segment_file_name(start));
    send_file(&path, query.bytes).await
}

async fn program(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    check_peer(&state, &headers)?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest(format!(
            "`{hash}` is not a program hash (64 hex digits)"
        )));
    }
    let bytes = state
        .programs()
        .get(&hash)
        .map_err(|_| ApiError::NotFound(format!("this node holds no program {hash}")))?;
    Ok(([(header::CONTENT_TYPE, "application/wasm")], bytes.to_vec()).into_response())
}

/// Streams the file at `path` (its first `limit` bytes, if given).
async fn send_file(path: &std::path::Path, limit: Option<u64>) -> Result<Response, ApiError> {
    let file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            return Err(ApiError::NotFound(format!("this node no longer holds {name}")));
        }
        Err(e) => return Err(ApiError::internal("opening a file for a peer", e)),
    };
    let reader = file.take(limit.unwrap_or(u64::MAX));
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(reader));
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response())
}
