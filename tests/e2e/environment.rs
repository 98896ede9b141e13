//! The module environment of SpacetimeDB 2.14 (issue 14): a module built with the crates.io
//! `spacetimedb = "=2.14.0"` crate (`--ignore-rust-version`: it declares rust 1.97) declares
//! its keys in the `Environment` section and reads them with the `spacetime_10.6` import
//! `env_get`; `spacetime publish --env` and `spacetime env list|set|unset` set them per
//! database, and they survive a restart.

use spacetime_testing::cli::Cli;
use spacetime_testing::modules::repo_root;
use spacetime_testing::server::TestServer;
use std::path::PathBuf;
use std::process::Command;

/// Builds `tests/fixtures/upstream-2.14/env` and returns the `.wasm`.
fn build_env_module() -> PathBuf {
    let workspace = repo_root().join("tests/fixtures/upstream-2.14");
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let target = home.join(".cache/spacetime-target/wasm-tests-fixtures-upstream-2.14");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&workspace)
        .args([
            "build",
            "--ignore-rust-version",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "upstream214-env",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "building the 2.14 module failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target.join("wasm32-unknown-unknown/release/upstream214_env.wasm")
}

fn seen(owner: &Cli) -> String {
    owner
        .sql("envdb", "SELECT greeting, suffix FROM seen")
        .ok()
        .trimmed_stdout()
}

#[test]
fn a_2_14_module_reads_its_environment() {
    let wasm = build_env_module();
    let mut server = TestServer::start();
    let owner = Cli::new(&server);
    let published = owner.publish_output(&wasm, Some("envdb"), &["--env", "GREETING=hello", "--env", "SUFFIX=!"]);
    assert!(published.success(), "the 2.14 module publishes: {published:?}");

    owner.call("envdb", "remember", &[]).ok();
    let rows = seen(&owner);
    assert!(
        rows.contains("\"hello\"") && rows.contains("\"!\""),
        "the reducer read both values: {rows}"
    );

    let listed = owner.run(&["env", "list", "envdb"]).ok();
    assert_eq!(listed.stdout.trim(), "GREETING=hello\nSUFFIX=!");

    owner.run(&["env", "unset", "envdb", "SUFFIX"]).ok();
    owner.run(&["env", "set", "envdb", "GREETING=bonjour"]).ok();
    owner.call("envdb", "remember", &[]).ok();
    let rows = seen(&owner);
    assert!(
        rows.contains("\"bonjour\"") && rows.contains("\"<none>\""),
        "changes apply at once: {rows}"
    );

    let bad = owner.run(&["env", "set", "envdb", "1NOT-A-KEY=x"]).err();
    assert!(
        bad.stderr.contains("is invalid"),
        "a bad key is refused with the rule: {}",
        bad.stderr
    );
    let stranger = Cli::new(&server);
    stranger.new_identity();
    let refused = stranger.run(&["env", "list", "envdb"]).err();
    assert!(
        refused.stderr.contains("owner"),
        "only the owner reads the values: {}",
        refused.stderr
    );

    server.restart();
    owner.call("envdb", "remember", &[]).ok();
    let rows = seen(&owner);
    assert_eq!(
        rows.matches("\"bonjour\"").count(),
        2,
        "the values survived the restart: {rows}"
    );
}
