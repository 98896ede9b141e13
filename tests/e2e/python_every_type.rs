//! Every column type round-trips through the Python SDK: a Python client builds rows of
//! `EveryType` with extreme values of every type, calls `insert_every_type_row`, reads each
//! row back from its subscription (cache, callback and `async for` stream) and compares
//! field by field (`sdks/python/e2e/every_type_roundtrip.py`), against a real server
//! running the all-features module with bindings generated just now.

use crate::chat_python::{venv_python, Process};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, ALL_FEATURES};
use spacetime_testing::server::{spacetime_bin, TestServer};
use std::process::Command;

#[test]
fn every_column_type_round_trips_through_python() {
    let wasm = build_module(ALL_FEATURES, Bindings::Ours);
    let bindings = tempfile::tempdir().unwrap();
    let status = Command::new(spacetime_bin())
        .args(["generate", "--lang", "python", "--out-dir"])
        .arg(bindings.path().join("all_features"))
        .arg("--bin-path")
        .arg(&wasm)
        .status()
        .expect("run spacetime generate");
    assert!(status.success(), "generating the Python bindings failed");
    let server = TestServer::start();
    Cli::new(&server).publish(&wasm, Some("all-features"));

    let mut command = Command::new(venv_python());
    command
        .arg(repo_root().join("sdks/python/e2e/every_type_roundtrip.py"))
        .args(["--host", &server.url(), "--db", "all-features"])
        .env("PYTHONPATH", bindings.path())
        .env("PYTHONUNBUFFERED", "1");
    let mut client = Process::start(command);
    client.expect("every_type round trip: OK");
    let rows = client.output().lines().filter(|l| l.contains("columns round-tripped")).count();
    assert_eq!(rows, 3, "three rows checked:\n{}", client.output());
    assert!(client.printed("a failing reducer raises: reducer `add_player` failed: player names must not be empty"));
    client.finish();
}
