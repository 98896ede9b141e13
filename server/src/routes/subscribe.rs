//! `GET /v1/database/:db/subscribe`: the WebSocket upgrade of the real-time protocol.
//!
//! Negotiates the subprotocol (`v3.bsatn.spacetimedb`, else `v2.bsatn.spacetimedb`),
//! reads `compression=None|Gzip|Brotli`, `connection_id=<hex>` and `confirmed=true|false`
//! (default `true`: updates are released once durable, see [`crate::ws`]), and runs the module's
//! `client_connected` before upgrading (on a cluster reader, the leader runs it:
//! `cluster::forward_ws`): a refusal is a 403 with the module's message and
//! no socket. A `connection_id` live for another identity is refused with a 403 too; the
//! same identity's live id replaces its old connection (see the engine's `client_connect`). The caller (from the bearer token, `?token=`, or a fresh anonymous
//! identity) comes from the auth middleware. The connection itself is served by
//! [`crate::ws`].

use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::cluster::forward_ws::WsForward;
use crate::state::AppState;
use crate::ws::{self, Connection, Framing};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use spacetime_engine::subscription::ClientHandle;
use spacetime_engine::{ClientRequest, ConnectError};
use spacetime_protocol::{v2, v3, Compression};
use spacetime_sats::ConnectionId;
use std::collections::HashMap;
use tokio::sync::oneshot;

/// The subscribe route (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/database/{db}/subscribe", get(subscribe))
}

async fn subscribe(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let (framing, protocol) = negotiate(&headers)?;
    let compression = match params.get("compression") {
        None => Compression::default(),
        Some(value) => Compression::from_query_value(value)
            .ok_or_else(|| ApiError::BadRequest(format!("unknown compression `{value}`: use None, Gzip or Brotli")))?,
    };
    let connection_id = match params.get("connection_id") {
        None => spacetime_engine::random_connection_id(),
        Some(hex) => ConnectionId::from_hex(hex)
            .ok()
            .and_then(ConnectionId::none_if_zero)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "invalid connection_id `{hex}`: send 32 hex digits, not all zero"
                ))
            })?,
    };
    let confirmed = match params.get("confirmed").map(String::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "invalid confirmed `{other}`: use `true` (the default: updates wait until durable) or `false`"
            )))
        }
    };
    let record = state.lookup(&db)?;
    let serving = state.serving(&record)?;
    let (database, admission) = (serving.database, serving.admission);
    let durable = if confirmed { database.durable() } else { None };

    // On a reader, the leader runs client_connected (and later client_disconnected)
    // for this connection, and its calls go there; a refusal refuses the upgrade.
    let forward = WsForward::connect(&state, &database, &caller, connection_id).await?;
    let (client, outgoing) = ClientHandle::new(caller.identity, connection_id);
    let (reply, refused) = oneshot::channel();
    database.client(ClientRequest::Connect {
        client: client.clone(),
        token: caller.token.clone(),
        jwt: Some(caller.payload.clone()),
        reply,
    })?;
    match refused.await {
        Ok(Ok(())) => {}
        Ok(Err(ConnectError::Rejected(message))) => {
            return Err(ApiError::Forbidden(format!(
                "the module's client_connected reducer rejected the connection: {message}"
            )))
        }
        Ok(Err(e @ ConnectError::ConnectionIdInUse(_))) => return Err(ApiError::Forbidden(e.to_string())),
        Ok(Err(e @ ConnectError::AlreadyRegistered)) => return Err(ApiError::internal("connecting a client", e)),
        Err(_) => {
            return Err(ApiError::Unavailable(
                "the database stopped while connecting; retry".into(),
            ))
        }
    }
    let on_failure = {
        let (database, client) = (database.clone(), client.clone());
        move |_| {
            let _ = database.client(ClientRequest::Disconnect { client });
        }
    };
    // Counted from here: a graceful shutdown waits for the session's close frame.
    let session = state.ws_sessions().enter();
    let connection = Connection {
        database,
        client,
        outgoing,
        durable,
        framing,
        compression,
        forward,
        admission,
    };
    Ok(upgrade
        .read_buffer_size(ws::READ_BUFFER_SIZE)
        .protocols([protocol])
        .on_failed_upgrade(on_failure)
        .on_upgrade(move |socket| async move {
            ws::serve(socket, connection).await;
            drop(session);
        }))
}

/// The best subprotocol the client offers: v3, then v2.
fn negotiate(headers: &HeaderMap) -> Result<(Framing, &'static str), ApiError> {
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if offered.contains(&v3::BIN_PROTOCOL) {
        Ok((Framing::V3, v3::BIN_PROTOCOL))
    } else if offered.contains(&v2::BIN_PROTOCOL) {
        Ok((Framing::V2, v2::BIN_PROTOCOL))
    } else {
        Err(ApiError::BadRequest(format!(
            "no valid protocol selected: offered [{}]; this server speaks `{}` and `{}` (Sec-WebSocket-Protocol)",
            offered.join(", "),
            v3::BIN_PROTOCOL,
            v2::BIN_PROTOCOL
        )))
    }
}
