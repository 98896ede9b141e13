//! Procedures, one-off queries and views through the Rust and TypeScript SDKs (issue 14
//! item 4): real client processes against a real server, each module built with our
//! bindings and with the crates.io crate.
//! - Procedures (`tests/modules/procedures`): a typed return value awaited, a panicking
//!   procedure's error, the Rust callback form, a one-off query's typed rows after a
//!   reducer committed, and a refused query; and, on a server started with
//!   `--allow-private-http`, a procedure that fetches from a loopback HTTP server the test
//!   runs, returns the body and writes it with `with_tx`, whose row reaches the client's
//!   subscription before the value does; and a call waiting on a URL that never answers
//!   fails with the connection when the server is killed.
//! - Views (`tests/modules/views`): with two identities, a per-caller view holds each
//!   caller's own rows, an anonymous view's delta reaches a subscriber, a keyed view gives
//!   `find` and an update, and a one-off query of a view returns typed rows.
//!
//! The clients are `tests/sdk-client` (`sdk-procedures`, `sdk-views`; committed bindings,
//! checked current) and `sdks/typescript/e2e-sdk/{procedures,views}.ts` (bindings generated
//! from the built modules by the test).

use crate::common::*;
use crate::toolchains::{build_typescript_sdk, cargo_build, npm_tool};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, ModuleCrate, PROCEDURES, VIEWS};
use spacetime_testing::server::TestServer;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The lines both procedure clients print, in order, for a fresh database.
const PROCEDURE_LINES: &[&str] = &[
    "add = 42",
    "panic_in_tx failed: ",
    "count_fetched",
    "bumped by = [5]",
    "query refused: ",
    "done",
];

/// The lines both view clients print, in order, for a fresh database (Rust prints lists
/// with quotes, TypeScript without; the checks below hold for both).
const VIEW_LINES: &[&str] = &[
    "A my_items = [",
    "B my_items = [",
    "A expensive_items = [",
    "A expensive_items insert b-pricey 500",
    "A my_items count = 2",
    "A my_player insert alice 1",
    "A my_player find = alice",
    "A my_player update 1 -> 2",
    "A query my_items = [",
    "done",
];

/// Runs a client to its end and checks it printed `expected` in order.
fn check(command: Command, expected: &[&str]) -> ClientProcess {
    let mut client = ClientProcess::start(command);
    client.expect("done");
    assert!(in_order(&client.lines(), expected), "{}", client.output());
    client.finish();
    client
}

/// What a procedure client must have seen besides the order: the host's message of the
/// panic, and an empty `fetched` table.
fn check_procedures(client: &ClientProcess) {
    assert!(line(client, "panic_in_tx failed: ").contains("boom inside with_tx"));
    assert!(line(client, "count_fetched").ends_with(" = 0"), "{}", client.output());
    assert!(
        line(client, "query refused: ").contains("nowhere"),
        "{}",
        client.output()
    );
}

/// The line starting with `prefix`, with list quotes dropped: `A my_items = [a, b]`.
fn line(client: &ClientProcess, prefix: &str) -> String {
    let found = client.lines().into_iter().find(|l| l.starts_with(prefix));
    found
        .unwrap_or_else(|| panic!("no `{prefix}` line:\n{}", client.output()))
        .replace('"', "")
}

/// What a view client must have seen: each caller's own items, and the rows of the
/// anonymous view.
fn check_views(client: &ClientProcess) {
    assert_eq!(line(client, "A my_items ="), "A my_items = [a-cheap, a-pricey]");
    assert_eq!(line(client, "B my_items ="), "B my_items = [b-thing]");
    assert_eq!(line(client, "A expensive_items ="), "A expensive_items = [a-pricey]");
    assert_eq!(
        line(client, "A query my_items ="),
        "A query my_items = [a-cheap, a-pricey]"
    );
}

/// The Rust client binary `bin` (the workspace is built once per test process).
fn rust_client(bin: &str) -> Command {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let procedures = DIR.get_or_init(|| cargo_build("tests/sdk-client", None, "sdk-procedures"));
    Command::new(procedures.with_file_name(bin))
}

fn run_rust(module: ModuleCrate, bindings: Bindings, bin: &str, expected: &[&str]) -> ClientProcess {
    let fx = Fixture::new(module, bindings, "sdk");
    let mut command = rust_client(bin);
    command.args(["--uri", &fx.server.url(), "--db", "sdk"]);
    check(command, expected)
}

/// The body the test's HTTP server answers every request with.
const BODY: &str = "hello from the sdk test's HTTP server";

/// Serves [`BODY`] to every request on a loopback port, for as long as the test process
/// runs; returns its URL.
fn loopback_http() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}/hello", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
            let mut line = String::new();
            // The request line and headers, up to the blank line.
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
                BODY.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url
}

/// A server that lets procedures reach loopback, with the procedures module published as
/// `sdk`.
fn private_http_server(bindings: Bindings) -> TestServer {
    let server = TestServer::start_with_args(&["--allow-private-http"]);
    Cli::new(&server).publish(&build_module(PROCEDURES, bindings), Some("sdk"));
    server
}

/// What a client that ran with `--fetch` must have printed.
fn check_fetch(client: &ClientProcess) {
    assert_eq!(line(client, "fetched = "), format!("fetched = {BODY}"));
    assert_eq!(line(client, "row before value = "), "row before value = true");
}

/// Compiles the TypeScript scripts with bindings generated from both modules built with
/// `bindings`, then runs `run` (given the SDK's directory) with them. The scripts are
/// compiled in one place, so the tests take turns: none compiles or runs another's
/// half-written files.
fn with_typescript<T>(bindings: Bindings, run: impl FnOnce(&std::path::Path) -> T) -> T {
    static TURN: Mutex<()> = Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let sdk = repo_root().join("sdks/typescript");
    for (m, dir) in [(PROCEDURES, "procedures"), (VIEWS, "views")] {
        let out = sdk.join("bindings-e2e-sdk").join(dir);
        let _ = std::fs::remove_dir_all(&out);
        generate_bindings("typescript", &build_module(m, bindings), &out, &[]);
    }
    build_typescript_sdk();
    npm_tool("tsc", &["-p", "tsconfig.e2e-sdk.json"], &sdk);
    run(&sdk)
}

/// Runs the TypeScript script `script` against `module` and checks its lines.
fn run_typescript(module: ModuleCrate, bindings: Bindings, script: &str, expected: &[&str]) -> ClientProcess {
    with_typescript(bindings, |sdk| {
        let fx = Fixture::new(module, bindings, "sdk");
        let mut command = Command::new("node");
        command
            .arg(sdk.join("dist-e2e-sdk/e2e-sdk").join(format!("{script}.js")))
            .args(["--host", &fx.server.url(), "--db", "sdk"]);
        check(command, expected)
    })
}

both_bindings!(fn rust_client_calls_procedures_and_queries(bindings) {
    check_procedures(&run_rust(PROCEDURES, bindings, "sdk-procedures", PROCEDURE_LINES));
});

both_bindings!(fn typescript_client_calls_procedures_and_queries(bindings) {
    check_procedures(&run_typescript(PROCEDURES, bindings, "procedures", PROCEDURE_LINES));
});

both_bindings!(fn rust_client_gets_a_fetched_body_from_a_procedure(bindings) {
    let server = private_http_server(bindings);
    let mut command = rust_client("sdk-procedures");
    command.args(["--uri", &server.url(), "--db", "sdk", "--fetch", &loopback_http()]);
    check_fetch(&check(command, PROCEDURE_LINES));
});

both_bindings!(fn typescript_client_gets_a_fetched_body_from_a_procedure(bindings) {
    let server = private_http_server(bindings);
    let url = loopback_http();
    let client = with_typescript(bindings, |sdk| {
        let mut command = Command::new("node");
        command
            .arg(sdk.join("dist-e2e-sdk/e2e-sdk/procedures.js"))
            .args(["--host", &server.url(), "--db", "sdk", "--fetch", &url]);
        check(command, PROCEDURE_LINES)
    });
    check_fetch(&client);
});

/// A loopback HTTP server that never answers: each request is kept open, and its arrival
/// is sent on the returned channel. Returns its URL.
fn held_http() -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}/held", listener.local_addr().expect("an address"));
    let (arrived, arrivals) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().flatten() {
            open.push(stream);
            let _ = arrived.send(());
        }
    });
    (url, arrivals)
}

/// Starts `client` (with `--hold`), kills the server once the module's request reached the
/// held URL, and checks that the client's waiting call failed with the connection.
fn assert_a_waiting_call_fails_when_the_server_dies(
    mut server: TestServer,
    mut client: ClientProcess,
    arrivals: &std::sync::mpsc::Receiver<()>,
) {
    client.expect("fetching");
    arrivals
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the procedure's request reaches the held URL within 30 s");
    server.sigkill();
    client.expect("the waiting call failed: ");
    assert!(
        line(&client, "the waiting call failed: ").contains("fetch_and_store"),
        "{}",
        client.output()
    );
    client.finish();
}

#[test]
fn a_rust_procedure_call_fails_when_the_server_dies() {
    let server = private_http_server(Bindings::Ours);
    let (url, arrivals) = held_http();
    let mut command = rust_client("sdk-procedures");
    command.args(["--uri", &server.url(), "--db", "sdk", "--hold", &url]);
    assert_a_waiting_call_fails_when_the_server_dies(server, ClientProcess::start(command), &arrivals);
}

#[test]
fn a_typescript_procedure_call_fails_when_the_server_dies() {
    let server = private_http_server(Bindings::Ours);
    let (url, arrivals) = held_http();
    with_typescript(Bindings::Ours, |sdk| {
        let mut command = Command::new("node");
        command.arg(sdk.join("dist-e2e-sdk/e2e-sdk/procedures.js")).args([
            "--host",
            &server.url(),
            "--db",
            "sdk",
            "--hold",
            &url,
        ]);
        let client = ClientProcess::start(command);
        assert_a_waiting_call_fails_when_the_server_dies(server, client, &arrivals);
    });
}

both_bindings!(fn rust_client_reads_views_as_tables(bindings) {
    check_views(&run_rust(VIEWS, bindings, "sdk-views", VIEW_LINES));
});

both_bindings!(fn typescript_client_reads_views_as_tables(bindings) {
    check_views(&run_typescript(VIEWS, bindings, "views", VIEW_LINES));
});

#[test]
fn the_rust_clients_committed_bindings_are_current() {
    for (module, dir) in [(PROCEDURES, "procedures_bindings"), (VIEWS, "views_bindings")] {
        let wasm = build_module(module, Bindings::Ours);
        let committed = format!("tests/sdk-client/src/{dir}");
        assert_bindings_current("rust", &wasm, &[], &[committed.as_str()]);
    }
}
