//! Graceful shutdown of a real server process (issue 16): SIGTERM under a load of
//! WebSocket reducer calls closes every client with 1001 and a reason, exits 0 within
//! the deadline, and every acknowledged call is there after a restart; a second signal
//! exits at once; a shutdown that cannot finish in time says so and exits non-zero.

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use spacetime_protocol::compression::decompress;
use spacetime_protocol::v2::{self, CallFlags, CallReducer, ClientMessage, ServerMessage};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings};
use spacetime_testing::server::TestServer;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// The default shutdown deadline, plus room for process start-up noise.
const DEADLINE: Duration = Duration::from_secs(10);
const CLIENTS: usize = 4;

/// How one load client's session ended.
#[derive(Debug)]
struct Ended {
    /// The close frame's code and reason, if one came.
    close: Option<(u16, String)>,
    /// The names whose `add` call was acknowledged with a committed result.
    acked: Vec<String>,
}

/// Calls `add(name)` over a v2 WebSocket back to back until the server closes it.
async fn load_client(url: String, db: String, k: usize, acked_total: Arc<Mutex<usize>>) -> Ended {
    let url = format!(
        "{}/v1/database/{db}/subscribe?compression=None",
        url.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().expect("a valid URL");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        v2::BIN_PROTOCOL.parse().expect("a header value"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connects");
    let mut ended = Ended {
        close: None,
        acked: Vec::new(),
    };
    for i in 0u32.. {
        let name = format!("c{k}-{i}");
        let mut args = (name.len() as u32).to_le_bytes().to_vec();
        args.extend_from_slice(name.as_bytes());
        let call = ClientMessage::CallReducer(CallReducer {
            request_id: i,
            flags: CallFlags::Default,
            reducer: "add".into(),
            args,
        });
        if socket.send(Message::Binary(call.to_bytes().into())).await.is_err() {
            break;
        }
        // Wait for this call's result (or the close frame), skipping other messages.
        let outcome = loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), socket.next()).await;
            match frame {
                Ok(Some(Ok(Message::Binary(payload)))) => {
                    let message = ServerMessage::from_bytes(&decompress(&payload).expect("an envelope"))
                        .expect("a server message");
                    if let ServerMessage::ReducerResult(result) = message {
                        break Some(matches!(
                            result.result,
                            v2::ReducerOutcome::Ok(_) | v2::ReducerOutcome::OkEmpty
                        ));
                    }
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    ended.close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    break None;
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) | Err(_) => break None,
            }
        };
        match outcome {
            Some(true) => {
                ended.acked.push(name);
                *acked_total.lock().expect("the counter") += 1;
            }
            Some(false) => panic!("add({name}) failed"),
            None => break,
        }
    }
    ended
}

#[test]
fn sigterm_under_load_closes_clients_with_1001_keeps_every_acknowledged_call_and_exits_0() {
    let mut fx = Fixture::new(CONSTRAINTS, Bindings::Ours, "shutdown-load");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let acked_total = Arc::new(Mutex::new(0usize));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|k| runtime.spawn(load_client(fx.server.url(), fx.name.clone(), k, acked_total.clone())))
        .collect();
    poll(
        "acknowledged calls from every client",
        Duration::from_secs(60),
        || (*acked_total.lock().expect("the counter") >= 200).then_some(()),
        || format!("{} acknowledged", acked_total.lock().map(|n| *n).unwrap_or(0)),
    );
    let signalled = Instant::now();
    fx.server.signal("TERM");
    let status = fx.server.wait_exit(DEADLINE + Duration::from_secs(5));
    let took = signalled.elapsed();
    let status = status.unwrap_or_else(|| panic!("still running {took:?} after SIGTERM:\n{}", fx.server.output()));
    assert!(status.success(), "exit status {status}:\n{}", fx.server.output());
    assert!(took < DEADLINE, "took {took:?}, past the {DEADLINE:?} deadline");
    let ended: Vec<Ended> = clients
        .into_iter()
        .map(|c| runtime.block_on(c).expect("a load client"))
        .collect();
    let mut acked = BTreeSet::new();
    for (k, e) in ended.iter().enumerate() {
        let (code, reason) = e
            .close
            .clone()
            .unwrap_or_else(|| panic!("client {k} got no close frame: {e:?}"));
        assert_eq!(code, 1001, "client {k}: close code (reason {reason:?})");
        assert!(!reason.is_empty(), "client {k}: a 1001 close with a reason");
        assert!(!e.acked.is_empty(), "client {k} had calls acknowledged");
        acked.extend(e.acked.iter().cloned());
    }
    eprintln!(
        "SIGTERM to exit 0: {took:?}; {} calls acknowledged by {CLIENTS} clients",
        acked.len()
    );
    fx.server.restart();
    let rows = fx.sql("SELECT name FROM person");
    let present: BTreeSet<String> = rows
        .lines()
        .map(|l| l.trim().trim_matches('"').to_owned())
        .filter(|l| l.starts_with('c'))
        .collect();
    let missing: Vec<&String> = acked.difference(&present).collect();
    assert!(missing.is_empty(), "acknowledged but lost after restart: {missing:?}");
}

/// A server busy in a reducer that runs until the host stops it (10 s), so its
/// graceful shutdown cannot finish soon. Returns once the database is seen busy: a
/// `bump` call, queued behind the spinning one, gets no answer within half a second.
fn busy_server(args: &[&str]) -> TestServer {
    let wasm = build_module(RUNAWAY, Bindings::Ours);
    let server = TestServer::start_with_args(args);
    let cli = Cli::new(&server);
    cli.publish(&wasm, Some("busy"));
    let caller = Cli::new(&server);
    // Never joined: the call ends with the server.
    std::thread::spawn(move || caller.call("busy", "spin", &[]));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("an HTTP client");
    let bump = format!("{}/v1/database/busy/call/bump", server.url());
    poll(
        "the database to be busy in `spin`",
        Duration::from_secs(30),
        || {
            let answer = client
                .post(&bump)
                .header("content-type", "application/json")
                .body("[]")
                .send();
            answer.is_err_and(|e| e.is_timeout()).then_some(())
        },
        || server.output(),
    );
    server
}

#[test]
fn a_second_signal_exits_at_once() {
    let mut server = busy_server(&[]);
    server.signal("TERM");
    poll(
        "the first signal to be taken",
        Duration::from_secs(10),
        || server.output().contains("shutting down gracefully").then_some(()),
        || server.output(),
    );
    let signalled = Instant::now();
    server.signal("INT");
    let status = server
        .wait_exit(Duration::from_secs(3))
        .unwrap_or_else(|| panic!("still running 3 s after a second signal:\n{}", server.output()));
    assert_eq!(status.code(), Some(130), "{}", server.output());
    assert!(signalled.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_shutdown_past_its_deadline_says_so_and_exits_non_zero() {
    let mut server = busy_server(&["--shutdown-timeout", "1"]);
    let signalled = Instant::now();
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(8)).unwrap_or_else(|| {
        panic!(
            "still running 8 s after SIGTERM with a 1 s deadline:\n{}",
            server.output()
        )
    });
    assert!(!status.success(), "{}", server.output());
    assert!(signalled.elapsed() < Duration::from_secs(8));
    let output = server.output();
    assert!(
        output.contains("did not finish within 1 s") && output.contains("shutdown-timeout"),
        "{output}"
    );
}
