//! Creating, updating and deleting databases: `POST /v1/database`,
//! `PUT /v1/database/:name_or_identity` and `DELETE /v1/database/:name_or_identity`.
//!
//! A publish body is the module's bytes, read by [`ProgramBody`] up to the configured
//! limit and handed down without a copy. The module is loaded before the control lock
//! is taken (see [`crate::control`]).

use super::query::{check_host_type, flag, number, Params};
use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::control::{self, PreparedModule, PublishOp};
use crate::environment;
use crate::names::{DatabaseName, NameOrIdentity};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::header::{CONTENT_LENGTH, RETRY_AFTER};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Extension, Json, Router};
use futures_util::StreamExt;
use serde_json::{json, Map};
use spacetime_engine::{Plan, Refusals, UpdateOptions};
use spacetime_host::EnvironmentValues;
use spacetime_sats::Identity;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

/// The publish and delete routes (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/database", post(publish_new))
        .route("/database/{db}", put(publish).delete(delete))
        .route("/database/{db}/pre_publish", post(pre_publish))
}

/// `{"Success":{"domain":…,"database_identity":…,"op":…}}`.
fn success(domain: Option<&str>, identity: Identity, op: PublishOp) -> Json<serde_json::Value> {
    let op = match op {
        PublishOp::Created => "Created",
        PublishOp::Updated => "Updated",
    };
    Json(json!({ "Success": { "domain": domain, "database_identity": identity.to_hex().to_string(), "op": op } }))
}

/// How many publishes may read their bodies and load their modules at once. Each holds
/// up to `max_publish_body` bytes and a compilation's memory, so this bounds what a
/// burst of publishes can take; the rest wait for a slot.
pub const PUBLISHES_IN_FLIGHT: usize = 4;

/// How long a publish waits for a slot before it is refused with 503.
pub const PUBLISH_SLOT_WAIT: Duration = Duration::from_secs(60);

/// The body of a publish: the module's bytes, at most
/// [`ServerConfig::max_publish_body`](crate::ServerConfig::max_publish_body) of them,
/// and the publish slot it holds until the handler returns.
///
/// A slot is taken before any of the body is read (see [`PUBLISHES_IN_FLIGHT`]). A
/// declared `Content-Length` over the limit is refused before any of the body is read;
/// a streamed body is refused as soon as it passes the limit, so the server never holds
/// more than the limit per slot.
pub struct ProgramBody(Bytes, OwnedSemaphorePermit);

/// Why a publish body was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProgramBodyRejection {
    /// 413: the body is larger than the limit.
    #[error("the module is larger than the server's publish body limit of {limit} bytes (`max_publish_body`); ship a smaller module (a release build, without debug info) or start the server with a larger `--max-publish-body <BYTES>`")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// 400: there is no body.
    #[error("the request body is empty: send the module's .wasm file as the body")]
    Empty,
    /// 400: the body could not be read (the client went away, bad chunking, …).
    #[error("cannot read the request body: {0}")]
    Read(String),
    /// 503: every publish slot stayed taken for [`PUBLISH_SLOT_WAIT`].
    #[error("the server is busy loading {PUBLISHES_IN_FLIGHT} other modules and none finished within {} s; retry the publish shortly", PUBLISH_SLOT_WAIT.as_secs())]
    Busy,
}

impl IntoResponse for ProgramBodyRejection {
    fn into_response(self) -> Response {
        let status = match self {
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Empty | Self::Read(_) => StatusCode::BAD_REQUEST,
            Self::Busy => {
                let retry_after = [(RETRY_AFTER, "5")];
                return (StatusCode::SERVICE_UNAVAILABLE, retry_after, self.to_string()).into_response();
            }
        };
        (status, self.to_string()).into_response()
    }
}

impl FromRequest<AppState> for ProgramBody {
    type Rejection = ProgramBodyRejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.config().max_publish_body;
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(ProgramBodyRejection::TooLarge { limit });
        }
        let slot = tokio::time::timeout(PUBLISH_SLOT_WAIT, state.publish_slots().clone().acquire_owned())
            .await
            .map_err(|_| ProgramBodyRejection::Busy)?
            .map_err(|_| ProgramBodyRejection::Busy)?;
        let mut chunks = req.into_body().into_data_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| ProgramBodyRejection::Read(e.to_string()))?;
            if bytes.len() + chunk.len() > limit {
                return Err(ProgramBodyRejection::TooLarge { limit });
            }
            if bytes.is_empty() {
                // Reserve once, for what the client declared (never past the limit).
                bytes.reserve(declared.map_or(0, |len| len as usize).max(chunk.len()));
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            return Err(ProgramBodyRejection::Empty);
        }
        Ok(Self(Bytes::from(bytes), slot))
    }
}

/// `POST /v1/database`: a new database with a fresh identity and no name.
async fn publish_new(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<Params>,
    ProgramBody(wasm, _slot): ProgramBody,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_host_type(&params)?;
    let changes = env_changes(&params)?;
    let replicas = replicas(&state, &params)?;
    let module = control::prepare(&state, wasm).await?;
    let env = new_environment(&module, "the new database", changes)?;
    let identity = control::create(&state, &caller, None, module, env, replicas).await?;
    Ok(success(None, identity, PublishOp::Created))
}

/// The `env` parameter: a JSON object of environment changes (a string sets a key, `null`
/// removes it), as `PATCH /v1/database/:db/env` takes; none when absent.
fn env_changes(params: &Params) -> Result<Map<String, serde_json::Value>, ApiError> {
    match params.get("env") {
        None => Ok(Map::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            ApiError::BadRequest(format!(
                "the `env` parameter must be a JSON object of environment values, such as {{\"API_KEY\":\"secret\"}}: {e}"
            ))
        }),
    }
}

/// The `replicas` parameter (`spacetime publish --replicas N`): how many nodes of a
/// cluster hold a new database (its leader and N-1 standbys; the cluster's default
/// when absent). Ignored for an update: a database keeps its placement. Refused on a
/// standalone server when more than one is asked for.
fn replicas(state: &AppState, params: &Params) -> Result<Option<u32>, ApiError> {
    let Some(n) = number(params, "replicas")? else {
        return Ok(None);
    };
    let n = u32::try_from(n)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ApiError::BadRequest(format!("query parameter `replicas` must be at least 1, not {n}")))?;
    if state.cluster().is_none() && n > 1 {
        return Err(ApiError::BadRequest(format!(
            "{n} replicas asked for, but this server is not part of a cluster (start it with --cluster): a \
             standalone server holds one copy"
        )));
    }
    Ok(Some(n))
}

/// The environment a new database `db` starts with: `changes` over none, complete for
/// `module` (every required key set), so its `init` can read it.
fn new_environment(
    module: &PreparedModule,
    db: &str,
    changes: Map<String, serde_json::Value>,
) -> Result<EnvironmentValues, ApiError> {
    let mut values = EnvironmentValues::new();
    environment::apply_changes(module.module_def(), db, &mut values, changes)?;
    environment::check_required(module.module_def(), db, &values)?;
    Ok(values)
}

/// `PUT /v1/database/:name_or_identity`: create (by name) or update; `clear=true` resets.
async fn publish(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    Query(params): Query<Params>,
    ProgramBody(wasm, _slot): ProgramBody,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_host_type(&params)?;
    let clear = flag(&params, "clear", false)?;
    let changes = env_changes(&params)?;
    let replicas = replicas(&state, &params)?;
    let options = UpdateOptions {
        break_clients: break_clients(&params)?,
        publisher: caller.identity,
    };
    let domain = match NameOrIdentity::parse(&db) {
        NameOrIdentity::Name(name) => Some(name),
        NameOrIdentity::Identity(_) => None,
    };
    // Refuse what can be refused cheaply before spending the time to load the module;
    // the checks are repeated under the lock, since things may change meanwhile.
    let name = match state.find(&db) {
        Some(record) => {
            check_owner(&db, record.owner_identity, &caller)?;
            None
        }
        None => Some(new_name(&db, domain.as_deref())?),
    };
    let module = control::prepare(&state, wasm).await?;
    {
        let _guard = state.control_lock().await;
        if let Some(record) = state.find(&db) {
            check_owner(&db, record.owner_identity, &caller)?;
            if clear {
                super::lock::ensure_unlocked(&state, record.database_identity, &db, "clear its data")?;
            }
            let identity = record.database_identity;
            // The new module runs with the values it will have after this publish.
            let mut env = (*state.host().environments().get(identity)).clone();
            let changed = !changes.is_empty();
            environment::apply_changes(module.module_def(), &db, &mut env, changes)?;
            environment::check_required(module.module_def(), &db, &env)?;
            control::update(&state, record, module, clear, options, None).await?;
            if changed {
                environment::store(&state, identity, env).map_err(|e| {
                    ApiError::Unavailable(format!(
                        "the module was updated but the environment of database `{db}` could not be stored: {e}; \
                         set it again with `spacetime env set`"
                    ))
                })?;
            }
            return Ok(success(domain.as_deref(), identity, PublishOp::Updated));
        }
    }
    let name = match name {
        Some(name) => name,
        // It was deleted while the module loaded.
        None => new_name(&db, domain.as_deref())?,
    };
    let env = new_environment(&module, name.as_str(), changes)?;
    let identity = control::create(&state, &caller, Some(name.clone()), module, env, replicas).await?;
    Ok(success(Some(name.as_str()), identity, PublishOp::Created))
}

/// Whether the publisher accepts a plan that disconnects every client: our
/// `break_clients=true`, or upstream's `migration_policy=break_clients`.
pub(super) fn break_clients(params: &Params) -> Result<bool, ApiError> {
    let policy = match params.get("migration_policy").map(String::as_str) {
        None | Some("compatible") => false,
        Some("break_clients") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "query parameter `migration_policy` must be `compatible` or `break_clients`, not `{other}`"
            )))
        }
    };
    Ok(policy || flag(params, "break_clients", false)?)
}

/// `POST /v1/database/:name_or_identity/pre_publish`: what publishing the body's module
/// over the database would do, changing nothing. The answer is
/// `{"AutoMigrate": {"migrate_plan", "break_clients", "steps": [{"kind", "description"}]}}`
/// or `{"ManualMigrate": {"reason", "refusals": [..]}}` (the database must be cleared
/// with `--delete-data`, or the change reverted).
async fn pre_publish(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    Query(params): Query<Params>,
    ProgramBody(wasm, _slot): ProgramBody,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_host_type(&params)?;
    let Some(record) = state.find(&db) else {
        return Err(ApiError::NotFound(format!(
            "No such database: `{db}`; publishing would create it, so there is nothing to migrate"
        )));
    };
    check_owner(&db, record.owner_identity, &caller)?;
    let module = control::prepare(&state, wasm).await?;
    let answer = plan_json(control::plan(&state, &record, &module)?);
    Ok(Json(answer))
}

/// The answer of `pre_publish` (and of a rollback's dry run) for a plan or the
/// planner's refusals.
pub(super) fn plan_json(plan: Result<Plan, Refusals>) -> serde_json::Value {
    match plan {
        Ok(plan) => {
            let steps: Vec<_> = plan
                .steps
                .iter()
                .map(|s| json!({ "kind": s.kind(), "description": s.to_string() }))
                .collect();
            json!({ "AutoMigrate": {
                "migrate_plan": plan.summary(),
                "break_clients": plan.breaks_clients(),
                "steps": steps,
            } })
        }
        Err(refusals) => {
            let each: Vec<_> = refusals.0.iter().map(ToString::to_string).collect();
            json!({ "ManualMigrate": { "reason": refusals.to_string(), "refusals": each } })
        }
    }
}

/// Refuses a publish to another identity's database.
pub(super) fn check_owner(db: &str, owner: Identity, caller: &Caller) -> Result<(), ApiError> {
    if owner != caller.identity {
        return Err(ApiError::Json(
            StatusCode::FORBIDDEN,
            json!({ "PermissionDenied": { "name": db } }),
        ));
    }
    Ok(())
}

/// The name a publish to a database that does not exist creates it under.
fn new_name(db: &str, domain: Option<&str>) -> Result<DatabaseName, ApiError> {
    let Some(name) = domain else {
        return Err(ApiError::NotFound(format!(
            "No such database: `{db}`; to create a database, publish it under a name, or without one to get a new identity"
        )));
    };
    DatabaseName::parse(name).map_err(|e| ApiError::BadRequest(e.to_string()))
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
    super::lock::ensure_unlocked(&state, record.database_identity, &db, "delete it")?;
    Ok(control::delete(&state, record.database_identity)?)
}
