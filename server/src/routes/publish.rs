//! Creating, updating and deleting databases: `POST /v1/database`,
//! `PUT /v1/database/:name_or_identity` and `DELETE /v1/database/:name_or_identity`.

use super::query::{check_host_type, flag, Params};
use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::control::{self, PublishOp};
use crate::names::{DatabaseName, NameOrIdentity};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{post, put};
use axum::{Extension, Json, Router};
use serde_json::json;
use spacetime_sats::Identity;

/// The publish and delete routes (relative to `/v1`). Programs have no size limit, as
/// upstream.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/database", post(publish_new))
        .route("/database/{db}", put(publish).delete(delete))
        .layer(DefaultBodyLimit::disable())
}

/// `{"Success":{"domain":…,"database_identity":…,"op":…}}`.
fn success(domain: Option<&str>, identity: Identity, op: PublishOp) -> Json<serde_json::Value> {
    let op = match op {
        PublishOp::Created => "Created",
        PublishOp::Updated => "Updated",
    };
    Json(json!({ "Success": { "domain": domain, "database_identity": identity.to_hex().to_string(), "op": op } }))
}

fn program_bytes(body: Bytes) -> Result<Vec<u8>, ApiError> {
    if body.is_empty() {
        return Err(ApiError::BadRequest(
            "the request body is empty: send the module's .wasm file as the body".into(),
        ));
    }
    Ok(body.to_vec())
}

/// `POST /v1/database`: a new database with a fresh identity and no name.
async fn publish_new(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_host_type(&params)?;
    let wasm = program_bytes(body)?;
    let _guard = state.control_lock().await;
    let identity = control::create(&state, &caller, None, wasm).await?;
    Ok(success(None, identity, PublishOp::Created))
}

/// `PUT /v1/database/:name_or_identity`: create (by name) or update; `clear=true` resets.
async fn publish(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_host_type(&params)?;
    let clear = flag(&params, "clear", false)?;
    let wasm = program_bytes(body)?;
    let _guard = state.control_lock().await;
    let domain = match NameOrIdentity::parse(&db) {
        NameOrIdentity::Name(name) => Some(name),
        NameOrIdentity::Identity(_) => None,
    };
    if let Some(record) = state.find(&db) {
        if record.owner_identity != caller.identity {
            return Err(ApiError::Json(
                StatusCode::FORBIDDEN,
                json!({ "PermissionDenied": { "name": db } }),
            ));
        }
        let identity = record.database_identity;
        control::update(&state, record, wasm, clear).await?;
        return Ok(success(domain.as_deref(), identity, PublishOp::Updated));
    }
    let Some(name) = domain else {
        return Err(ApiError::NotFound(format!(
            "No such database: `{db}`; to create a database, publish it under a name, or without one to get a new identity"
        )));
    };
    let name = DatabaseName::parse(&name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let identity = control::create(&state, &caller, Some(name.clone()), wasm).await?;
    Ok(success(Some(name.as_str()), identity, PublishOp::Created))
}

/// `DELETE /v1/database/:name_or_identity`: owner only; 200 also if it does not exist.
async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
) -> Result<(), ApiError> {
    let _guard = state.control_lock().await;
    let Some(record) = state.find(&db) else {
        return Ok(());
    };
    if record.owner_identity != caller.identity {
        return Err(ApiError::Forbidden(format!(
            "only the owner of database `{db}` may delete it, and {} is not its owner",
            caller.identity
        )));
    }
    Ok(control::delete(&state, record.database_identity)?)
}
