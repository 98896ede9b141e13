//! A reader's WebSocket connections: their reducer and procedure calls go to the
//! leader (design §8). Each connection gets one worker task that forwards its calls in
//! the order the client sent them (as the leader would run them on a connection of its
//! own), each as an HTTP call with the client's token (`forward.rs`: through a
//! failover, bounded; the answer held until this node has applied the call). The
//! leader's answer becomes the `ReducerResult` or `ProcedureResult` the client waits
//! for. The call's row changes reach the client as this node publishes them, in the
//! `TransactionUpdate` of the applied transaction, before the result (the connection
//! writes what its queue holds before each result); so the result itself carries none
//! (`OkEmpty`).
//!
//! The connection itself is the leader's too (design §8, "lifecycle reducers arriving
//! at a reader are forwarded"): before the upgrade, the leader runs the client's
//! `client_connected` for this connection id (`POST …/hosted/<connection id>`, with
//! the client's token and the peer secret; a refusal refuses the upgrade, as on a
//! leader), logged with this node as its host (`hosted.rs`); each reducer call runs
//! on that connection id (`spacetime-connection-id`), so `ctx.connection_id` is the
//! client's; and when the connection ends, after its last call, the leader runs
//! `client_disconnected` (`DELETE …/hosted/<connection id>`). If this node dies
//! instead, the leader ends its connections once its registration expires. A
//! procedure call still runs on a connection of its own, as an HTTP procedure call
//! does.

use super::forward::{self, Forward, ForwardError};
use super::hosted::{CONNECTION_ID_HEADER, HOST_HEADER, PEER_SECRET_HEADER};
use super::ClusterNode;
use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::state::AppState;
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use spacetime_engine::Database;
use spacetime_protocol::v2::{self, ClientMessage, ServerMessage};
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::bsatn::value::{decode_value_exact, value_to_vec};
use spacetime_sats::json::{value_from_json, value_to_json};
use spacetime_sats::{AlgebraicType, ConnectionId, Identity, ProductType, TimeDuration, Timestamp};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How many calls of one connection may wait to be forwarded; past that the
/// connection's reads wait (back pressure on a client that calls faster than the
/// leader answers).
const QUEUED_CALLS: usize = 256;

/// How many times a connection's end is sent to the leader (each try waits through a
/// failover for up to [`forward::LEADER_WAIT`]) before it is left to the next leader
/// finding this node gone.
const DISCONNECT_TRIES: u32 = 4;

/// The forwarding of one reader connection's calls.
pub struct WsForward {
    calls: mpsc::Sender<ClientMessage>,
    replies: mpsc::Receiver<Vec<u8>>,
}

/// What the worker needs to forward a call.
struct Worker {
    state: AppState,
    node: Arc<ClusterNode>,
    database: Arc<Database>,
    identity: Identity,
    token: String,
    connection_id: ConnectionId,
}

impl WsForward {
    /// The forwarding of a new connection `connection_id` of `caller` to `database`,
    /// if this node is a reader that follows it (`None` otherwise: calls go to the
    /// actor). The leader runs the client's `client_connected` first; dropping the
    /// forwarding (the connection ended, or never upgraded) has it run
    /// `client_disconnected` after the connection's last call.
    ///
    /// # Errors
    /// 403 with the module's message if `client_connected` refused the client; 503 if
    /// no leader could be asked.
    pub async fn connect(
        state: &AppState,
        database: &Arc<Database>,
        caller: &Caller,
        connection_id: ConnectionId,
    ) -> Result<Option<Self>, ApiError> {
        let Some(node) = state.cluster().filter(|node| node.is_reader()).cloned() else {
            return Ok(None);
        };
        if node.following(database.identity).is_none() {
            return Ok(None);
        }
        let worker = Worker {
            state: state.clone(),
            node,
            database: database.clone(),
            identity: database.identity,
            token: caller.token.clone(),
            connection_id,
        };
        let (status, body) = worker.lifecycle(Method::POST).await.map_err(|e| match e {
            ForwardError::Unknown { .. } => ApiError::Unavailable(format!(
                "{e}; the connection was not made here (if the leader made it, it ends it when this node reports it \
                 gone): reconnect"
            )),
            other => ApiError::Unavailable(other.to_string()),
        })?;
        let text = String::from_utf8_lossy(&body).into_owned();
        match status.as_u16() {
            200..=299 => {}
            403 => return Err(ApiError::Forbidden(text)),
            other => {
                return Err(ApiError::Unavailable(format!(
                    "the leader did not connect this client ({other}): {text}"
                )))
            }
        }
        let (calls, queued) = mpsc::channel(QUEUED_CALLS);
        let (answered, replies) = mpsc::channel(QUEUED_CALLS);
        tokio::spawn(worker.run(queued, answered));
        Ok(Some(Self { calls, replies }))
    }

    /// Takes `message` if it is a call (forwarded in order; its result comes from
    /// [`Self::next_reply`]), else gives it back for the actor.
    ///
    /// # Errors
    /// The message back if it is not a call.
    pub async fn take(&self, message: ClientMessage) -> Result<(), ClientMessage> {
        match message {
            ClientMessage::CallReducer(_) | ClientMessage::CallProcedure(_) => {
                // The worker ends only with the connection, which is this one.
                let _ = self.calls.send(message).await;
                Ok(())
            }
            other => Err(other),
        }
    }

    /// The next forwarded call's encoded result; pending forever without forwarding.
    pub async fn next_reply(this: &mut Option<Self>) -> Vec<u8> {
        match this {
            Some(forward) => match forward.replies.recv().await {
                Some(reply) => reply,
                None => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }
}

impl Worker {
    async fn run(self, mut queued: mpsc::Receiver<ClientMessage>, answered: mpsc::Sender<Vec<u8>>) {
        while let Some(message) = queued.recv().await {
            let reply = match message {
                ClientMessage::CallReducer(call) => self.reducer(call).await,
                ClientMessage::CallProcedure(call) => self.procedure(call).await,
                _ => continue,
            };
            // The connection is gone: its calls end here.
            if answered.send(reply).await.is_err() {
                break;
            }
        }
        self.disconnect().await;
    }

    /// Has the leader run the connection's `client_disconnected`, through a failover.
    async fn disconnect(&self) {
        for _ in 0..DISCONNECT_TRIES {
            match self.lifecycle(Method::DELETE).await {
                Ok((status, _)) if status.is_success() => return,
                Ok((status, body)) => log::warn!(
                    "database {}: the leader did not end connection {} ({status}): {}",
                    self.identity,
                    self.connection_id.to_hex(),
                    String::from_utf8_lossy(&body)
                ),
                Err(ForwardError::NotFollowing) => return,
                Err(e) => log::warn!(
                    "database {}: cannot have the leader end connection {}: {e}",
                    self.identity,
                    self.connection_id.to_hex()
                ),
            }
        }
        log::warn!(
            "database {}: gave up ending connection {} on the leader; it ends when this node restarts or dies",
            self.identity,
            self.connection_id.to_hex()
        );
    }

    /// Sends the connection's start (`POST`) or end (`DELETE`) to the leader.
    async fn lifecycle(&self, method: Method) -> Result<(StatusCode, Bytes), ForwardError> {
        let mut headers = self.peer_headers();
        if let Ok(host) = HeaderValue::from_str(&self.node.host_name()) {
            headers.insert(HOST_HEADER, host);
        }
        let request = Forward {
            method,
            path_and_query: format!(
                "/v1/database/{}/hosted/{}",
                self.identity.to_hex(),
                self.connection_id.to_hex()
            ),
            headers,
            body: Bytes::new(),
        };
        let answer = forward::forward(&self.state, &self.node, self.identity, request).await?;
        Ok((answer.status, answer.body))
    }

    /// The client's token and the peer secret: a request this node makes for the
    /// client's connection.
    fn peer_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(bearer) = HeaderValue::from_str(&format!("Bearer {}", self.token)) {
            headers.insert(header::AUTHORIZATION, bearer);
        }
        if let Ok(secret) = HeaderValue::from_str(&self.node.peer_secret) {
            headers.insert(PEER_SECRET_HEADER, secret);
        }
        headers
    }

    async fn reducer(&self, call: v2::CallReducer) -> Vec<u8> {
        let timestamp = Timestamp::now();
        let reply = |result: v2::ReducerOutcome| {
            ServerMessage::ReducerResult(v2::ReducerResult {
                request_id: call.request_id,
                timestamp,
                result,
            })
            .to_bytes()
        };
        let program = self.database.program();
        let def = program.module_def();
        let Some((_, reducer)) = def.reducer(&call.reducer) else {
            return reply(v2::ReducerOutcome::InternalError(format!(
                "no such reducer `{}` in this database",
                call.reducer
            )));
        };
        let args = match args_json(&reducer.params, &def.typespace, &call.args) {
            Ok(args) => args,
            Err(why) => return reply(v2::ReducerOutcome::InternalError(why)),
        };
        let (status, _, body) = match self.send(&call.reducer, args, true).await {
            Ok(answer) => answer,
            Err(why) => return reply(v2::ReducerOutcome::InternalError(why)),
        };
        reply(reducer_outcome(status, &body))
    }

    async fn procedure(&self, call: v2::CallProcedure) -> Vec<u8> {
        let timestamp = Timestamp::now();
        let reply = |status: v2::ProcedureStatus, micros: i64| {
            ServerMessage::ProcedureResult(v2::ProcedureResult {
                status,
                timestamp,
                total_host_execution_duration: TimeDuration::from_micros(micros),
                request_id: call.request_id,
            })
            .to_bytes()
        };
        let program = self.database.program();
        let def = program.module_def();
        let Some((_, procedure)) = def.procedure(&call.procedure) else {
            return reply(
                v2::ProcedureStatus::InternalError(format!("no such procedure `{}` in this database", call.procedure)),
                0,
            );
        };
        let args = match args_json(&procedure.params, &def.typespace, &call.args) {
            Ok(args) => args,
            Err(why) => return reply(v2::ProcedureStatus::InternalError(why), 0),
        };
        let (status, headers, body) = match self.send(&call.procedure, args, false).await {
            Ok(answer) => answer,
            Err(why) => return reply(v2::ProcedureStatus::InternalError(why), 0),
        };
        let micros = headers
            .get("spacetime-execution-duration-micros")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body).into_owned();
            return reply(v2::ProcedureStatus::InternalError(text), micros);
        }
        // The leader answered with the value as SATS-JSON: back to BSATN.
        let returned = serde_json::from_slice::<serde_json::Value>(&body)
            .map_err(|e| e.to_string())
            .and_then(|json| value_from_json(&json, &procedure.return_type, &def.typespace).map_err(|e| e.to_string()));
        match returned {
            Ok(value) => reply(v2::ProcedureStatus::Returned(value_to_vec(&value)), micros),
            Err(why) => reply(
                v2::ProcedureStatus::InternalError(format!(
                    "the leader's answer is not the procedure's return type: {why}"
                )),
                micros,
            ),
        }
    }

    /// Calls `function` on the leader as this connection's caller; a reducer
    /// (`on_connection`) on this connection's id.
    async fn send(
        &self,
        function: &str,
        args: serde_json::Value,
        on_connection: bool,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), String> {
        let mut headers = self.peer_headers();
        if !headers.contains_key(header::AUTHORIZATION) {
            return Err("the connection's token cannot be sent in a header".to_owned());
        }
        if on_connection {
            if let Ok(id) = HeaderValue::from_str(self.connection_id.to_hex().as_str()) {
                headers.insert(CONNECTION_ID_HEADER, id);
            }
        }
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let request = Forward {
            method: Method::POST,
            path_and_query: format!("/v1/database/{}/call/{function}", self.identity.to_hex()),
            headers,
            body: args.to_string().into(),
        };
        forward::forward(&self.state, &self.node, self.identity, request)
            .await
            .map(|answer| (answer.status, answer.headers, answer.body.to_vec()))
            .map_err(|e| e.to_string())
    }
}

/// The result a WebSocket caller gets for the leader's answer to its forwarded call.
fn reducer_outcome(status: StatusCode, body: &[u8]) -> v2::ReducerOutcome {
    let text = String::from_utf8_lossy(body).into_owned();
    match status.as_u16() {
        200..=299 => v2::ReducerOutcome::OkEmpty,
        // The reducer ran and failed: its message, as a module's `Err` is sent.
        530 => v2::ReducerOutcome::Err(to_vec(&text)),
        _ => v2::ReducerOutcome::InternalError(text),
    }
}

/// A call's BSATN arguments as the JSON array an HTTP call takes.
fn args_json(
    params: &ProductType,
    typespace: &spacetime_sats::Typespace,
    args: &[u8],
) -> Result<serde_json::Value, String> {
    let ty = AlgebraicType::Product(params.clone());
    let value = decode_value_exact(&ty, typespace, args).map_err(|e| format!("invalid arguments: {e}"))?;
    Ok(value_to_json(&value, &ty, typespace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacetime_sats::ProductTypeElement;

    #[test]
    fn bsatn_arguments_become_the_json_an_http_call_takes() {
        let params = ProductType {
            elements: vec![
                ProductTypeElement {
                    name: Some("client".into()),
                    algebraic_type: AlgebraicType::U32,
                },
                ProductTypeElement {
                    name: Some("amount".into()),
                    algebraic_type: AlgebraicType::I64,
                },
            ],
        };
        let typespace = spacetime_sats::Typespace::default();
        let bytes: Vec<u8> = 7u32.to_le_bytes().into_iter().chain((-5i64).to_le_bytes()).collect();
        let json = args_json(&params, &typespace, &bytes).expect("valid arguments");
        let again = value_from_json(&json, &AlgebraicType::Product(params.clone()), &typespace).expect("JSON");
        assert_eq!(value_to_vec(&again), bytes);
        let short = args_json(&params, &typespace, &bytes[..6]).expect_err("too short");
        assert!(short.contains("invalid arguments"), "{short}");
    }

    #[test]
    fn the_leaders_status_becomes_the_reducer_outcome() {
        assert_eq!(reducer_outcome(StatusCode::OK, b""), v2::ReducerOutcome::OkEmpty);
        assert_eq!(
            reducer_outcome(StatusCode::from_u16(530).expect("530"), b"no account 9"),
            v2::ReducerOutcome::Err(to_vec(&"no account 9".to_owned()))
        );
        assert_eq!(
            reducer_outcome(StatusCode::SERVICE_UNAVAILABLE, b"retry"),
            v2::ReducerOutcome::InternalError("retry".into())
        );
    }
}
