//! Every column type of the all-features module round-trips through the C# SDK: the program
//! `sdks/csharp/e2e/EveryTypeRoundTrip.cs`, compiled with `mcs` against bindings that
//! `spacetime generate --lang csharp` makes from the built module, sends two `EveryType`
//! rows of extreme values through `insert_every_type_row` on a real server, reads them back
//! from its subscription cache and compares them field by field.

use crate::common::*;
use crate::toolchains::{build_csharp_program, cs_files};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, ALL_FEATURES};
use spacetime_testing::server::TestServer;
use std::process::Command;
use std::time::Duration;

#[test]
fn every_column_type_round_trips_through_the_csharp_sdk() {
    let wasm = build_module(ALL_FEATURES, Bindings::Ours);
    let build = tempfile::tempdir().unwrap();
    let bindings = build.path().join("bindings");
    generate_bindings("csharp", &wasm, &bindings, &[]);
    let mut sources = cs_files(&bindings);
    sources.push(
        repo_root()
            .join("sdks/csharp/e2e/EveryTypeRoundTrip.cs")
            .to_string_lossy()
            .into_owned(),
    );
    let exe = build_csharp_program(build.path(), "EveryTypeRoundTrip", sources);

    let server = TestServer::start();
    Cli::new(&server).publish(&wasm, Some("all-features"));
    let mut command = Command::new("mono");
    command
        .arg(&exe)
        .args(["--host", &server.url(), "--db", "all-features"]);
    // The program has its own 30 s deadline; this one only guards against a hang.
    let mut client = ClientProcess::start(command).with_deadline(Duration::from_secs(60));
    client.expect("round trip ok: 2 rows, every column equal");
    client.finish();
    let compared: usize = client
        .lines()
        .iter()
        .map(|l| l.matches("compared 26 columns").count())
        .sum();
    assert_eq!(
        compared,
        2,
        "every column but the id was compared:\n{}",
        client.output()
    );
}
