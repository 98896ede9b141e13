//! Upstream's `client_connection_errors.rs` smoketests, with our own module
//! (`tests/modules/client-connection`): a `client_connected` that returns an error refuses
//! the connection and `client_disconnected` is never called for it; a
//! `client_disconnected` that panics still removes the client from `st_client`.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::Bindings;
use std::time::Duration;

/// The identity `login show` reports, without `0x`.
fn identity_of(cli: &Cli) -> String {
    let shown = cli.run(&["login", "show"]).ok().stdout;
    let last = shown
        .split_whitespace()
        .last()
        .unwrap_or_else(|| panic!("login show: {shown}"));
    last.trim_start_matches("0x").to_owned()
}

#[test]
fn client_connected_error_rejects_connection() {
    let fx = Fixture::new(CLIENT_CONNECTION, Bindings::Ours, "connection-reject");
    let stranger = fx.other_user();
    let who = identity_of(&stranger);
    fx.call("refuse", &[&who]).ok();

    let out = stranger
        .run(&[
            "subscribe",
            &fx.name,
            "SELECT * FROM all_u8s",
            "-n",
            "0",
            "--print-initial-update",
        ])
        .err();
    assert!(out.stderr.contains(&format!("{who} is refused")), "{}", out.stderr);
    assert_eq!(out.stdout, "", "a refused client gets no rows");

    let logs = fx.logs(100);
    assert!(
        logs.iter()
            .any(|l| l.contains(&format!("Rejecting connection from client {who}"))),
        "{logs:#?}"
    );
    assert!(
        !logs
            .iter()
            .any(|l| l.contains(&format!("client_disconnected called for {who}"))),
        "client_disconnected must not run for a refused connection: {logs:#?}"
    );
}

#[test]
fn client_disconnected_panic_still_deletes_st_client() {
    let fx = Fixture::new(CLIENT_CONNECTION, Bindings::Ours, "connection-panic");
    let stranger = fx.other_user();
    let who = identity_of(&stranger);
    let out = stranger
        .run(&[
            "subscribe",
            &fx.name,
            "SELECT * FROM all_u8s",
            "-n",
            "0",
            "--print-initial-update",
        ])
        .ok();
    assert!(
        out.stdout.contains(r#""inserts":[]"#),
        "the initial update, empty: {}",
        out.stdout
    );

    poll(
        "client_disconnected to run for the subscriber",
        Duration::from_secs(10),
        || {
            let logs = fx.logs(100);
            let called = logs
                .iter()
                .any(|l| l.contains(&format!("client_disconnected called for {who}")));
            let panicked = logs
                .iter()
                .any(|l| l.contains("This should be called, but the `st_client` row should still be deleted"));
            (called && panicked).then_some(())
        },
        || format!("{:#?}", fx.logs(100)),
    );
    // Only the SQL request's own connection is left: the owner's.
    assert_eq!(fx.sql("SELECT COUNT(*) AS n FROM st_client"), " n\n---\n 1");
    let owner = identity_of(&fx.owner);
    let rows = fx.sql("SELECT identity FROM st_client");
    assert!(rows.contains(&owner) && !rows.contains(&who), "{rows}");
}
