//! `POST` and `DELETE /v1/database/:db/hosted/:connection_id` (cluster mode, between
//! nodes): a reader whose WebSocket client connects or goes has the leader run that
//! client's `client_connected` or `client_disconnected` (`cluster/hosted.rs`,
//! `cluster/forward_ws.rs`). The client's own token is the `Authorization`, so the
//! module sees the client's identity and token payload; the cluster's peer secret in
//! `spacetime-peer-secret` shows that a node of the cluster asks, and
//! `spacetime-host` names the node holding the connection. A refusal by
//! `client_connected` is a 403 with the module's message; a connect or disconnect is
//! answered once durable, with the tx offset for the reader to wait for.
//!
//! A forwarded reducer call names its connection in `spacetime-connection-id` (with the
//! peer secret): see [`hosted_connection`], which the call route asks.

use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::cluster::hosted::{CONNECTION_ID_HEADER, HOST_HEADER, PEER_SECRET_HEADER};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use spacetime_engine::{ConnectError, HostedError};
use spacetime_sats::ConnectionId;

/// The hosted-connection routes (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/database/{db}/hosted/{connection_id}",
        post(connect).delete(disconnect),
    )
}

/// Refuses a request that does not carry the cluster's peer secret.
fn check_peer(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(node) = state.cluster() else {
        return Err(ApiError::NotFound(
            "connections hosted by another node exist only in cluster mode (spacetime start --cluster)".into(),
        ));
    };
    let given = headers.get(PEER_SECRET_HEADER).and_then(|v| v.to_str().ok());
    match given {
        Some(given) if node.is_peer(given) => Ok(()),
        _ => Err(ApiError::Unauthorized(format!(
            "only the cluster's nodes act for a connection another node holds: send the cluster's peer secret in \
             `{PEER_SECRET_HEADER}`"
        ))),
    }
}

fn parse_connection_id(hex: &str) -> Result<ConnectionId, ApiError> {
    ConnectionId::from_hex(hex)
        .ok()
        .and_then(ConnectionId::none_if_zero)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "invalid connection id `{hex}`: send 32 hex digits, not all zero"
            ))
        })
}

/// The connection a reducer call runs on, if a node forwarded it for a connection it
/// holds (`spacetime-connection-id`, which needs the peer secret); `None` for an
/// ordinary HTTP call, which gets a connection of its own.
///
/// # Errors
/// 401 without the peer secret, 400 for a bad connection id.
pub(crate) fn hosted_connection(state: &AppState, headers: &HeaderMap) -> Result<Option<ConnectionId>, ApiError> {
    let Some(value) = headers.get(CONNECTION_ID_HEADER) else {
        return Ok(None);
    };
    check_peer(state, headers)?;
    let hex = value
        .to_str()
        .map_err(|_| ApiError::BadRequest(format!("`{CONNECTION_ID_HEADER}` is not text")))?;
    parse_connection_id(hex).map(Some)
}

async fn connect(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((db, connection_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_peer(&state, &headers)?;
    let connection_id = parse_connection_id(&connection_id)?;
    let host = headers
        .get(HOST_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|host| !host.is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("name the node holding the connection in `{HOST_HEADER}`")))?;
    let record = state.lookup(&db)?;
    let database = state.running(&record)?;
    let connected = database
        .connect_hosted(
            caller.identity,
            connection_id,
            Some(caller.payload.clone()),
            host.to_owned(),
        )
        .await?;
    match connected {
        Ok(()) => {}
        Err(HostedError::Connect(ConnectError::Rejected(message))) => {
            return Err(ApiError::Forbidden(format!(
                "the module's client_connected reducer rejected the connection: {message}"
            )))
        }
        Err(HostedError::Connect(e)) => return Err(ApiError::Forbidden(e.to_string())),
        Err(e @ HostedError::NotLeader(_)) => return Err(ApiError::Unavailable(e.to_string())),
    }
    let mut answer = HeaderMap::new();
    super::call::tx_offset(&database, &mut answer);
    Ok((answer, ()).into_response())
}

async fn disconnect(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((db, connection_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_peer(&state, &headers)?;
    let connection_id = parse_connection_id(&connection_id)?;
    let record = state.lookup(&db)?;
    let database = state.running(&record)?;
    let ended = database
        .disconnect_hosted(caller.identity, connection_id, Some(caller.payload.clone()))
        .await?
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let mut answer = HeaderMap::new();
    super::call::tx_offset(&database, &mut answer);
    // Whether client_disconnected ran now (false: it had run already, or the
    // connection was never made).
    Ok((answer, axum::Json(serde_json::json!({ "disconnected": ended }))).into_response())
}
