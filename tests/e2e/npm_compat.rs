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
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

both_bindings!(fn the_npm_client_subscribes_and_calls_reducers(bindings) {
    let dir = repo_root().join("tests/npm-compat");
    assert!(
        dir.join("node_modules/spacetimedb/package.json").is_file(),
        "tests/npm-compat has no node_modules: run `npm ci` there (scripts/install-deps.sh does)"
    );
    let server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&build_module(QUICKSTART_CHAT, bindings), Some("quickstart-chat"));

    let mut child = Command::new("node")
        .arg("chat.mjs")
        .arg(server.url())
        .arg("quickstart-chat")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run `node` (install Node 20+: scripts/install-deps.sh)");
    let stdout = child.stdout.take().expect("piped stdout");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let printed = |needle: &str| lines.lock().unwrap().iter().any(|l| l.starts_with(needle));
    let all = || lines.lock().unwrap().join("\n");
    let wait = |needle: &str| {
        poll(&format!("the npm client to print {needle:?}"), Duration::from_secs(60), || {
            assert!(!printed("error:"), "the npm client failed:\n{}", all());
            printed(needle).then_some(())
        }, all)
    };

    wait("ready");
    cli.call("quickstart-chat", "send_message", &["hello from the cli"]).ok();
    wait("bye");
    let status = poll("the npm client to exit", Duration::from_secs(30), || child.try_wait().expect("poll node"), all);
    assert!(status.success(), "the npm client exits successfully: {status}\n{}", all());

    let seen = lines.lock().unwrap().clone();
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
        seen.join("\n")
    );
    assert!(printed("update user (none) -> npm"), "the rename reached the npm client's cache as an update:\n{}", all());
    assert!(cli.sql("quickstart-chat", "SELECT name FROM user").ok().stdout.contains("\"npm\""), "the rename is in the database");
});
