//! Compatibility with upstream's own client: the published `spacetimedb@2.10.1` npm
//! package (`tests/npm-compat/chat.mjs`, on Node with `undici` for WebSocket) connects to
//! our server, subscribes to the quickstart chat, calls reducers (one committing, one
//! rejected by the module), and receives a message sent through the CLI as another
//! client's transaction. Runs against the chat module built with our bindings and with
//! upstream's 2.10.1 crate.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, QUICKSTART_CHAT};
use spacetime_testing::server::TestServer;
use std::process::Command;
use std::time::Duration;

both_bindings!(fn the_npm_client_subscribes_and_calls_reducers(bindings) {
    let dir = repo_root().join("tests/npm-compat");
    assert!(
        dir.join("node_modules/spacetimedb/package.json").is_file(),
        "tests/npm-compat has no node_modules: run `npm ci` there (scripts/install-deps.sh does)"
    );
    let server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&build_module(QUICKSTART_CHAT, bindings), Some(CHAT_DB));

    let mut command = Command::new("node");
    command.arg("chat.mjs").arg(server.url()).arg(CHAT_DB).current_dir(&dir);
    let mut client = ClientProcess::start(command).with_deadline(Duration::from_secs(60));
    // Waits for a line starting with `needle`, failing at once if the script reports an error.
    let wait = |needle: &str| {
        let (_, line) = client.wait_line(0, &format!("a line starting with {needle:?}"), |l| l.starts_with(needle) || l.starts_with("error:"));
        assert!(!line.starts_with("error:"), "the npm client failed:\n{}", client.output());
    };

    wait("ready");
    cli.call(CHAT_DB, "send_message", &["hello from the cli"]).ok();
    wait("bye");
    client.finish();

    let seen = client.lines();
    assert!(
        in_order(&seen, &[
            "connected ",
            "applied users=1 messages=0",
            "set_name ok",
            "set_name rejected: Names must not be empty",
            "insert message hello from npm via Reducer",
            "send_message ok",
            "cached name npm",
            "ready",
            "insert message hello from the cli via Transaction",
            "bye",
        ]),
        "the npm client saw the session in order:\n{}",
        client.output()
    );
    assert!(
        seen.iter().any(|l| l.starts_with("update user (none) -> npm")),
        "the rename reached the npm client's cache as an update:\n{}",
        client.output()
    );
    assert!(cli.sql(CHAT_DB, "SELECT name FROM user").ok().stdout.contains("\"npm\""), "the rename is in the database");
});
