//! `spacetime start` itself: where the listen address comes from (upstream's
//! `cli_start_uses_listen_addr_from_cli_toml` and `…_explicit_listen_addr_overrides…`),
//! a clear error for an address it cannot use, and a database surviving a SIGKILL
//! restart (upstream's `test_restart_module`).

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::server::TestServer;

#[test]
fn listen_addr_comes_from_cli_toml() {
    let server = TestServer::start_configured(Some("listen_addr = \"127.0.0.1:0\"\n"), None);
    assert!(server.url().starts_with("http://127.0.0.1:"), "{}", server.url());
}

#[test]
fn explicit_listen_addr_wins_over_cli_toml() {
    // The configured address cannot be bound, so the server only starts if the flag wins.
    let server = TestServer::start_configured(Some("listen_addr = \"256.0.0.1:0\"\n"), Some("127.0.0.1:0"));
    assert!(server.url().starts_with("http://127.0.0.1:"), "{}", server.url());
}

#[test]
fn unusable_listen_addr_is_a_clear_error() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let data = tempfile::tempdir().expect("a temporary directory");
    let out = cli
        .run(&[
            "start",
            "--data-dir",
            data.path().to_str().expect("UTF-8"),
            "--listen-addr",
            "256.0.0.1:0",
        ])
        .err();
    assert!(out.stderr.starts_with("Error: "), "{}", out.stderr);
    assert!(
        out.stderr.contains("256.0.0.1:0"),
        "the error names the address: {}",
        out.stderr
    );
}

both_bindings!(fn database_survives_a_crash(bindings) {
    let mut fx = Fixture::new(BASIC, bindings, "durable");
    fx.call("add", &["Before"]).ok();
    fx.server.restart();
    // The database, its name, its owner and its module come back; rows written before the
    // crash come back once the commit log replays them (checked by the durability tests).
    fx.call("add", &["After"]).ok();
    assert!(fx.sql("SELECT * FROM person").contains("\"After\""));
    fx.call("say_hello", &[]).ok();
    let logs = fx.logs(100);
    assert!(logs.iter().any(|l| l == "Hello, After!"), "{logs:?}");
    let stranger = fx.other_user();
    stranger.publish_output(&fx.wasm, Some("durable"), &[]).err();
});
