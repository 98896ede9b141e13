//! Every column type round-trips through the TypeScript SDK against the all-features
//! module (`sdks/typescript/e2e/every-type.ts`, with bindings generated from the module
//! just built): rows of extreme values go out through a reducer and come back through the
//! subscription unchanged, and `find`, `filter` and `onUpdate` work.

use crate::common::*;
use crate::toolchains::{build_typescript_sdk, npm_tool};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, ALL_FEATURES};
use spacetime_testing::server::TestServer;
use std::process::Command;

#[test]
fn every_column_type_round_trips_through_typescript() {
    let wasm = build_module(ALL_FEATURES, Bindings::Ours);
    let sdk = repo_root().join("sdks/typescript");
    // In the SDK's tree, where tsconfig.e2e.json compiles it with the script.
    let bindings = sdk.join("bindings-e2e/all-features");
    let _ = std::fs::remove_dir_all(&bindings);
    generate_bindings("typescript", &wasm, &bindings, &[]);
    build_typescript_sdk();
    npm_tool("tsc", &["-p", "tsconfig.e2e.json"], &sdk);

    let server = TestServer::start();
    Cli::new(&server).publish(&wasm, Some("all-features"));
    let mut script = Command::new("node");
    script
        .arg(sdk.join("dist-e2e/e2e/every-type.js"))
        .args(["--host", &server.url(), "--db", "all-features"]);
    let mut client = ClientProcess::start(script);
    client.expect("every_type round trip: OK");
    let rows = client
        .lines()
        .iter()
        .filter(|l| l.contains("26 columns round-tripped"))
        .count();
    assert_eq!(rows, 3, "three rows checked:\n{}", client.output());
    client.assert_printed("a failing reducer rejects with its message");
    client.assert_printed("find, filter and onUpdate work");
    client.finish();
}
