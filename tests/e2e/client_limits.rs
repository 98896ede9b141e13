//! Per-client limits over a real server process (issue 12, D3 to D5), with raw v2
//! WebSocket clients: a subscriber that stops reading while it keeps writing is closed
//! with 1008 "too slow" and the server's memory stays bounded while another subscriber
//! keeps its updates (D3); an anonymous `Subscribe` of 3,000 copies of one query is
//! refused at once, naming the limit, while an HTTP call is served (D4); an anonymous
//! connection claiming another identity's live connection id is refused, and the same
//! identity's reconnect replaces the old connection with a truthful close reason (D5).

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use spacetime_protocol::compression::decompress;
use spacetime_protocol::v2::{self, CallFlags, CallReducer, ClientMessage, OneOffQuery, ServerMessage, Subscribe};
use spacetime_protocol::QuerySetId;
use spacetime_testing::modules::Bindings;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a v2 WebSocket to `db`; the HTTP status and body if refused.
async fn open(url: &str, db: &str, token: Option<&str>, query: &str) -> Result<Socket, String> {
    let url = format!(
        "{}/v1/database/{db}/subscribe?compression=None{query}",
        url.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().expect("a valid URL");
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        v2::BIN_PROTOCOL.parse().expect("a header value"),
    );
    if let Some(token) = token {
        headers.insert(
            "authorization",
            format!("Bearer {token}").parse().expect("a header value"),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            Err(format!("{} {body}", response.status()))
        }
        Err(e) => Err(e.to_string()),
    }
}

async fn send(socket: &mut Socket, message: ClientMessage) {
    socket
        .send(Message::Binary(message.to_bytes().into()))
        .await
        .expect("the socket takes a frame");
}

/// The next server message, or the close frame's code and reason, within 20 s.
async fn next(socket: &mut Socket) -> Result<ServerMessage, (CloseCode, String)> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a frame within 20 s")
            .expect("the socket is open")
            .expect("a valid frame");
        match frame {
            Message::Binary(payload) => {
                return Ok(ServerMessage::from_bytes(&decompress(&payload).expect("an envelope")).expect("a message"))
            }
            Message::Close(Some(close)) => return Err((close.code, close.reason.to_string())),
            Message::Close(None) => return Err((CloseCode::Status, String::new())),
            _ => {}
        }
    }
}

async fn expect_message(socket: &mut Socket) -> ServerMessage {
    next(socket)
        .await
        .unwrap_or_else(|(code, reason)| panic!("closed ({code}: {reason})"))
}

fn subscribe(id: u32, queries: Vec<String>) -> ClientMessage {
    ClientMessage::Subscribe(Subscribe {
        request_id: id,
        query_set_id: QuerySetId::new(id),
        query_strings: queries,
    })
}

fn call(request_id: u32, reducer: &str, args: Vec<u8>) -> ClientMessage {
    ClientMessage::CallReducer(CallReducer {
        request_id,
        flags: CallFlags::Default,
        reducer: reducer.into(),
        args,
    })
}

/// The caller's `ReducerResult`, which must be a success carrying table updates.
async fn expect_update(socket: &mut Socket, round: u32) {
    match expect_message(socket).await {
        ServerMessage::ReducerResult(v2::ReducerResult {
            result: v2::ReducerOutcome::Ok(ok),
            ..
        }) => assert!(!ok.transaction_update.query_sets.is_empty(), "round {round}: no update"),
        other => panic!("round {round}: expected a successful ReducerResult, got {other:?}"),
    }
}

/// An anonymous client subscribed to `SELECT * FROM blob`, past its `SubscribeApplied`.
async fn subscribed_to_blob(url: &str) -> Socket {
    let mut socket = open(url, "bigrow-db", None, "").await.expect("connects");
    assert!(matches!(
        expect_message(&mut socket).await,
        ServerMessage::InitialConnection(_)
    ));
    send(&mut socket, subscribe(1, vec!["SELECT * FROM blob".into()])).await;
    assert!(matches!(
        expect_message(&mut socket).await,
        ServerMessage::SubscribeApplied(_)
    ));
    socket
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// D3: a subscriber that never reads, but writes a tiny one-off query every 100 ms,
/// while another client commits 3.75 MiB transactions (insert, then clear: 7.5 MiB of
/// updates per round for each subscriber). The silent client passes its 64 MiB budget
/// and is closed with 1008, the server's RSS stays under 256 MiB although about 300
/// MiB of updates were due to the silent client, and the reading subscriber gets every
/// update.
#[test]
fn a_subscriber_that_stops_reading_is_closed_and_memory_stays_bounded() {
    const ROUNDS: u32 = 40;
    const RSS_BOUND_KIB: u64 = 256 * 1024;
    let fx = Fixture::new(BIGROW, Bindings::Ours, "bigrow-db");
    let url = fx.server.url();
    runtime().block_on(async {
        let silent = subscribed_to_blob(&url).await;
        let (mut silent_write, silent_read) = silent.split();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop_writing = stop.clone();
        let writer = tokio::spawn(async move {
            for request in 0u32.. {
                if stop_writing.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let query = ClientMessage::OneOffQuery(OneOffQuery {
                    request_id: request,
                    query_string: "SELECT * FROM blob WHERE id = 0".into(),
                });
                if silent_write
                    .send(Message::Binary(query.to_bytes().into()))
                    .await
                    .is_err()
                {
                    return silent_write;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            silent_write
        });

        let mut reader = subscribed_to_blob(&url).await;
        let mut peak = 0;
        for round in 0..ROUNDS {
            let insert = spacetime_sats::bsatn::to_vec(&(15u32, 256u32));
            // Each call's own ReducerResult carries its update for the reader.
            send(&mut reader, call(2 * round, "insert_big", insert)).await;
            expect_update(&mut reader, round).await;
            send(&mut reader, call(2 * round + 1, "clear", Vec::new())).await;
            expect_update(&mut reader, round).await;
            peak = peak.max(fx.server.rss_kib().expect("the server's VmRSS"));
        }
        assert!(peak < RSS_BOUND_KIB, "server RSS peaked at {} MiB", peak / 1024);

        // The server said why it dropped the client…
        let deadline = Instant::now() + Duration::from_secs(10);
        while !fx.server.output().contains("too slow: ") {
            assert!(Instant::now() < deadline, "no drop logged:\n{}", fx.server.output());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // …and its close frame waits behind the updates already in flight.
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut silent = silent_read
            .reunite(writer.await.expect("the writer ends"))
            .expect("the same socket");
        let closed = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Err(close) = next(&mut silent).await {
                    return close;
                }
            }
        })
        .await
        .expect("the silent client is closed within 20 s");
        assert_eq!(closed.0, CloseCode::Policy, "{closed:?}");
        assert!(
            closed.1.starts_with("too slow: ") && closed.1.contains("64 MiB budget"),
            "{closed:?}"
        );
    });
}

/// D4: one anonymous `Subscribe` of 3,000 copies of a query over a 3,000-row table is
/// refused at once with the limit in the error, while an HTTP call to the same database
/// is answered at once; 1,000 copies (the limit) are evaluated once.
#[test]
fn a_subscribe_with_thousands_of_copies_is_answered_fast() {
    let fx = Fixture::new(BIGROW, Bindings::Ours, "bigrow-db");
    fx.call("insert_big", &["3000", "1"]).ok();
    let url = fx.server.url();
    runtime().block_on(async {
        let mut ws = open(&url, "bigrow-db", None, "").await.expect("connects");
        assert!(matches!(
            expect_message(&mut ws).await,
            ServerMessage::InitialConnection(_)
        ));
        let started = Instant::now();
        send(&mut ws, subscribe(1, vec!["SELECT * FROM blob".into(); 3000])).await;
        let call_url = format!("{url}/v1/database/bigrow-db/call/insert_big");
        let http = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let response = reqwest::blocking::Client::new()
                .post(call_url)
                .header("content-type", "application/json")
                .body("[1, 1]")
                .send()
                .expect("the call is answered");
            (response.status(), started.elapsed())
        });
        match expect_message(&mut ws).await {
            ServerMessage::SubscriptionError(e) => {
                assert!(
                    e.error.contains("3000 queries") && e.error.contains("limit of 1000"),
                    "{}",
                    e.error
                )
            }
            other => panic!("expected a SubscriptionError, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "refused after {:?}",
            started.elapsed()
        );
        let (status, took) = http.await.expect("the HTTP call ran");
        assert!(status.is_success(), "{status}");
        assert!(took < Duration::from_secs(2), "the concurrent call took {took:?}");

        let started = Instant::now();
        send(&mut ws, subscribe(2, vec!["SELECT * FROM blob".into(); 1000])).await;
        match expect_message(&mut ws).await {
            ServerMessage::SubscribeApplied(applied) => {
                let rows: usize = applied.rows.tables.iter().map(|t| t.rows.len()).sum();
                assert_eq!(rows, 3001, "each row once, not once per copy");
            }
            other => panic!("expected SubscribeApplied, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "applied after {:?}",
            started.elapsed()
        );
    });
}

/// D5: an anonymous client claiming the owner's live connection id is refused before
/// the upgrade, and the owner keeps being served; the owner reconnecting with its own
/// live id replaces the old connection, which is told so.
#[test]
fn a_live_connection_id_cannot_be_taken_by_another_identity() {
    let fx = Fixture::new(BIGROW, Bindings::Ours, "bigrow-db");
    let token = fx.owner.token().expect("the owner is logged in");
    let url = fx.server.url();
    runtime().block_on(async {
        let mut victim = open(&url, "bigrow-db", Some(&token), "").await.expect("connects");
        let ServerMessage::InitialConnection(hello) = expect_message(&mut victim).await else {
            panic!("the first message must be InitialConnection");
        };
        let claim = format!("&connection_id={}", hello.connection_id.to_hex());

        let refused = open(&url, "bigrow-db", None, &claim)
            .await
            .expect_err("the claim is refused");
        assert!(
            refused.starts_with("403") && refused.contains("another identity"),
            "{refused}"
        );
        let query = |request_id| {
            ClientMessage::OneOffQuery(OneOffQuery {
                request_id,
                query_string: "SELECT * FROM blob".into(),
            })
        };
        send(&mut victim, query(1)).await;
        assert!(matches!(
            expect_message(&mut victim).await,
            ServerMessage::OneOffQueryResult(_)
        ));

        let mut again = open(&url, "bigrow-db", Some(&token), &claim)
            .await
            .expect("the owner reconnects");
        assert!(matches!(
            expect_message(&mut again).await,
            ServerMessage::InitialConnection(_)
        ));
        let (code, reason) = next(&mut victim).await.expect_err("the old connection is closed");
        assert_eq!(code, CloseCode::Normal);
        assert!(reason.contains("replaced by a newer connection"), "{reason}");
        send(&mut again, query(2)).await;
        assert!(matches!(
            expect_message(&mut again).await,
            ServerMessage::OneOffQueryResult(_)
        ));
    });
}
