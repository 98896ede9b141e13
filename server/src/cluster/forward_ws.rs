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
//! A call runs on the leader as an HTTP call does: between `client_connected` and
//! `client_disconnected` of a connection of its own, not of this WebSocket's.

use super::forward::{self, Forward};
use super::ClusterNode;
use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use spacetime_engine::Database;
use spacetime_protocol::v2::{self, ClientMessage, ServerMessage};
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::bsatn::value::{decode_value_exact, value_to_vec};
use spacetime_sats::json::{value_from_json, value_to_json};
use spacetime_sats::{AlgebraicType, Identity, ProductType, TimeDuration, Timestamp};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How many calls of one connection may wait to be forwarded; past that the
/// connection's reads wait (back pressure on a client that calls faster than the
/// leader answers).
const QUEUED_CALLS: usize = 256;

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
}

impl WsForward {
    /// The forwarding of a new connection of `token`'s caller to `database`, if this
    /// node is a reader that follows it (`None` otherwise: calls go to the actor).
    pub fn for_connection(state: &AppState, database: &Arc<Database>, token: &str) -> Option<Self> {
        let node = state.cluster().filter(|node| node.is_reader())?.clone();
        node.following(database.identity)?;
        let (calls, queued) = mpsc::channel(QUEUED_CALLS);
        let (answered, replies) = mpsc::channel(QUEUED_CALLS);
        let worker = Worker {
            state: state.clone(),
            node,
            database: database.clone(),
            identity: database.identity,
            token: token.to_owned(),
        };
        tokio::spawn(worker.run(queued, answered));
        Some(Self { calls, replies })
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
            if answered.send(reply).await.is_err() {
                return;
            }
        }
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
        let (status, _, body) = match self.send(&call.reducer, args).await {
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
        let (status, headers, body) = match self.send(&call.procedure, args).await {
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

    /// Calls `function` on the leader as this connection's caller.
    async fn send(&self, function: &str, args: serde_json::Value) -> Result<(StatusCode, HeaderMap, Vec<u8>), String> {
        let mut headers = HeaderMap::new();
        let bearer = HeaderValue::from_str(&format!("Bearer {}", self.token))
            .map_err(|_| "the connection's token cannot be sent in a header".to_owned())?;
        headers.insert(header::AUTHORIZATION, bearer);
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
