//! Publishing hostile or huge modules (issue 12: D2, D8, D9 of the reliability
//! findings): an anonymous client cannot make the server allocate without bound, send it
//! an unbounded body, or stall everyone else's publishes, and the server keeps serving
//! other databases throughout.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::build_module;
use spacetime_testing::server::TestServer;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// The finding's module: `__describe_module__` writes 67,108,000 bytes of its 64 MiB
/// memory to the sink, forever.
const ENDLESS_DESCRIBE: &str = r#"(module
  (import "spacetime_10.0" "bytes_sink_write" (func $w (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1024)
  (func (export "__describe_module__") (param $sink i32)
    (loop $l (i32.store (i32.const 0) (i32.const 67108000))
             (drop (call $w (local.get $sink) (i32.const 16) (i32.const 0))) (br $l)))
  (func (export "__call_reducer__") (param i32 i64 i64 i64 i64 i64 i64 i64 i32 i32) (result i32) (i32.const 0)))"#;

/// A module whose `__describe_module__` spins until the host's time budget stops it.
const SPINNING_DESCRIBE: &str = r#"(module
  (import "spacetime_10.0" "bytes_sink_write" (func $w (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "__describe_module__") (param $sink i32) (loop $l (br $l)))
  (func (export "__call_reducer__") (param i32 i64 i64 i64 i64 i64 i64 i64 i32 i32) (result i32) (i32.const 0)))"#;

/// The server's RSS may reach the 64 MiB definition cap plus this much during the
/// endless-describe publish (the process itself, wasmtime's compiler, the other
/// database; a peak of 105 MiB, 41 MiB over the cap, was measured on a debug build).
const RSS_OVERHEAD_KIB: u64 = 128 << 10;

/// The host's default time budget for one call into a module.
const BUDGET: Duration = Duration::from_secs(10);

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("build an HTTP client")
}

fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("valid WAT")
}

/// A server with an owner and the basic module published as `bystander`.
fn server_with_bystander(args: &[&str]) -> (TestServer, Cli, std::path::PathBuf) {
    let module = build_module(BASIC, spacetime_testing::modules::Bindings::Ours);
    let server = TestServer::start_with_args(args);
    let owner = Cli::new(&server);
    owner.publish(&module, Some("bystander"));
    (server, owner, module)
}

/// The bystander still answers: a call commits and SQL sees it.
#[track_caller]
fn assert_bystander_serves(owner: &Cli, name: &str) {
    owner.call("bystander", "add", &[&format!("\"{name}\"")]).ok();
    let rows = owner.sql("bystander", "SELECT * FROM person").ok().stdout;
    assert!(rows.contains(name), "{rows}");
}

/// Publishes `body` anonymously (no token) on a thread, answering with how long it
/// took, the status and the body.
fn publish_anonymously(url: String, body: Vec<u8>) -> std::thread::JoinHandle<(Duration, u16, String)> {
    std::thread::spawn(move || {
        let started = Instant::now();
        let response = http()
            .post(format!("{url}/v1/database"))
            .body(body)
            .send()
            .expect("the publish answers");
        let status = response.status().as_u16();
        (started.elapsed(), status, response.text().unwrap_or_default())
    })
}

/// D2: the finding's endless describe is refused with a 400 naming the cap, quickly,
/// with the server's memory bounded, and another database keeps being served.
#[test]
fn endless_describe_is_refused_at_the_definition_cap() {
    let (server, owner, _) = server_with_bystander(&[]);
    let publish = publish_anonymously(server.url(), wasm(ENDLESS_DESCRIBE));
    // Sample the server's memory while the publish runs (a monitor, not a wait).
    let mut peak = server.rss_kib().expect("the server's VmRSS");
    while !publish.is_finished() {
        peak = peak.max(server.rss_kib().unwrap_or(0));
        std::thread::sleep(Duration::from_millis(5));
    }
    let (took, status, text) = publish.join().expect("the publishing thread");
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("__describe_module__") && text.contains("64 MiB") && text.contains("MAX_MODULE_DEF_BYTES"),
        "the refusal must name the cap: {text}"
    );
    // Stopped by the cap, long before the time budget would have stopped it.
    assert!(took < BUDGET / 2, "the refusal took {took:?}");
    eprintln!("server RSS: peak {peak} KiB during the endless-describe publish");
    let bound = (64 << 10) + RSS_OVERHEAD_KIB;
    assert!(peak < bound, "server RSS peaked at {peak} KiB, over {bound} KiB");
    assert_bystander_serves(&owner, "after-describe");
}

/// D2 (SPACETIME_STRESS=1): eight endless describes at once; memory stays bounded by
/// the cap per concurrent load.
#[test]
fn concurrent_endless_describes_stay_bounded() {
    if std::env::var_os("SPACETIME_STRESS").is_none() {
        return;
    }
    let (server, owner, _) = server_with_bystander(&[]);
    let publishes: Vec<_> = (0..8)
        .map(|_| publish_anonymously(server.url(), wasm(ENDLESS_DESCRIBE)))
        .collect();
    let mut peak = 0;
    while !publishes.iter().all(|p| p.is_finished()) {
        peak = peak.max(server.rss_kib().unwrap_or(0));
        std::thread::sleep(Duration::from_millis(5));
    }
    for publish in publishes {
        let (_, status, text) = publish.join().expect("the publishing thread");
        assert_eq!(status, 400, "{text}");
    }
    eprintln!("server RSS: peak {peak} KiB during eight endless-describe publishes");
    let bound = 8 * (64 << 10) + RSS_OVERHEAD_KIB;
    assert!(peak < bound, "server RSS peaked at {peak} KiB, over {bound} KiB");
    assert_bystander_serves(&owner, "after-many");
}

/// Streams a chunked publish body of zeros to `addr` (`host:port`) until the server
/// answers or stops reading (at most `max` bytes), and returns the raw response.
/// Raw TCP, because an HTTP client reports the server closing its end mid-body as a
/// failed request instead of reading the answer the server sent before closing.
fn stream_publish(addr: &str, max: usize) -> String {
    let mut socket = std::net::TcpStream::connect(addr).expect("connect to the server");
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    let head = format!("POST /v1/database HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\n\r\n");
    socket.write_all(head.as_bytes()).expect("send the request head");
    let chunk = vec![0u8; 64 << 10];
    let mut sent = 0;
    while sent < max {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if socket.write_all(&framed).is_err() {
            break; // the server answered and closed its end
        }
        sent += chunk.len();
    }
    let mut response = Vec::new();
    // The answer was sent before the server closed; an error after it (a reset) is fine.
    let _ = socket.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

/// D8: a publish body over the configured limit is refused with 413 naming the limit
/// and the setting, whether its length is declared or it is streamed; the server stays
/// up and a module under the limit still publishes.
#[test]
fn publish_body_over_the_limit_is_refused_with_413() {
    const LIMIT: usize = 4 << 20;
    let limit = LIMIT.to_string();
    let (server, owner, module) = server_with_bystander(&["--max-publish-body", &limit]);
    let url = format!("{}/v1/database", server.url());
    let declared = http().post(&url).body(vec![0u8; 2 * LIMIT]).send().expect("an answer");
    assert_eq!(declared.status().as_u16(), 413);
    let declared = declared.text().unwrap_or_default();
    let addr = server.url().trim_start_matches("http://").to_owned();
    let streamed = stream_publish(&addr, 64 * LIMIT);
    assert!(streamed.starts_with("HTTP/1.1 413"), "streamed: {streamed}");
    for (how, text) in [("declared", declared), ("streamed", streamed)] {
        assert!(
            text.contains(&limit) && text.contains("max_publish_body") && text.contains("--max-publish-body"),
            "{how}: the refusal must name the limit and the setting: {text}"
        );
    }
    assert!(std::fs::metadata(&module).expect("the module").len() < LIMIT as u64);
    owner.publish(&module, Some("second"));
    assert_bystander_serves(&owner, "after-413");
}

/// The server's CPU time so far (user + system), in clock ticks.
fn cpu_ticks(server: &TestServer) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.pid())).expect("the server's stat");
    // Fields after the command name (which is in parentheses): utime and stime are the
    // 12th and 13th of them.
    let after = stat.rsplit_once(')').expect("a command name").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// D9: while an anonymous publish spins in describe for the whole time budget, an
/// owner's publish of a good module to another name completes well before it.
#[test]
fn a_spinning_publish_does_not_hold_up_other_publishes() {
    let (server, owner, module) = server_with_bystander(&[]);
    let before = cpu_ticks(&server);
    let spinning = publish_anonymously(server.url(), wasm(SPINNING_DESCRIBE));
    // Wait until the describe is spinning: the server burns CPU (a quarter of a second
    // of it) that an idle server does not.
    poll(
        "the spinning describe to start",
        BUDGET,
        || (cpu_ticks(&server) >= before + 25 || spinning.is_finished()).then_some(()),
        || server.output(),
    );
    assert!(
        !spinning.is_finished(),
        "the spinning publish ended early: {:?}",
        spinning.join()
    );
    let started = Instant::now();
    owner.publish(&module, Some("meanwhile"));
    let took = started.elapsed();
    assert!(
        !spinning.is_finished(),
        "the owner's publish ({took:?}) must finish while the spinning one still runs"
    );
    let (spun, status, text) = spinning.join().expect("the publishing thread");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("time budget"), "{text}");
    assert!(spun >= took, "{spun:?} vs {took:?}");
    assert_bystander_serves(&owner, "after-spin");
}

/// The server's number of publish slots (`PUBLISHES_IN_FLIGHT`): publishes beyond it
/// wait before reading their bodies.
const PUBLISH_SLOTS: usize = 4;

/// Starts a chunked publish to `addr` that sends one chunk and then holds its body open,
/// taking one of the server's publish slots until the socket is finished or dropped.
fn held_publish(addr: &str) -> std::net::TcpStream {
    let mut socket = std::net::TcpStream::connect(addr).expect("connect to the server");
    let head = format!("POST /v1/database HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\n\r\n");
    socket.write_all(head.as_bytes()).expect("send the request head");
    socket.write_all(b"4\r\n\0asm\r\n").expect("send a first chunk");
    socket
}

/// A burst of publishes is bounded: while every publish slot is held by a body still
/// arriving, another publish waits (its body unread, so the server's memory does not
/// grow with the burst), and it completes as soon as a slot frees; calls are served
/// throughout.
#[test]
fn publishes_beyond_the_slots_wait_for_one() {
    let (server, owner, module) = server_with_bystander(&[]);
    let addr = server.url().trim_start_matches("http://").to_owned();
    let mut held: Vec<_> = (0..PUBLISH_SLOTS).map(|_| held_publish(&addr)).collect();

    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| owner.publish(&module, Some("waiting")));
        // A free slot would let this publish finish in about a second; it must still wait.
        let window = Instant::now() + Duration::from_secs(3);
        while Instant::now() < window && !waiting.is_finished() {
            std::thread::sleep(Duration::from_millis(20));
        }
        if waiting.is_finished() {
            panic!("a publish finished while every slot was held: {:?}", waiting.join());
        }
        assert_bystander_serves(&owner, "while-held");

        // One held body ends (as an invalid module: 400), freeing its slot.
        let mut first = held.remove(0);
        first.write_all(b"0\r\n\r\n").expect("finish the held body");
        let mut response = String::new();
        let _ = first.read_to_string(&mut response);
        assert!(response.starts_with("HTTP/1.1 400"), "{response}");
        poll(
            "the waiting publish to finish",
            Duration::from_secs(60),
            || waiting.is_finished().then_some(()),
            || server.output(),
        );
        waiting.join().expect("the publishing thread");
    });
    let rows = owner.sql("waiting", "SELECT * FROM person").ok().stdout;
    assert!(!rows.contains("error"), "{rows}");
    drop(held);
    assert_bystander_serves(&owner, "after-held");
}
