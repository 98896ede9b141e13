//! A Python client survives its server being SIGKILLed and restarted on the same data
//! directory and port: it reconnects by itself, and its cache, its row callbacks and its
//! subscription's `async for` stream all converge on the rows changed while it was away,
//! each change reported once (`sdks/python/e2e/reconnect_converges.py`, against the
//! all-features module with bindings generated just now).

use crate::common::*;
use crate::toolchains::python_script;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings, ALL_FEATURES};
use spacetime_testing::server::TestServer;

const DB: &str = "all-features";

/// The lines from `mark` on that start with `prefix`, without it, sorted.
fn reported(client: &ClientProcess, mark: usize, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = client
        .lines()
        .into_iter()
        .skip(mark)
        .filter_map(|l| l.strip_prefix(prefix).map(str::to_owned))
        .collect();
    out.sort();
    out
}

/// Adds a level-1 player through the CLI (as the database owner).
fn add_player(cli: &Cli, name: &str) {
    cli.call(DB, "add_player", &[&format!("{name:?}"), "1", "0", r#"{"red": {}}"#])
        .ok();
}

#[test]
fn python_client_converges_after_the_server_is_killed_and_restarted() {
    let wasm = build_module(ALL_FEATURES, Bindings::Ours);
    let bindings = tempfile::tempdir().unwrap();
    generate_bindings("python", &wasm, &bindings.path().join("all_features"), &[]);
    let mut server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&wasm, Some(DB));
    for name in ["ada", "bob", "cy"] {
        add_player(&cli, name);
    }

    // The retry delay is long enough that the changes below usually land while the client
    // is away (and reach it as the resubscription's catch-up); either way, what it reports
    // must be the same.
    let url = server.url();
    let args = ["--host", url.as_str(), "--db", DB, "--reconnect-delay", "3"];
    let mut client = python_script("reconnect_converges.py", &args, bindings.path());
    client.expect("applied");
    client.send("sync");
    client.expect("synced 1");
    let initial = [
        "insert ada/1 via applied",
        "insert bob/1 via applied",
        "insert cy/1 via applied",
    ];
    assert_eq!(reported(&client, 0, "callback "), initial, "{}", client.output());
    assert_eq!(reported(&client, 0, "stream "), initial, "{}", client.output());

    // Confirmed reads: the players the client saw are durable, so they survive the kill.
    let mark = client.lines().len();
    server.restart();
    add_player(&cli, "dee");
    cli.call(DB, "delete_player_row", &["\"bob\""]).ok();
    cli.call(DB, "level_up", &["\"cy\""]).ok();
    client.expect("reconnected");
    client.send("sync");
    client.expect("synced 2");
    client.send("dump");
    client.expect("dump ");
    let callbacks = reported(&client, mark, "callback ");
    let changes: Vec<&str> = callbacks
        .iter()
        .map(|l| l.split(" via ").next().unwrap_or_default())
        .collect();
    assert_eq!(
        changes,
        ["delete bob/1", "insert dee/1", "update cy/1 -> cy/2"],
        "exactly the real differences fire, once each:\n{}",
        client.output()
    );
    assert_eq!(
        reported(&client, mark, "stream "),
        callbacks,
        "the stream reports what the callbacks do:\n{}",
        client.output()
    );
    assert!(
        client.has_printed("dump ada/1, cy/2, dee/1"),
        "the cache converged:\n{}",
        client.output()
    );
    assert!(
        !client.has_printed("disconnected"),
        "the connection was resumed, not ended:\n{}",
        client.output()
    );

    // The resubscribed query set is live.
    let mark = client.lines().len();
    client.send("add eve");
    client.send("sync");
    client.expect("synced 3");
    assert_eq!(
        reported(&client, mark, "callback "),
        ["insert eve/1 via reducer"],
        "{}",
        client.output()
    );
    assert_eq!(
        reported(&client, mark, "stream "),
        ["insert eve/1 via reducer"],
        "{}",
        client.output()
    );
    client.finish();
    assert!(client.has_printed("disconnected"), "{}", client.output());
}
