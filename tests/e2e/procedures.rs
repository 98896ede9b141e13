//! Procedures over a real server process (issue 14): return values through the CLI, the
//! HTTP API and a raw v2 WebSocket; an outbound fetch from a local HTTP server started by
//! the test (with `--allow-private-http`), whose body is written with `with_tx`; the same
//! fetch refused without the flag; a panic inside `with_tx` rolls back; and a reducer is
//! served while a procedure waits on a response the test holds back.

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use spacetime_protocol::compression::decompress;
use spacetime_protocol::v2::{self, CallFlags, CallProcedure, ClientMessage, ProcedureStatus, ServerMessage};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings, PROCEDURES};
use spacetime_testing::server::TestServer;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// The body `/hello` answers with.
const HELLO: &str = "hello from the test's HTTP server";

/// A tiny HTTP/1.1 server on loopback: `/hello` answers at once; `/held` answers only
/// when the test sends on the returned channel (so a procedure waits on it as long as the
/// test needs).
struct LocalHttp {
    url: String,
    release: mpsc::Sender<()>,
}

impl LocalHttp {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let (release, held) = mpsc::channel::<()>();
        let held = std::sync::Arc::new(std::sync::Mutex::new(held));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let held = held.clone();
                std::thread::spawn(move || serve(stream, &held));
            }
        });
        Self { url, release }
    }
}

fn serve(mut stream: TcpStream, held: &std::sync::Mutex<mpsc::Receiver<()>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let body = match path {
        "/hello" => HELLO.to_owned(),
        "/held" => {
            let _ = held.lock().map(|rx| rx.recv_timeout(Duration::from_secs(60)));
            "released".to_owned()
        }
        other => format!("no route {other}"),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A server (with `args`), its owner and the procedures module published as `procs`.
fn publish(bindings: Bindings, args: &[&str]) -> (TestServer, Cli) {
    let wasm = build_module(PROCEDURES, bindings);
    let server = TestServer::start_with_args(args);
    let owner = Cli::new(&server);
    owner.publish(&wasm, Some("procs"));
    (server, owner)
}

/// `POST /v1/database/procs/call/<function>` with a JSON body: status and body text.
fn http_call(server: &TestServer, function: &str, body: &str) -> (u16, String) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/database/procs/call/{function}", server.url()))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .timeout(Duration::from_secs(60))
        .send()
        .expect("the server answers");
    (response.status().as_u16(), response.text().unwrap_or_default())
}

both_bindings!(fn procedures_return_values_and_write_with_tx(bindings) {
    let http = LocalHttp::start();
    let (server, owner) = publish(bindings, &["--allow-private-http"]);

    let out = owner.call("procs", "add", &["2", "40"]).ok();
    assert_eq!(out.stdout.trim(), "42", "the CLI prints the returned JSON: {out:?}");
    assert_eq!(http_call(&server, "add", "[1, 2]"), (200, "3".to_owned()));
    let (status, text) = http_call(&server, "add", "[\"x\", 2]");
    assert_eq!(status, 400, "a bad argument is refused before the module runs: {text}");

    let fetched = owner.call("procs", "fetch_and_store", &[&format!("{}/hello", http.url)]).ok();
    assert_eq!(fetched.stdout.trim(), format!("{HELLO:?}"), "the body comes back as a JSON string");
    let rows = owner.sql("procs", "SELECT body FROM fetched").ok().trimmed_stdout();
    assert!(rows.contains(HELLO), "with_tx committed the body: {rows}");
    assert_eq!(http_call(&server, "count_fetched", "[]"), (200, "1".to_owned()));

    let panicked = owner.call("procs", "panic_in_tx", &[]).err();
    assert!(panicked.stderr.contains("boom inside with_tx"), "the panic reaches the caller: {}", panicked.stderr);
    assert!(
        panicked.stderr.contains("the procedure panicked"),
        "the message speaks of the procedure, not a reducer: {}",
        panicked.stderr
    );
    let rows = owner.sql("procs", "SELECT body FROM fetched").ok().trimmed_stdout();
    assert!(!rows.contains("ghost"), "the panicking transaction rolled back: {rows}");
    assert_eq!(http_call(&server, "count_fetched", "[]"), (200, "1".to_owned()), "and the database still serves procedures");
});

both_bindings!(fn a_waiting_procedure_does_not_block_reducers(bindings) {
    let http = LocalHttp::start();
    let (server, owner) = publish(bindings, &["--allow-private-http"]);
    let url = server.url();
    let held = format!("[\"{}/held\"]", http.url);
    let waiting = std::thread::spawn(move || {
        let response = reqwest::blocking::Client::new()
            .post(format!("{url}/v1/database/procs/call/fetch_and_store"))
            .header("content-type", "application/json")
            .body(held)
            .timeout(Duration::from_secs(60))
            .send()
            .expect("the server answers");
        response.text().unwrap_or_default()
    });
    // The procedure is now (or soon) blocked on `/held`; reducers must still be served.
    let mut latencies = Vec::new();
    for by in 1..=5u32 {
        let start = Instant::now();
        assert_eq!(http_call(&server, "bump", &format!("[{by}]")).0, 200);
        latencies.push(start.elapsed());
    }
    assert!(!waiting.is_finished(), "the procedure is still waiting on the held response");
    let rows = owner.sql("procs", "SELECT by FROM bumped").ok().trimmed_stdout();
    assert_eq!(rows.lines().count(), 2 + 5, "all five reducer calls committed while the procedure waits: {rows}");
    let worst = latencies.iter().max().copied().unwrap_or_default();
    println!("reducer latency while a procedure waits on HTTP: {latencies:?} (worst {worst:?})");
    http.release.send(()).expect("the held request is waiting");
    assert_eq!(waiting.join().expect("the caller thread"), "\"released\"");
});

both_bindings!(fn private_addresses_are_refused_without_the_flag(bindings) {
    let http = LocalHttp::start();
    let (server, owner) = publish(bindings, &[]);
    let port = http.url.rsplit(':').next().unwrap_or_default().to_owned();
    for url in [format!("{}/hello", http.url), format!("http://localhost:{port}/hello")] {
        let out = owner.call("procs", "fetch_and_store", &[&url]).ok();
        assert!(out.stdout.contains("error: "), "{url} is refused: {out:?}");
        assert!(out.stdout.contains("--allow-private-http"), "the refusal names the flag: {out:?}");
    }
    assert_eq!(http_call(&server, "count_fetched", "[]"), (200, "0".to_owned()), "nothing was stored");
});

both_bindings!(fn procedures_answer_over_websocket(bindings) {
    let (server, _owner) = publish(bindings, &[]);
    let url = format!("{}/v1/database/procs/subscribe?compression=None", server.url().replace("http://", "ws://"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let mut request = url.into_client_request().expect("a valid URL");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", v2::BIN_PROTOCOL.parse().expect("a header value"));
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("the socket opens");
        let mut args = Vec::new();
        args.extend_from_slice(&20u32.to_le_bytes());
        args.extend_from_slice(&22u32.to_le_bytes());
        let call = ClientMessage::CallProcedure(CallProcedure {
            request_id: 7,
            flags: CallFlags::Default,
            procedure: "add".into(),
            args,
        });
        socket.send(Message::Binary(call.to_bytes().into())).await.expect("the socket takes a frame");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let frame = tokio::time::timeout_at(deadline.into(), socket.next())
                .await
                .expect("a ProcedureResult within 30 s")
                .expect("the socket is open")
                .expect("a valid frame");
            let Message::Binary(payload) = frame else { continue };
            let message = ServerMessage::from_bytes(&decompress(&payload).expect("an envelope")).expect("a message");
            if let ServerMessage::ProcedureResult(result) = message {
                assert_eq!(result.request_id, 7);
                assert_eq!(result.status, ProcedureStatus::Returned(42u32.to_le_bytes().to_vec()));
                break;
            }
        }
    });
});

both_bindings!(fn a_scheduled_procedure_runs_and_its_row_goes(bindings) {
    let (server, owner) = publish(bindings, &[]);
    owner.call("procs", "schedule_job", &["77"]).ok();
    let rows = || owner.sql("procs", "SELECT by FROM bumped").ok().trimmed_stdout();
    poll(
        "the scheduled procedure to write 77",
        Duration::from_secs(20),
        || rows().contains("77").then_some(()),
        rows,
    );
    let jobs = owner.sql("procs", "SELECT * FROM job").ok().trimmed_stdout();
    assert_eq!(jobs.lines().count(), 2, "the one-shot row was deleted: {jobs}");
    let stranger = Cli::new(&server);
    stranger.new_identity();
    let (status, text) = http_call(&server, "run_job", "[{\"scheduled_id\": 1, \"scheduled_at\": {\"Time\": 0}, \"n\": 1}]");
    assert!(status == 403 || status == 401, "a scheduled procedure is private (anonymous caller): {status} {text}");
});
