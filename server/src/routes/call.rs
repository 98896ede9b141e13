//! `POST /v1/database/:db/call/:reducer`: call a reducer with SATS-JSON arguments.
//!
//! The arguments are checked against the reducer's parameters and converted to BSATN
//! here, so a bad argument is a 400 naming the parameter before the module runs.

use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::database::{CallResult, ReducerTarget};
use crate::registry::DatabaseRecord;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use spacetime_host::ReducerError;
use spacetime_sats::bsatn::value::value_to_vec;
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::FunctionVisibility;
use spacetime_sats::json::value_from_json;
use spacetime_sats::AlgebraicType;

/// The call route (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/database/{db}/call/{reducer}", post(call))
}

async fn call(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((db, reducer)): Path<(String, String)>,
    body: String,
) -> Result<Response, ApiError> {
    let record = state.lookup(&db)?;
    let database = state.running(&record)?;
    // One retry: the module may be updated between resolving the reducer and running it.
    let mut attempts = 0;
    let outcome = loop {
        let program = database.program();
        let (target, args) = resolve(program.module_def(), &record, &caller, &db, &reducer, &body)?;
        match database.call(caller.identity, target, args).await {
            Ok(CallResult::Ran(outcome)) => break outcome,
            Ok(CallResult::Stale) if attempts == 0 => attempts += 1,
            Ok(CallResult::Stale) => {
                return Err(ApiError::internal(
                    "reducer call",
                    "the module kept changing while the call was resolved",
                ))
            }
            Ok(CallResult::Rejected(message)) => {
                return Err(ApiError::Forbidden(format!(
                    "the module's client_connected reducer rejected the caller: {message}"
                )))
            }
            Err(e) => return Err(e.into()),
        }
    };
    let mut headers = HeaderMap::new();
    headers.insert("spacetime-energy-used", 0.into());
    headers.insert(
        "spacetime-execution-duration-micros",
        (outcome.duration.as_micros() as u64).into(),
    );
    match outcome.result {
        Ok(_) => Ok((headers, ()).into_response()),
        Err(e @ ReducerError::InvalidArgs { .. }) => Err(ApiError::BadRequest(e.to_string())),
        Err(e @ ReducerError::NoSuchReducer { .. }) => Err(ApiError::NotFound(e.to_string())),
        Err(e) => {
            let mut response = ApiError::ReducerFailed(e.to_string()).into_response();
            response.headers_mut().extend(headers);
            Ok(response)
        }
    }
}

/// Finds the reducer `name` in `def`, checks that `caller` may call it, and encodes the
/// JSON arguments in `body` for it.
fn resolve(
    def: &ModuleDef,
    record: &DatabaseRecord,
    caller: &Caller,
    db: &str,
    name: &str,
    body: &str,
) -> Result<(ReducerTarget, Vec<u8>), ApiError> {
    let (id, reducer) = def.reducer(name).ok_or_else(|| no_such_reducer(def, db, name))?;
    if let Some(lifecycle) = &reducer.lifecycle {
        return Err(ApiError::BadRequest(format!(
            "`{name}` is the module's {lifecycle:?} lifecycle reducer; the server calls it, clients cannot"
        )));
    }
    if matches!(reducer.visibility, FunctionVisibility::Private) && caller.identity != record.owner_identity {
        return Err(ApiError::Forbidden(format!(
            "reducer `{name}` is private (a scheduled reducer); only the database owner may call it"
        )));
    }
    let args = parse_args(body, &reducer.params, def)?;
    Ok((
        ReducerTarget {
            id,
            name: reducer.name.clone(),
            params: reducer.params.clone(),
        },
        args,
    ))
}

/// The BSATN of the reducer's arguments, from a JSON array or object (an empty body
/// means no arguments).
fn parse_args(body: &str, params: &spacetime_sats::ProductType, def: &ModuleDef) -> Result<Vec<u8>, ApiError> {
    let json: serde_json::Value = if body.trim().is_empty() {
        serde_json::Value::Array(Vec::new())
    } else {
        serde_json::from_str(body).map_err(|e| {
            ApiError::BadRequest(format!(
                "the body is not JSON ({e}); send the arguments as a JSON array, such as [\"Alice\", 42]"
            ))
        })?
    };
    let value = value_from_json(&json, &AlgebraicType::Product(params.clone()), &def.typespace).map_err(|e| {
        let names: Vec<&str> = params.elements.iter().map(|p| p.name.as_deref().unwrap_or("_")).collect();
        ApiError::BadRequest(format!(
            "invalid arguments {}; the reducer takes ({}), sent as a JSON array in that order or an object keyed by name",
            e.under("args"),
            names.join(", ")
        ))
    })?;
    // A product's BSATN is its fields' BSATN back to back: exactly the args layout.
    Ok(value_to_vec(&value))
}

fn no_such_reducer(def: &ModuleDef, db: &str, reducer: &str) -> ApiError {
    let callable: Vec<&str> = def
        .reducers
        .iter()
        .filter(|r| r.lifecycle.is_none())
        .map(|r| r.name.as_str())
        .collect();
    let list = if callable.is_empty() {
        "it has none".to_owned()
    } else {
        format!("it has: {}", callable.join(", "))
    };
    ApiError::NotFound(format!("No such reducer `{reducer}` in database `{db}`; {list}"))
}
