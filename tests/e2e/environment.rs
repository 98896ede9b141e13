//! The module environment of SpacetimeDB 2.14 (issue 14): a module built with the crates.io
//! `spacetimedb = "=2.14.0"` crate (`--ignore-rust-version`: it declares rust 1.97), and the
//! same source built with our bindings, declares its keys in the `Environment` section and
//! reads them with the `spacetime_10.6` import `env_get`; `spacetime publish --env` and
//! `spacetime env list|set|unset` set them per database, and they survive a restart.

use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, build_module_upstream_214, Bindings, ENV};
use spacetime_testing::server::TestServer;
use std::path::Path;

fn seen(owner: &Cli) -> String {
    owner
        .sql("envdb", "SELECT greeting, suffix FROM seen")
        .ok()
        .trimmed_stdout()
}

#[test]
fn a_2_14_module_reads_its_environment() {
    reads_its_environment(&build_module_upstream_214(ENV));
}

/// The same source built with our bindings (`#[spacetimedb::env]`, `ctx.env`).
#[test]
fn a_2_14_module_built_with_our_bindings_reads_its_environment() {
    reads_its_environment(&build_module(ENV, Bindings::Ours));
}

/// Publishes `wasm` with values, reads them from a reducer, changes them with
/// `spacetime env`, and reads them again after a restart.
fn reads_its_environment(wasm: &Path) {
    let mut server = TestServer::start();
    let owner = Cli::new(&server);

    // GREETING is required: without it nothing is created, and the message says what to give.
    let refused = owner.publish_output(wasm, Some("envdb"), &["--env", "SUFFIX=!"]).err();
    let stderr = &refused.stderr;
    assert!(
        stderr.contains("requires the environment value GREETING") && stderr.contains("--env GREETING=<value>"),
        "the refusal names the key and the flag: {stderr}"
    );
    let absent = owner.run(&["sql", "envdb", "SELECT * FROM seen"]).err();
    assert!(
        absent.stderr.contains("envdb"),
        "no database was created: {}",
        absent.stderr
    );

    let published = owner.publish_output(wasm, Some("envdb"), &["--env", "GREETING=hello", "--env", "SUFFIX=!"]);
    assert!(published.success(), "the 2.14 module publishes: {published:?}");
    assert_eq!(
        seen(&owner),
        " greeting | suffix\n----------+--------\n \"hello\"  | \"!\"",
        "init read the values given with the publish"
    );

    owner.call("envdb", "remember", &[]).ok();
    let rows = seen(&owner);
    assert!(
        rows.contains("\"hello\"") && rows.contains("\"!\""),
        "the reducer read both values: {rows}"
    );

    let listed = owner.run(&["env", "list", "envdb"]).ok();
    assert_eq!(listed.stdout.trim(), "GREETING=hello\nSUFFIX=!");

    let unset_required = owner.run(&["env", "unset", "envdb", "GREETING"]).err();
    assert!(
        unset_required
            .stderr
            .contains("requires the environment value GREETING"),
        "a required value cannot be removed: {}",
        unset_required.stderr
    );
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
