//! Every column type round-trips through the Python SDK: a Python client builds rows of
//! `EveryType` with extreme values of every type, calls `insert_every_type_row`, reads each
//! row back from its subscription (cache, callback and `async for` stream) and compares
//! field by field (`sdks/python/e2e/every_type_roundtrip.py`), and checks the typed
//! `ReducerEvent` a reducer call returns, against a real server running the all-features
//! module with bindings generated just now.

use crate::common::*;
use crate::toolchains::python_script;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings, ALL_FEATURES};
use spacetime_testing::server::TestServer;

#[test]
fn every_column_type_round_trips_through_python() {
    let wasm = build_module(ALL_FEATURES, Bindings::Ours);
    let bindings = tempfile::tempdir().unwrap();
    generate_bindings("python", &wasm, &bindings.path().join("all_features"), &[]);
    let server = TestServer::start();
    Cli::new(&server).publish(&wasm, Some("all-features"));

    let mut client = python_script(
        "every_type_roundtrip.py",
        &["--host", &server.url(), "--db", "all-features"],
        bindings.path(),
    );
    client.expect("every_type round trip: OK");
    let rows = client
        .lines()
        .iter()
        .filter(|l| l.contains("columns round-tripped"))
        .count();
    assert_eq!(rows, 3, "three rows checked:\n{}", client.output());
    client.assert_printed("a failing reducer raises: reducer `add_player` failed: player names must not be empty");
    client.assert_printed("level_up returned its committed ReducerEvent");
    client.finish();
}
