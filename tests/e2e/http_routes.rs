//! Module HTTP handlers over a real server process (issue 14 item 5, `unstable`
//! upstream): SpacetimeDB's `http_routes` smoketest scenarios, written against
//! `tests/modules/http-routes`, each run with the module built against our bindings and
//! against the crates.io `spacetimedb` 2.14.0 crate (`…::upstream`; 2.10.1 has no
//! handlers). Real HTTP requests to `/v1/database/:name/route/...`: simple responses,
//! writes and reads through `with_tx`, `any`, headers both ways, a custom status, strict
//! root and trailing-slash paths, the full external URI, request bodies; a panicking
//! handler, bad input from an anonymous client, and `volatile_nonatomic_schedule_immediate`.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, build_module_upstream_214, Bindings, HTTP_ROUTES};
use spacetime_testing::server::TestServer;
use spacetime_testing::wait::poll;
use std::time::Duration;

/// The 404 body for a path and method no route matches, as upstream sends it.
const NO_SUCH_ROUTE: &str = "Database has not registered a handler for this route";

/// A server and its owner, with the module published as `routes`.
fn publish(bindings: Bindings) -> (TestServer, Cli) {
    let wasm = match bindings {
        Bindings::Ours => build_module(HTTP_ROUTES, bindings),
        Bindings::Upstream => build_module_upstream_214(HTTP_ROUTES),
    };
    let server = TestServer::start();
    let owner = Cli::new(&server);
    owner.publish(&wasm, Some("routes"));
    (server, owner)
}

fn base(server: &TestServer) -> String {
    format!("{}/v1/database/routes/route", server.url())
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

/// Sends `request`: status and body text.
fn send(request: reqwest::blocking::RequestBuilder) -> (u16, String) {
    let response = request.send().expect("the server answers");
    (response.status().as_u16(), response.text().unwrap_or_default())
}

fn get(url: &str) -> (u16, String) {
    send(client().get(url))
}

both_bindings!(fn handlers_serve_upstreams_scenarios(bindings) {
    let (server, _owner) = publish(bindings);
    let base = base(&server);
    let c = client();

    assert_eq!(get(&format!("{base}/get")), (200, "ok".to_owned()));
    assert_eq!(send(c.post(format!("{base}/post")).body("payload")), (200, "inserted".to_owned()));
    assert_eq!(get(&format!("{base}/count")), (200, "1".to_owned()), "the handler's with_tx committed");
    assert_eq!(send(c.put(format!("{base}/any"))), (200, "any PUT".to_owned()));
    assert_eq!(send(c.delete(format!("{base}/any"))), (200, "any DELETE".to_owned()));
    assert_eq!(send(c.get(format!("{base}/header")).header("x-echo", "hello")), (200, "hello".to_owned()));
    let response = c.get(format!("{base}/set-header")).send().expect("the server answers");
    assert_eq!(response.headers().get("x-response").and_then(|v| v.to_str().ok()), Some("set"));
    assert_eq!(response.text().unwrap_or_default(), "header-set");
    assert_eq!(get(&format!("{base}/teapot")), (418, "teapot".to_owned()));

    // No route, no 405: a missing path and a known path with another method are both 404.
    assert_eq!(get(&format!("{base}/missing")), (404, NO_SUCH_ROUTE.to_owned()));
    assert_eq!(send(c.post(format!("{base}/get"))), (404, NO_SUCH_ROUTE.to_owned()));
    let head = c.head(format!("{base}/get")).send().expect("the server answers");
    assert_eq!(head.status().as_u16(), 404, "HEAD is not derived from GET");
    // Routes are anonymous: a token that does not verify does not refuse them.
    let bad_token = c.get(format!("{base}/get")).header("authorization", "Bearer not-a-jwt");
    assert_eq!(send(bad_token), (200, "ok".to_owned()));

    // A body stored and fetched by id (the example of upstream's PR).
    let payload = b"hello from the PR example".to_vec();
    let (status, id) = send(c.post(format!("{base}/insert")).body(payload.clone()));
    assert_eq!(status, 200);
    let response = c.get(format!("{base}/retrieve?id={id}")).send().expect("the server answers");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.bytes().expect("a body").as_ref(), payload.as_slice());
    assert_eq!(get(&format!("{base}/retrieve?id=999999999")).0, 404);
    let (status, text) = get(&format!("{base}/retrieve?id=not-a-u64"));
    assert_eq!(status, 500, "a panicking handler is a server error: {text}");
    assert!(text.contains("retrieve") && text.contains("the query must be `id=<u64>`"), "{text}");

    // Strict paths: root without and with a slash, trailing slashes, doubled slashes.
    assert_eq!(get(&base), (200, "empty".to_owned()));
    assert_eq!(get(&format!("{base}/")), (200, "slash".to_owned()));
    assert_eq!(get(&format!("{base}/foo")), (200, "foo".to_owned()));
    assert_eq!(get(&format!("{base}/foo/")), (200, "foo-slash".to_owned()));
    assert_eq!(get(&format!("{base}//")), (404, NO_SUCH_ROUTE.to_owned()));
    assert_eq!(get(&format!("{base}//foo")), (404, NO_SUCH_ROUTE.to_owned()));
    assert_eq!(get(&format!("{base}/FOO")), (404, NO_SUCH_ROUTE.to_owned()));
    assert_eq!(get(&format!("{base}/f%6Fo")), (200, "foo".to_owned()), "paths are percent-decoded");

    // The handler sees the URI the client used, or the one a proxy says it used.
    let url = format!("{base}/echo-uri?alpha=beta");
    assert_eq!(get(&url), (200, url.clone()));
    let proxied = c
        .get(&url)
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "db.example.com");
    assert_eq!(
        send(proxied),
        (200, "https://db.example.com/v1/database/routes/route/echo-uri?alpha=beta".to_owned())
    );

    // Request bodies, bytes and text.
    let response = c.post(format!("{base}/reverse-bytes")).body(vec![0xFF, 0x00, 0xFE, 0x7F]).send().expect("an answer");
    assert_eq!(response.bytes().expect("a body").as_ref(), [0x7F, 0xFE, 0x00, 0xFF]);
    assert_eq!(send(c.post(format!("{base}/reverse-bytes")).body("stressed")), (200, "desserts".to_owned()));
    assert_eq!(
        send(c.post(format!("{base}/reverse-words")).body(vec![0x66, 0x6F, 0x80, 0x6F])),
        (400, "request body must be valid UTF-8".to_owned())
    );
    assert_eq!(
        send(c.post(format!("{base}/reverse-words")).body("red green blue")),
        (200, "blue green red".to_owned())
    );
});

both_bindings!(fn failures_and_bad_input_leave_the_server_up(bindings) {
    let (server, owner) = publish(bindings);
    let base = base(&server);
    let c = client();

    let (status, text) = get(&format!("{base}/panics"));
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("HTTP handler `panics` failed") && text.contains("boom in a handler"), "{text}");
    let rows = owner.sql("routes", "SELECT value FROM entries").ok().trimmed_stdout();
    assert!(!rows.contains("ghost"), "the panicking handler's transaction rolled back: {rows}");

    // Each request is anonymous, with a fresh identity that is not the database's.
    let senders: Vec<Vec<String>> = (0..2)
        .map(|_| get(&format!("{base}/whoami")).1.split(' ').map(str::to_owned).collect())
        .collect();
    assert_eq!(senders[0].len(), 2, "{senders:?}");
    assert_ne!(senders[0][0], senders[0][1], "the sender is not the database");
    assert_ne!(senders[0][0], senders[1][0], "each request has its own sender");
    assert_eq!(senders[0][1], senders[1][1], "the database identity is the same");
    let (status, text) = get(&format!("{base}/uuid"));
    let uuid = text.split(' ').next().unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    assert!(uuid.len() == 36 && uuid.as_bytes()[14] == b'7', "a version 7 UUID: {text}");

    let (status, text) = get(&format!("{}/v1/database/no-such-db/route/get", server.url()));
    assert_eq!(status, 404, "an unknown database: {text}");
    assert!(text.contains("no-such-db"), "{text}");
    let (status, text) = send(c.post(format!("{base}/reverse-bytes")).body(vec![b'x'; 3 << 20]));
    assert_eq!(status, 413, "a body over the limit is refused: {text}");
    assert!(text.contains("larger than the limit"), "{text}");

    assert_eq!(get(&format!("{base}/get")), (200, "ok".to_owned()), "the server still serves routes");
    assert_eq!(get(&format!("{base}/count")), (200, "0".to_owned()));
});

both_bindings!(fn immediate_calls_run_after_the_caller_outside_its_transaction(bindings) {
    let (server, owner) = publish(bindings);
    let notes = || owner.sql("routes", "SELECT text, by_database FROM notes").ok().trimmed_stdout();

    owner.call("routes", "note_later", &["\"queued\""]).ok();
    poll(
        "the immediate call of add_note",
        Duration::from_secs(30),
        || notes().contains("\"queued\"").then_some(()),
        notes,
    );
    let rows = notes();
    assert!(rows.contains("true"), "the database made the call: {rows}");

    // Not atomic with the caller: the queued call runs although the caller failed.
    let failed = owner.call("routes", "note_later_then_fail", &["\"despite\""]).err();
    assert!(failed.stderr.contains("failing after queueing"), "{}", failed.stderr);
    poll(
        "the immediate call queued by a failing reducer",
        Duration::from_secs(30),
        || notes().contains("\"despite\"").then_some(()),
        notes,
    );

    // From an HTTP handler (which runs off the actor) too.
    let queued = send(client().post(format!("{}/note-later", base(&server))));
    assert_eq!(queued, (200, "queued".to_owned()));
    poll(
        "the immediate call queued by a handler",
        Duration::from_secs(30),
        || notes().contains("\"from a handler\"").then_some(()),
        notes,
    );
});

both_bindings!(fn a_runaway_handler_is_stopped_without_blocking_the_database(bindings) {
    let (server, owner) = publish(bindings);
    let base = base(&server);
    let url = format!("{base}/spin");
    let spinning = std::thread::spawn(move || get(&url));
    poll(
        "the spinning handler to start",
        Duration::from_secs(30),
        || owner.logs("routes", 50).iter().any(|l| l.contains("spin: started")).then_some(()),
        || owner.logs("routes", 50).join("\n"),
    );
    // Handlers run off the database's thread: other routes, and transactions (`/count`
    // opens one through the database's actor), are served meanwhile.
    assert_eq!(get(&format!("{base}/get")), (200, "ok".to_owned()));
    assert_eq!(get(&format!("{base}/count")), (200, "0".to_owned()));
    assert!(!spinning.is_finished(), "the runaway handler was still running");
    let (status, text) = spinning.join().expect("the spinning request");
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("HTTP handler `spin` failed") && text.contains("time budget"), "{text}");
    assert_eq!(get(&format!("{base}/get")), (200, "ok".to_owned()), "and serves after it");
});
