//! Views through the Python and C# SDKs (issue 14 item 4): real client processes against a
//! server running the views module (built with our bindings and with the crates.io crate),
//! with bindings `spacetime generate` makes from the built module. A keyed per-caller view's
//! row arrives by insert, is found by its key and changes by one update; an anonymous view
//! gains and loses rows as the table under it changes; a one-off query of a view gives
//! typed rows (`sdks/python/e2e/views_client.py`, type-checked here with `mypy --strict`
//! against the generated bindings, and `sdks/csharp/e2e/ViewsClient.cs`, compiled with
//! warnings as errors).

use crate::common::*;
use crate::toolchains::{build_csharp_program, cs_files, python_script, venv_python};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, VIEWS};
use spacetime_testing::server::TestServer;
use std::process::Command;
use std::time::Duration;

/// The lines each client prints for its checks (beyond its final OK line).
const CHECKS: &[&str] = &[
    "both views start empty",
    "row arrived through",
    "find by the view's primary key",
    "a changed row of the keyed view is one",
    "only the expensive item entered",
    "expensive_items holds one row",
    "a removed item left the view",
    "a one-off query of a view returned typed rows",
];

fn assert_checks(client: &ClientProcess) {
    for &check in CHECKS {
        assert!(
            client.lines().iter().any(|l| l.contains(check)),
            "no line with `{check}`:\n{}",
            client.output()
        );
    }
}

/// A server with the views module published as `views`, and the module's `.wasm`.
fn publish(bindings: Bindings) -> (TestServer, std::path::PathBuf) {
    let wasm = build_module(VIEWS, bindings);
    let server = TestServer::start();
    Cli::new(&server).publish(&wasm, Some("views"));
    (server, wasm)
}

both_bindings!(fn python_reads_views_as_tables(bindings) {
    let (server, wasm) = publish(bindings);
    let dir = tempfile::tempdir().unwrap();
    generate_bindings("python", &wasm, &dir.path().join("views"), &[]);
    let script = repo_root().join("sdks/python/e2e/views_client.py");
    let mypy_path = std::env::join_paths([dir.path().to_path_buf(), repo_root().join("sdks/python/src")]).unwrap();
    let mypy = Command::new(venv_python())
        .args(["-m", "mypy", "--strict", "--cache-dir"])
        .arg(dir.path().join(".mypy_cache"))
        .arg(&script)
        .env("MYPYPATH", mypy_path)
        .output()
        .expect("run mypy");
    assert!(
        mypy.status.success(),
        "mypy --strict on views_client.py with the views bindings:\n{}{}",
        String::from_utf8_lossy(&mypy.stdout),
        String::from_utf8_lossy(&mypy.stderr)
    );
    let mut client = python_script("views_client.py", &["--host", &server.url(), "--db", "views"], dir.path());
    client.expect("views: OK");
    client.finish();
    assert_checks(&client);
});

both_bindings!(fn csharp_reads_views_as_tables(bindings) {
    let (server, wasm) = publish(bindings);
    let build = tempfile::tempdir().unwrap();
    let generated = build.path().join("bindings");
    generate_bindings("csharp", &wasm, &generated, &[]);
    let mut sources = cs_files(&generated);
    sources.push(repo_root().join("sdks/csharp/e2e/ViewsClient.cs").to_string_lossy().into_owned());
    let exe = build_csharp_program(build.path(), "ViewsClient", sources);
    let mut command = Command::new("mono");
    command.arg(&exe).args(["--host", &server.url(), "--db", "views"]);
    // The program has its own 30 s deadline per request; this one only guards against a hang.
    let mut client = ClientProcess::start(command).with_deadline(Duration::from_secs(90));
    client.expect("views: OK");
    client.finish();
    assert_checks(&client);
});
