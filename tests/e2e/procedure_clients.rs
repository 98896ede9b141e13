//! Procedures and one-off queries through the Python and C# SDKs (issue 14 item 4), each
//! against a real server running the procedures module (built with our bindings and with
//! the crates.io crate) with bindings `spacetime generate` makes from the built module: a
//! typed return value, a procedure's `with_tx` row reaching the client's row callback
//! before the call returns (the client fetches from its own loopback HTTP server, so the
//! server runs with `--allow-private-http`), a procedure's panic as the language's error,
//! and one-off queries with typed rows, raw rows for a projection and the server's error
//! (`sdks/python/e2e/procedures_and_queries.py`, `sdks/csharp/e2e/ProceduresAndQueries.cs`);
//! and, with the clients' `--drop`, a call still waiting when the server is killed fails
//! with the language's connection-lost error.

use crate::common::*;
use crate::toolchains::{build_csharp_program, cs_files, python_script};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, PROCEDURES};
use spacetime_testing::server::TestServer;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The lines each client prints for its checks (beyond its final OK line).
const CHECKS: &[&str] = &[
    "returned 42",
    "returned the body",
    "with_tx row reached",
    "returned 1",
    "boom inside with_tx",
    "returned typed rows",
    "raw rows (two u64 ids)",
    "no_such_table",
];

/// A server that lets procedures fetch from loopback, with the procedures module published
/// as `procs`, and the module's `.wasm`.
fn publish(bindings: Bindings) -> (TestServer, std::path::PathBuf) {
    let wasm = build_module(PROCEDURES, bindings);
    let server = TestServer::start_with_args(&["--allow-private-http"]);
    Cli::new(&server).publish(&wasm, Some("procs"));
    (server, wasm)
}

/// Checks that a finished client printed every check line.
fn assert_checks(client: &ClientProcess) {
    for &check in CHECKS {
        assert!(
            client.lines().iter().any(|l| l.contains(check)),
            "no line with `{check}`:\n{}",
            client.output()
        );
    }
}

both_bindings!(fn python_calls_procedures_and_runs_one_off_queries(bindings) {
    let (server, wasm) = publish(bindings);
    let dir = tempfile::tempdir().unwrap();
    generate_bindings("python", &wasm, &dir.path().join("procedures"), &[]);
    let mut client = python_script(
        "procedures_and_queries.py",
        &["--host", &server.url(), "--db", "procs"],
        dir.path(),
    );
    client.expect("procedures and queries: OK");
    client.finish();
    assert_checks(&client);
});

/// Starts `client` (with `--drop`), kills the server once the procedure is waiting on the
/// client's held HTTP request, and checks the client's connection-lost error.
fn assert_drop_fails_the_waiting_call(mut server: TestServer, mut client: ClientProcess, error: &str) {
    client.expect("the procedure is fetching");
    server.sigkill();
    client.expect(&format!("the waiting call raised {error}"));
    client.finish();
}

#[test]
fn a_python_procedure_call_fails_when_the_connection_drops() {
    let (server, wasm) = publish(Bindings::Ours);
    let dir = tempfile::tempdir().unwrap();
    generate_bindings("python", &wasm, &dir.path().join("procedures"), &[]);
    let client = python_script(
        "procedures_and_queries.py",
        &["--host", &server.url(), "--db", "procs", "--drop"],
        dir.path(),
    );
    assert_drop_fails_the_waiting_call(server, client, "ConnectionLostError");
}

#[test]
fn a_csharp_procedure_call_fails_when_the_connection_drops() {
    let (server, wasm) = publish(Bindings::Ours);
    let build = tempfile::tempdir().unwrap();
    let exe = build_client(build.path(), &wasm);
    let mut command = Command::new("mono");
    command
        .arg(&exe)
        .args(["--host", &server.url(), "--db", "procs", "--drop"]);
    let client = ClientProcess::start(command).with_deadline(Duration::from_secs(90));
    assert_drop_fails_the_waiting_call(server, client, "ConnectionLostException");
}

both_bindings!(fn csharp_calls_procedures_and_runs_one_off_queries(bindings) {
    let (server, wasm) = publish(bindings);
    let build = tempfile::tempdir().unwrap();
    let exe = build_client(build.path(), &wasm);
    let mut command = Command::new("mono");
    command.arg(&exe).args(["--host", &server.url(), "--db", "procs"]);
    // The program has its own 30 s deadline per request; this one only guards against a hang.
    let mut client = ClientProcess::start(command).with_deadline(Duration::from_secs(90));
    client.expect("procedures and queries: OK");
    client.finish();
    assert_checks(&client);
});

/// Generates C# bindings of `wasm` under `out` and compiles the test program against them.
fn build_client(out: &Path, wasm: &Path) -> std::path::PathBuf {
    let bindings = out.join("bindings");
    generate_bindings("csharp", wasm, &bindings, &[]);
    let mut sources = cs_files(&bindings);
    sources.push(
        repo_root()
            .join("sdks/csharp/e2e/ProceduresAndQueries.cs")
            .to_string_lossy()
            .into_owned(),
    );
    build_csharp_program(out, "ProceduresAndQueries", sources)
}
