//! A WebSocket client of a node that does not serve the database's subscriptions (a
//! standby, or a node holding no copy) is relayed to the leader rather than sent a
//! `307`, which most WebSocket clients do not follow (design §6 step 6: "any node
//! redirects or proxies to the leader").
//!
//! The relay opens the client's connection on the leader first, with the client's
//! path, query, token and offered subprotocols, so the leader negotiates the protocol,
//! runs `client_connected` and answers a refusal (its status and message reach the
//! client as they are, and no socket is opened). Only then is the client's upgrade
//! accepted, with the leader's protocol, and frames are copied both ways unchanged
//! (binary and text, and close frames with their code and reason); pings are answered
//! on each hop. When either side ends, the other is closed, so a leader that dies or
//! steps down closes its relayed clients, which reconnect (and reach the new leader)
//! as they would after any disconnection. Serving them here instead, as a reader does,
//! would tie their connections to this node's copy, which a takeover turns into the
//! leader's under them.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use spacetime_replication::LeaderInfo;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as LeaderCloseFrame;
use tokio_tungstenite::tungstenite::Message as LeaderMessage;

/// How long opening the leader's side may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The headers of the client's upgrade request that the leader's side carries.
const CARRIED: [header::HeaderName; 2] = [header::AUTHORIZATION, header::SEC_WEBSOCKET_PROTOCOL];

/// Whether `request` asks for a WebSocket upgrade.
pub fn is_upgrade(request: &Request) -> bool {
    request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Relays the WebSocket upgrade `request` to `leader` (see the module doc).
pub async fn relay(request: Request, leader: &LeaderInfo, node: &str) -> Response {
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let url = format!("ws://{}{path}", leader.addr);
    let mut outgoing = match url.as_str().into_client_request() {
        Ok(outgoing) => outgoing,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("cannot relay {path} to the leader: {e}"),
            )
                .into_response()
        }
    };
    for name in CARRIED {
        for value in request.headers().get_all(&name) {
            outgoing.headers_mut().append(&name, value.clone());
        }
    }
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(outgoing)).await;
    let (upstream, answer) = match connected {
        Ok(Ok(connected)) => connected,
        // The leader answered without upgrading (a refusal, a bad request): its
        // answer is the client's.
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
            let (parts, body) = response.into_parts();
            return (parts.status, body.unwrap_or_default()).into_response();
        }
        Ok(Err(e)) => return unreachable_leader(node, leader, &e.to_string()),
        Err(_) => return unreachable_leader(node, leader, "no answer in time"),
    };
    let protocol = answer
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (mut parts, _) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let upgrade = match protocol {
        Some(protocol) => upgrade.protocols([protocol]),
        None => upgrade,
    };
    upgrade.on_upgrade(move |client| copy_frames(client, upstream))
}

fn unreachable_leader(node: &str, leader: &LeaderInfo, why: &str) -> Response {
    let message = format!(
        "this node ({node}) relays WebSocket clients to the leader of this database, node {} at {}, which could not \
         be reached ({why}); retry shortly",
        leader.node, leader.addr
    );
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

type Upstream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Copies frames both ways until either side ends, then closes the other.
async fn copy_frames(mut client: WebSocket, upstream: Upstream) {
    let (mut to_leader, mut from_leader) = upstream.split();
    loop {
        tokio::select! {
            frame = client.recv() => {
                let forwarded = match frame {
                    Some(Ok(Message::Binary(bytes))) => LeaderMessage::Binary(bytes),
                    Some(Ok(Message::Text(text))) => LeaderMessage::Text(text.as_str().into()),
                    // Answered on this hop.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(frame))) => {
                        let frame = frame.map(|f| LeaderCloseFrame { code: CloseCode::from(f.code), reason: f.reason.as_str().into() });
                        let _ = to_leader.send(LeaderMessage::Close(frame)).await;
                        return;
                    }
                    None | Some(Err(_)) => {
                        let _ = to_leader.send(LeaderMessage::Close(None)).await;
                        return;
                    }
                };
                if to_leader.send(forwarded).await.is_err() {
                    let _ = client.send(going_away()).await;
                    return;
                }
            }
            frame = from_leader.next() => {
                let forwarded = match frame {
                    Some(Ok(LeaderMessage::Binary(bytes))) => Message::Binary(bytes),
                    Some(Ok(LeaderMessage::Text(text))) => Message::Text(text.as_str().into()),
                    Some(Ok(LeaderMessage::Ping(_) | LeaderMessage::Pong(_) | LeaderMessage::Frame(_))) => continue,
                    Some(Ok(LeaderMessage::Close(frame))) => {
                        let frame = frame.map(|f| CloseFrame { code: u16::from(f.code), reason: f.reason.as_str().into() });
                        let _ = client.send(Message::Close(frame)).await;
                        return;
                    }
                    None | Some(Err(_)) => {
                        let _ = client.send(going_away()).await;
                        return;
                    }
                };
                if client.send(forwarded).await.is_err() {
                    let _ = to_leader.send(LeaderMessage::Close(None)).await;
                    return;
                }
            }
        }
    }
}

/// The close frame a relayed client gets when the leader's side breaks off.
fn going_away() -> Message {
    Message::Close(Some(CloseFrame {
        code: axum::extract::ws::close_code::AWAY,
        reason: "the connection to the database's leader ended (a failover?); reconnect".into(),
    }))
}
