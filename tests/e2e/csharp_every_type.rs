//! Every column type of the all-features module round-trips through the C# SDK: the program
//! `sdks/csharp/e2e/EveryTypeRoundTrip.cs`, compiled with `mcs` against bindings that
//! `spacetime generate --lang csharp` makes from the built module, sends two `EveryType`
//! rows of extreme values through `insert_every_type_row` on a real server, reads them back
//! from its subscription cache and compares them field by field.

use crate::chat_csharp::{build_csharp_program, cs_files};
use crate::common::poll;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, ALL_FEATURES};
use spacetime_testing::server::{spacetime_bin, TestServer};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn every_column_type_round_trips_through_the_csharp_sdk() {
    let wasm = build_module(ALL_FEATURES, Bindings::Ours);
    let build = tempfile::tempdir().unwrap();
    let bindings = build.path().join("bindings");
    let status = Command::new(spacetime_bin())
        .args(["generate", "--lang", "csharp", "--out-dir"])
        .arg(&bindings)
        .arg("--bin-path")
        .arg(&wasm)
        .status()
        .expect("run spacetime generate");
    assert!(status.success(), "generate --lang csharp failed");
    let mut sources = cs_files(&bindings);
    sources.push(repo_root().join("sdks/csharp/e2e/EveryTypeRoundTrip.cs").to_string_lossy().into_owned());
    let exe = build_csharp_program(build.path(), "EveryTypeRoundTrip", sources);

    let server = TestServer::start();
    Cli::new(&server).publish(&wasm, Some("all-features"));
    let mut child = Command::new("mono")
        .arg(&exe)
        .args(["--host", &server.url(), "--db", "all-features"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the round-trip program on mono");
    // The program has its own 30 s deadline; this one only guards against a hang.
    let status = poll("the round-trip program to exit", Duration::from_secs(60), || child.try_wait().expect("poll"), String::new);
    let output = child.wait_with_output().expect("collect output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        status.success() && stdout.contains("round trip ok: 2 rows, every column equal"),
        "the round trip failed ({status}):\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.matches("compared 26 columns").count(), 2, "every column but the id was compared:\n{stdout}");
}
