//! Issue 12, D11 (slowloris): half-open HTTP requests used to be held forever, and
//! enough of them exhausted the server's file descriptors. Now a request's headers must
//! arrive within the header-read timeout, and connections are capped in total and per
//! address; past a cap a connection is closed at once with a log line, while other
//! clients (and upgraded WebSockets, which the timeout never cuts) keep being served.
//!
//! The server here runs with a 3 s timeout and a cap of 200 connections per address.
//! The half-open requests come from 127.0.0.1, the well-behaved HTTP client from
//! 127.0.0.2 (any 127/8 address reaches a loopback listener on Linux).

use crate::common::*;
use crate::realtime::RealtimeClient;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings, REALTIME};
use spacetime_testing::server::TestServer;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

const HEADER_READ_TIMEOUT_SECS: u64 = 3;
const MAX_PER_IP: usize = 200;
/// More half-open requests than the cap admits, so some are refused.
const HALF_OPEN: usize = 260;

/// The server's resident memory while it holds the half-open requests stays under this:
/// each held request costs a few KiB, so this bound leaves room only for the server itself.
const RSS_BOUND_KIB: u64 = 256 * 1024;

/// A request whose headers never end.
const PARTIAL_REQUEST: &[u8] = b"GET /v1/ping HTTP/1.1\r\nHost: x\r\n";

/// Whether the server has closed `tcp`: a read within `wait` sees end of file or a reset.
fn closed_by_server(tcp: &mut TcpStream, wait: Duration) -> bool {
    tcp.set_read_timeout(Some(wait)).expect("set a read timeout");
    let mut buf = [0u8; 1024];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return true,
            // A response (hyper may answer a timed-out request) before the close.
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return false,
            Err(_) => return true,
        }
    }
}

/// Whether the server has closed `tcp` already (without waiting).
fn closed_now(mut tcp: &TcpStream) -> bool {
    tcp.set_nonblocking(true).expect("set non-blocking");
    let mut buf = [0u8; 1024];
    let closed = loop {
        match tcp.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
            Err(_) => break true,
        }
    };
    tcp.set_nonblocking(false).expect("set blocking");
    closed
}

/// An HTTP client from 127.0.0.2.
fn other_address_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client")
}

#[test]
fn half_open_requests_time_out_and_are_capped_per_address() {
    let server = TestServer::start_with_args(&[
        "--header-read-timeout",
        &HEADER_READ_TIMEOUT_SECS.to_string(),
        "--max-connections-per-ip",
        &MAX_PER_IP.to_string(),
    ]);
    let wasm = build_module(REALTIME, Bindings::Ours);
    let owner = Cli::new(&server);
    let identity = owner.publish(&wasm, Some("http-limits"));
    let fx = Fixture {
        server,
        owner,
        name: "http-limits".into(),
        identity,
        wasm,
    };
    // A WebSocket opened first: upgraded, it must outlive the header-read timeout.
    let mut ws = RealtimeClient::anonymous(&fx);

    let addr = fx.server.url().trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let mut half_open = (0..HALF_OPEN)
        .map(|_| {
            let mut tcp = TcpStream::connect(&addr).expect("connect");
            // A refused connection may already be closed; the write may then fail.
            let _ = tcp.write_all(PARTIAL_REQUEST);
            tcp
        })
        .collect::<Vec<_>>();

    // Past the cap, connections are closed at once (well before the timeout).
    let over_cap = HALF_OPEN - MAX_PER_IP;
    let refused = poll(
        "the connections over the cap to be closed",
        Duration::from_secs(HEADER_READ_TIMEOUT_SECS),
        || {
            let closed = half_open.iter().filter(|tcp| closed_now(tcp)).count();
            (closed >= over_cap).then_some(closed)
        },
        || fx.server.output(),
    );
    assert!(
        started.elapsed() < Duration::from_secs(HEADER_READ_TIMEOUT_SECS),
        "the refusals came at once, not with the timeout ({:?})",
        started.elapsed()
    );
    assert!(
        refused <= over_cap + 1,
        "only connections over the cap are closed yet: {refused}"
    );
    poll(
        "the refusal's log line",
        Duration::from_secs(10),
        || fx.server.output().contains("max_connections_per_ip").then_some(()),
        || fx.server.output(),
    );

    if let Some(rss) = fx.server.rss_kib() {
        assert!(rss < RSS_BOUND_KIB, "server RSS {rss} KiB, over {RSS_BOUND_KIB} KiB");
    }

    // Meanwhile another address is served: a ping and a reducer call.
    let client = other_address_client();
    let ping = client.get(format!("{}/v1/ping", fx.server.url())).send();
    assert!(ping.is_ok_and(|r| r.status().is_success()), "{}", fx.server.output());
    let call = client
        .post(format!("{}/v1/database/{}/call/insert_item", fx.server.url(), fx.name))
        .header("Content-Type", "application/json")
        .body(r#"[1, "from 127.0.0.2", 1]"#)
        .send()
        .expect("the reducer call is answered");
    assert!(call.status().is_success(), "{:?}", call.text());

    // Every half-open request is closed once the timeout has passed.
    let deadline = Instant::now() + Duration::from_secs(HEADER_READ_TIMEOUT_SECS + 15);
    for (i, tcp) in half_open.iter_mut().enumerate() {
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        assert!(
            closed_by_server(tcp, wait),
            "half-open request {i} is still open {:?} after it was sent",
            started.elapsed()
        );
    }
    assert!(started.elapsed() >= Duration::from_secs(HEADER_READ_TIMEOUT_SECS - 1));

    // The WebSocket, open longer than the timeout, still works; and 127.0.0.1 has its
    // slots back.
    ws.call_ok("insert_item", &["2", "over-websocket", "1"]);
    let ping = reqwest::blocking::get(format!("{}/v1/ping", fx.server.url()));
    assert!(ping.is_ok_and(|r| r.status().is_success()), "{}", fx.server.output());
    ws.finish();
}
