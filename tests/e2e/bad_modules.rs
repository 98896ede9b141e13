//! Modules the server must refuse, each with an error that says what is wrong: a file
//! that is not WebAssembly, WebAssembly that is not a Spacetime module, and a module whose
//! `init` fails. None of them may leave a database behind.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::server::TestServer;

fn assert_no_database(cli: &Cli, name: &str) {
    let out = cli.sql(name, "SELECT * FROM note").err();
    assert!(
        out.stderr.contains("no such database"),
        "{name} must not exist: {}",
        out.stderr
    );
}

#[test]
fn non_wasm_files_are_rejected_by_the_cli() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), "this is not a module").expect("write the file");
    let out = cli.publish_output(file.path(), Some("junk"), &[]).err();
    assert!(out.stderr.contains("not a WebAssembly file"), "{}", out.stderr);
    let missing = cli
        .publish_output(std::path::Path::new("/nonexistent/module.wasm"), Some("junk"), &[])
        .err();
    assert!(missing.stderr.contains("cannot read the module"), "{}", missing.stderr);
}

#[test]
fn wasm_that_is_not_a_module_is_rejected_by_the_server() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    // The smallest valid WebAssembly binary: the header and no sections, so no exports.
    std::fs::write(file.path(), b"\0asm\x01\0\0\0").expect("write the file");
    let out = cli.publish_output(file.path(), Some("empty"), &[]).err();
    assert!(out.stderr.contains("Error: publishing failed"), "{}", out.stderr);
    assert_no_database(&cli, "empty");
}

both_bindings!(fn failing_init_fails_the_publish(bindings) {
    let wasm = spacetime_testing::modules::build_module(INIT_FAIL, bindings);
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let out = cli.publish_output(&wasm, Some("init-fail"), &[]).err();
    assert!(out.stderr.contains("init failed on purpose"), "the init error reaches the publisher: {}", out.stderr);
    assert_no_database(&cli, "init-fail");

    // A failed update leaves the old module running.
    let good = spacetime_testing::modules::build_module(BASIC, bindings);
    cli.publish(&good, Some("kept"));
    cli.call("kept", "add", &["still here"]).ok();
    let broken = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(broken.path(), b"\0asm\x01\0\0\0").expect("write the file");
    cli.publish_output(broken.path(), Some("kept"), &[]).err();
    assert!(cli.sql("kept", "SELECT * FROM person").ok().stdout.contains("still here"));
});

#[test]
fn module_path_errors_say_what_to_do() {
    use std::os::unix::fs::PermissionsExt;

    let server = TestServer::start();
    let cli = Cli::new(&server);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = cli
        .run(&[
            "publish",
            "--yes",
            "--module-path",
            dir.path().to_str().expect("UTF-8"),
            "x",
        ])
        .err();
    assert!(out.stderr.contains("has no Cargo.toml"), "{}", out.stderr);

    // A toolchain without the wasm32 standard library: a `rustc` whose sysroot lacks it.
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"m\"\nversion = \"0.1.0\"\n",
    )
    .expect("write Cargo.toml");
    let rustc = dir.path().join("fake-rustc");
    std::fs::write(&rustc, "#!/bin/sh\necho /nonexistent-sysroot\n").expect("write the fake rustc");
    std::fs::set_permissions(&rustc, std::fs::Permissions::from_mode(0o755)).expect("make it executable");
    let out = cli.run_with_env(
        &[
            "publish",
            "--yes",
            "--module-path",
            dir.path().to_str().expect("UTF-8"),
            "x",
        ],
        &[("RUSTC", rustc.as_os_str())],
    );
    let out = out.err();
    assert!(
        out.stderr.contains("run `rustup target add wasm32-unknown-unknown`"),
        "{}",
        out.stderr
    );
}
