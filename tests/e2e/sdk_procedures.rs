//! Procedures and one-off queries through the Rust and TypeScript SDKs (issue 14 item 4),
//! each a real client process against a real server running the procedures module (built
//! with our bindings and with the crates.io crate): a procedure's typed return value
//! awaited, a panicking procedure's error, the Rust callback form, and a one-off query's
//! typed rows after a reducer committed, and a refused query (`tests/procedures-client`,
//! `sdks/typescript/e2e-procedures/procedures.ts`). The Rust client's committed bindings
//! are what `spacetime generate` makes of the module; the TypeScript client's are generated
//! from the built module by the test.

use crate::common::*;
use crate::toolchains::{build_typescript_sdk, cargo_build, npm_tool};
use spacetime_testing::modules::{build_module, repo_root, Bindings, PROCEDURES};
use std::process::Command;
use std::sync::OnceLock;

/// The lines both clients print, in order, for a fresh database.
const EXPECTED: &[&str] = &[
    "add = 42",
    "panic_in_tx failed: ",
    "count_fetched",
    "bumped by = [5]",
    "query refused: ",
    "done",
];

fn check(client: &mut ClientProcess) {
    client.expect("done");
    assert!(in_order(&client.lines(), EXPECTED), "{}", client.output());
    client.assert_printed("boom inside with_tx");
    client.assert_printed("= 0");
    client.finish();
}

both_bindings!(fn rust_client_calls_procedures_and_queries(bindings) {
    static BIN: OnceLock<std::path::PathBuf> = OnceLock::new();
    let bin = BIN.get_or_init(|| cargo_build("tests/procedures-client", None, "procedures-client"));
    let fx = Fixture::new(PROCEDURES, bindings, "procs");
    let mut command = Command::new(bin);
    command.args(["--uri", &fx.server.url(), "--db", "procs"]);
    check(&mut ClientProcess::start(command));
});

both_bindings!(fn typescript_client_calls_procedures_and_queries(bindings) {
    // The script is compiled with the bindings in one place: the two flavours' tests take
    // turns, so neither compiles or runs the other's half-written files.
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let fx = Fixture::new(PROCEDURES, bindings, "procs");
    let sdk = repo_root().join("sdks/typescript");
    let out = sdk.join("bindings-e2e-procedures/procedures");
    let _ = std::fs::remove_dir_all(&out);
    generate_bindings("typescript", &fx.wasm, &out, &[]);
    build_typescript_sdk();
    npm_tool("tsc", &["-p", "tsconfig.e2e-procedures.json"], &sdk);
    let mut command = Command::new("node");
    command
        .arg(sdk.join("dist-e2e-procedures/e2e-procedures/procedures.js"))
        .args(["--host", &fx.server.url(), "--db", "procs"]);
    check(&mut ClientProcess::start(command));
});

#[test]
fn the_rust_clients_committed_bindings_are_current() {
    let wasm = build_module(PROCEDURES, Bindings::Ours);
    assert_bindings_current("rust", &wasm, &[], &["tests/procedures-client/src/module_bindings"]);
}
