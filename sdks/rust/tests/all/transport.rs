//! The WebSocket transport against a loopback server written here with tokio-tungstenite:
//! the handshake (URL, subprotocol, bearer token), compressed frames, and reconnecting
//! with the server's token after the socket drops.

use crate::chat::*;
use crate::support::*;
use futures_util::{SinkExt, StreamExt};
use spacetime_protocol::compression::compress_always;
use spacetime_protocol::v2::*;
use spacetime_protocol::Compression;
use spacetimedb_sdk::{ConnectionId, DbContext, ReconnectPolicy, Table};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// What one accepted connection asked for.
#[derive(Debug)]
struct Handshake {
    path_and_query: String,
    protocol: Option<String>,
    authorization: Option<String>,
}

fn frame(message: &ServerMessage) -> Message {
    Message::Binary(compress_always(&message.to_bytes(), Compression::Gzip).into())
}

fn poll_until(conn: &DbConnection, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        conn.frame_tick()
            .unwrap_or_else(|e| panic!("while waiting for {what}: {e}"));
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
#[allow(clippy::result_large_err)] // The handshake callback's error type is tungstenite's.
fn handshake_compression_and_reconnect_over_a_real_socket() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (handshakes_tx, handshakes) = std::sync::mpsc::channel::<Handshake>();
    let (subscribes_tx, subscribes) = std::sync::mpsc::channel::<Subscribe>();

    // The server: accepts two connections. The first sends the initial message and the
    // subscription's rows, then drops; the second accepts the reconnect.
    runtime.spawn(async move {
        for round in 0..2u8 {
            let (stream, _) = listener.accept().await.unwrap();
            let handshakes_tx = handshakes_tx.clone();
            let mut ws = tokio_tungstenite::accept_hdr_async(stream, move |req: &Request, mut resp: Response| {
                let header = |name| {
                    req.headers()
                        .get(name)
                        .and_then(|v: &HeaderValue| v.to_str().ok())
                        .map(str::to_owned)
                };
                let _ = handshakes_tx.send(Handshake {
                    path_and_query: req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                    protocol: header("sec-websocket-protocol"),
                    authorization: header("authorization"),
                });
                resp.headers_mut()
                    .insert("sec-websocket-protocol", HeaderValue::from_static(BIN_PROTOCOL));
                Ok(resp)
            })
            .await
            .unwrap();
            let initial = ServerMessage::InitialConnection(InitialConnection {
                identity: identity(5),
                connection_id: ConnectionId::from_u128(u128::from(round) + 1),
                token: "server-token".into(),
            });
            ws.send(frame(&initial)).await.unwrap();
            // Wait for the (re)subscription and answer it.
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Binary(bytes) = msg {
                    if let Ok(ClientMessage::Subscribe(s)) = ClientMessage::from_bytes(&bytes) {
                        let users = if round == 0 {
                            vec![user(1, "alice", true), user(2, "bob", true)]
                        } else {
                            vec![user(2, "bob", true)]
                        };
                        let reply = ServerMessage::SubscribeApplied(SubscribeApplied {
                            request_id: s.request_id,
                            query_set_id: s.query_set_id,
                            rows: query_rows(&users, &[]),
                        });
                        let _ = subscribes_tx.send(s);
                        ws.send(frame(&reply)).await.unwrap();
                        break;
                    }
                }
            }
            if round == 0 {
                drop(ws); // The network fails: no close handshake.
            } else {
                // Keep the second connection open until the client closes it.
                while let Some(Ok(_)) = ws.next().await {}
            }
        }
    });

    let log = Log::default();
    let (l1, l2) = (log.clone(), log.clone());
    let conn = DbConnection::builder()
        .with_uri(format!("http://127.0.0.1:{port}"))
        .with_database_name("quickstart-chat")
        .with_token(Some("client-token"))
        .with_compression(Compression::Gzip)
        .with_reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_attempts: Some(20),
        })
        .on_connect(move |_, id, token| l1.push(format!("connect {} {token}", id.to_abbreviated_hex())))
        .on_reconnect(move |ctx, _, token| l2.push(format!("reconnect {token} {:?}", ctx.try_connection_id())))
        .build()
        .unwrap();
    let l = log.clone();
    conn.db
        .user()
        .on_delete(move |_, u| l.push(format!("delete {}", u.name.as_deref().unwrap_or("-"))));
    let l = log.clone();
    conn.db
        .user()
        .on_insert(move |_, u| l.push(format!("insert {}", u.name.as_deref().unwrap_or("-"))));
    let sub = conn.subscription_builder().subscribe("SELECT * FROM user");

    poll_until(&conn, "reconnect", || log.contains("reconnect"));
    let first = handshakes.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        first.path_and_query,
        "/v1/database/quickstart-chat/subscribe?compression=Gzip"
    );
    assert_eq!(first.protocol.as_deref(), Some(BIN_PROTOCOL));
    assert_eq!(first.authorization.as_deref(), Some("Bearer client-token"));
    // The reconnect authenticates with the token the server confirmed.
    let second = handshakes.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(second.authorization.as_deref(), Some("Bearer server-token"));
    let (s1, s2) = (subscribes.recv().unwrap(), subscribes.recv().unwrap());
    assert_eq!(
        s1.query_set_id, s2.query_set_id,
        "the query set is resubscribed under its id"
    );
    assert_eq!(
        log.all(),
        [
            format!("connect {} server-token", identity(5).to_abbreviated_hex()),
            "insert alice".into(),
            "insert bob".into(),
            "delete alice".into(),
            format!("reconnect server-token {:?}", Some(ConnectionId::from_u128(2))),
        ]
    );
    assert!(sub.is_active());
    assert_eq!(conn.db.user().count(), 1);
    conn.disconnect().unwrap();
    assert!(matches!(conn.frame_tick(), Err(spacetimedb_sdk::Error::Disconnected)));
}
