//! Reading a database's metadata and managing its names: `GET /v1/database/:db`,
//! `…/identity`, `…/names` (GET, PUT, POST), `…/schema` and `…/unstable/timestamp`.

use super::query::Params;
use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::control::registry_error;
use crate::names::DatabaseName;
use crate::registry::DatabaseRecord;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use spacetime_sats::def::raw::RawModuleDef;
use spacetime_sats::json::to_json;
use spacetime_sats::Timestamp;

/// The metadata routes (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/database/{db}", get(info))
        .route("/database/{db}/identity", get(identity))
        .route("/database/{db}/names", get(names).put(set_names).post(add_name))
        .route("/database/{db}/schema", get(schema))
        .route("/database/{db}/unstable/timestamp", get(timestamp))
}

/// `GET /v1/database/:db`: identities, host type and program hash, as SATS-JSON;
/// `checksum`, the rolling checksum of the rows this node holds (see
/// [`checksum_status`]); in cluster mode also `cluster`: this node, the leader and the
/// replicas (see [`crate::cluster::ClusterNode::placement`]; an error text if etcd
/// cannot say).
async fn info(State(state): State<AppState>, Path(db): Path<String>) -> Result<Json<Value>, ApiError> {
    let record = state.lookup(&db)?;
    let mut info = json!({
        "database_identity": { "__identity__": format!("0x{}", record.database_identity.to_hex()) },
        "owner_identity": { "__identity__": format!("0x{}", record.owner_identity.to_hex()) },
        "host_type": { "Wasm": [] },
        "initial_program": record.program_hash,
    });
    if let Some(checksum) = checksum_status(&state, record.database_identity).await {
        info["checksum"] = checksum;
    }
    if let Some(node) = state.cluster().cloned() {
        let identity = record.database_identity;
        let placement = tokio::task::spawn_blocking(move || node.placement(identity))
            .await
            .map_err(|e| e.to_string())
            .and_then(|p| p.map_err(|e| e.to_string()))
            .unwrap_or_else(|why| json!({ "error": why }));
        info["cluster"] = placement;
    }
    Ok(Json(info))
}

/// The rolling checksum of the database's rows on this node (design §9), so that two
/// nodes can be compared: `{"offset", "value", "verified", "diverged"}`. On a node
/// that follows it, as this node's replica computed it from the log it followed
/// (`verified`: the last offset whose value matched the leader's; `diverged`: where
/// it stopped matching, if it did); otherwise the running database's after the last
/// record it logged. `None` when this node holds no log of it (in memory).
async fn checksum_status(state: &AppState, identity: spacetime_sats::Identity) -> Option<Value> {
    let replica = state.cluster().and_then(|node| {
        let status = node.replica_checksum(identity)?;
        (node.following(identity).is_some() || status.diverged.is_some()).then_some(status)
    });
    if let Some(status) = replica {
        return Some(json!({
            "offset": status.offset,
            "value": status.checksum,
            "verified": status.verified,
            "diverged": status.diverged,
        }));
    }
    let at = state.databases().get(identity)?.checksum().await.ok()??;
    Some(json!({
        "offset": at.offset,
        "value": at.checksum.to_string(),
        "verified": null,
        "diverged": null,
    }))
}

/// `GET /v1/database/:db/identity`: the identity as plain hex.
async fn identity(State(state): State<AppState>, Path(db): Path<String>) -> Result<String, ApiError> {
    Ok(state.lookup(&db)?.database_identity.to_hex().to_string())
}

/// `GET /v1/database/:db/names`: `{"names": […]}`.
async fn names(State(state): State<AppState>, Path(db): Path<String>) -> Result<Json<Value>, ApiError> {
    let record = state.lookup(&db)?;
    Ok(Json(
        json!({ "names": state.registry().names_of(record.database_identity) }),
    ))
}

/// 401 `NotYourDatabase` unless `caller` owns `record`.
fn check_owner_of_names(record: &DatabaseRecord, caller: &Caller) -> Result<(), ApiError> {
    if record.owner_identity == caller.identity {
        return Ok(());
    }
    Err(ApiError::Json(
        StatusCode::UNAUTHORIZED,
        json!({ "NotYourDatabase": { "database": record.database_identity.to_hex().to_string() } }),
    ))
}

/// `PUT /v1/database/:db/names`: replaces every name with the JSON array in the body.
async fn set_names(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let requested: Vec<String> = serde_json::from_str(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body must be a JSON array of names, such as [\"my-db\"]: {e}"
        ))
    })?;
    let names = requested
        .iter()
        .map(|n| DatabaseName::parse(n).map_err(|e| ApiError::BadRequest(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let _guard = state.control_lock().await;
    let record = state.lookup(&db)?;
    check_owner_of_names(&record, &caller)?;
    state
        .registry()
        .set_names(record.database_identity, &names)
        .map_err(registry_error)?;
    crate::cluster::names_changed(&state, &record).await;
    Ok(Json(json!("Success")))
}

/// `POST /v1/database/:db/names`: adds the plain-text name in the body.
async fn add_name(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let name = DatabaseName::parse(body.trim()).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let _guard = state.control_lock().await;
    let record = state.lookup(&db)?;
    check_owner_of_names(&record, &caller)?;
    let mut names: Vec<DatabaseName> = state
        .registry()
        .names_of(record.database_identity)
        .iter()
        .filter_map(|n| DatabaseName::parse(n).ok())
        .collect();
    if !names.contains(&name) {
        names.push(name.clone());
    }
    state
        .registry()
        .set_names(record.database_identity, &names)
        .map_err(registry_error)?;
    crate::cluster::names_changed(&state, &record).await;
    Ok(Json(
        json!({ "Success": { "domain": name.as_str(), "database_identity": record.database_identity.to_hex().to_string() } }),
    ))
}

/// `GET /v1/database/:db/schema?version=10`: the module definition as SATS-JSON.
async fn schema(
    State(state): State<AppState>,
    Path(db): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let version = params.get("version").map(String::as_str);
    let record = state.lookup(&db)?;
    let program = state.running(&record)?.program();
    match (version, program.raw_module_def()) {
        (Some("10"), RawModuleDef::V10(def)) => Ok(Json(to_json(def))),
        (Some("9"), RawModuleDef::V9(def)) => Ok(Json(to_json(def))),
        (Some("9"), _) => Err(ApiError::BadRequest(
            "this module describes itself in the V10 format only; ask for `?version=10`".into(),
        )),
        (Some("10"), _) => Err(ApiError::BadRequest(
            "this module describes itself in the V9 format only; ask for `?version=9`".into(),
        )),
        (Some(other), _) => Err(ApiError::BadRequest(format!(
            "unknown schema version `{other}`; ask for `?version=10`"
        ))),
        (None, _) => Err(ApiError::BadRequest(
            "the `version` query parameter is required; ask for `?version=10`".into(),
        )),
    }
}

/// `GET /v1/database/:db/unstable/timestamp`: the server's clock, as SATS-JSON.
async fn timestamp(State(state): State<AppState>, Path(db): Path<String>) -> Result<Json<Value>, ApiError> {
    state.lookup(&db)?;
    Ok(Json(
        json!({ "__timestamp_micros_since_unix_epoch__": Timestamp::now().to_micros_since_unix_epoch() }),
    ))
}
