//! `POST /v1/database/:db/call/:function`: call a reducer or a procedure with SATS-JSON
//! arguments.
//!
//! The body must be JSON; the database's actor admits the call, checks the arguments
//! against the reducer's parameters (a bad one is a 400 naming the parameter before the
//! module runs) and runs it, against the module running at that moment. A procedure runs
//! off the actor; its return value is the response body, as SATS-JSON.

use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use spacetime_engine::{CallError, CallRefused, Database};
use spacetime_host::{FunctionKind, ReducerError};

/// The call route (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/database/{db}/call/{reducer}", post(call))
}

async fn call(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((db, reducer)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, ApiError> {
    // A call a reader forwards for its WebSocket client runs on that connection.
    let hosted = super::hosted::hosted_connection(&state, &headers)?;
    let record = state.lookup(&db)?;
    let database = state.running(&record)?;
    let args = parse_body(&body)?;
    if database.program().module_def().procedure(&reducer).is_some() {
        return call_procedure(&database, &caller, &db, &reducer, args).await;
    }
    let jwt = Some(caller.payload.clone());
    let called = match hosted {
        Some(connection_id) => {
            database
                .call_hosted(caller.identity, connection_id, jwt, reducer.clone(), args)
                .await
        }
        None => database.call(caller.identity, jwt, reducer.clone(), args).await,
    };
    let outcome = match called {
        Ok(outcome) => outcome,
        Err(CallError::Refused(CallRefused::NoSuchReducer { callable, .. })) => {
            return Err(no_such_reducer(&callable, &db, &reducer))
        }
        Err(e) => return Err(e.into()),
    };
    let mut headers = HeaderMap::new();
    headers.insert("spacetime-energy-used", 0.into());
    headers.insert(
        "spacetime-execution-duration-micros",
        (outcome.duration.as_micros() as u64).into(),
    );
    tx_offset(&database, &mut headers);
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

async fn call_procedure(
    database: &Database,
    caller: &Caller,
    db: &str,
    procedure: &str,
    args: serde_json::Value,
) -> Result<Response, ApiError> {
    let reply = match database
        .call_procedure(caller.identity, Some(caller.payload.clone()), procedure, args)
        .await
    {
        Ok(reply) => reply,
        Err(CallError::Refused(CallRefused::NoSuchReducer { callable, .. })) => {
            return Err(no_such_reducer(&callable, db, procedure))
        }
        Err(e) => return Err(e.into()),
    };
    let mut headers = HeaderMap::new();
    headers.insert("spacetime-energy-used", 0.into());
    headers.insert(
        "spacetime-execution-duration-micros",
        (reply.outcome.duration.as_micros() as u64).into(),
    );
    tx_offset(database, &mut headers);
    match (reply.outcome.result, reply.value) {
        (Ok(_), Some(value)) => Ok((headers, axum::Json(value)).into_response()),
        (Err(e @ ReducerError::InvalidArgs { .. }), _) => Err(ApiError::BadRequest(e.to_string())),
        (Err(e), _) => {
            let mut response = ApiError::ReducerFailed(e.describe(FunctionKind::Procedure)).into_response();
            response.headers_mut().extend(headers);
            Ok(response)
        }
        (Ok(_), None) => Err(ApiError::ReducerFailed("the procedure returned no value".into())),
    }
}

/// Names the tx offset the log has made durable, which covers the call's commits
/// (the answer was held until then): a reader that forwarded the call waits until it
/// has applied that offset before answering its client (read-your-writes).
pub(crate) fn tx_offset(database: &Database, headers: &mut HeaderMap) {
    if let Some(offset) = database.durable().and_then(|durable| durable.get()) {
        headers.insert(crate::cluster::forward::TX_OFFSET_HEADER, offset.into());
    }
}

/// The arguments as JSON; an empty body means no arguments.
fn parse_body(body: &str) -> Result<serde_json::Value, ApiError> {
    if body.trim().is_empty() {
        return Ok(serde_json::Value::Array(Vec::new()));
    }
    serde_json::from_str(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body is not JSON ({e}); send the arguments as a JSON array, such as [\"Alice\", 42]"
        ))
    })
}

fn no_such_reducer(callable: &[String], db: &str, reducer: &str) -> ApiError {
    let list = if callable.is_empty() {
        "it has none".to_owned()
    } else {
        format!("it has: {}", callable.join(", "))
    };
    ApiError::NotFound(format!("No such reducer `{reducer}` in database `{db}`; {list}"))
}
