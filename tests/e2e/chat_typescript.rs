//! `examples/quickstart-chat/client-typescript` (Node) against a real server, chatting with
//! the Rust client (`examples/quickstart-chat/client-rust`): each sees the other come
//! online, rename, chat and leave. Also checks that the TypeScript clients' committed
//! bindings are what `spacetime generate --lang typescript --bin-path` makes of the module.
//!
//! The npm packages come from `npm ci` at the repository root (scripts/install-deps.sh);
//! these tests compile the SDK and the clients with the workspace's `tsc`. The last test
//! round-trips every column type through the SDK against the all-features module.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, ALL_FEATURES, QUICKSTART_CHAT};
use spacetime_testing::server::TestServer;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Runs a tool from the npm workspace's `node_modules/.bin` in `dir`, failing the test with its output.
pub(crate) fn npm_tool(tool: &str, args: &[&str], dir: &Path) {
    let bin = repo_root().join("node_modules/.bin").join(tool);
    assert!(bin.exists(), "{} is missing: run scripts/install-deps.sh (npm ci at the repository root)", bin.display());
    let output = Command::new(&bin).args(args).current_dir(dir).output().expect("run an npm tool");
    assert!(
        output.status.success(),
        "{tool} {args:?} in {} failed:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Compiles the TypeScript SDK (`sdks/typescript/dist`), which the examples import. Once
/// per test process: tests run in parallel, and a second `tsc` rewriting `dist/` while
/// another test's client imports it could hand that client half-written files.
pub(crate) fn build_sdk() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| npm_tool("tsc", &["-p", "tsconfig.json"], &repo_root().join("sdks/typescript")));
}

/// Compiles the Node chat client (once per test process, as [`build_sdk`]) and returns its
/// entry point.
fn build_node_client() -> PathBuf {
    static MAIN: OnceLock<PathBuf> = OnceLock::new();
    MAIN.get_or_init(|| {
        build_sdk();
        let dir = repo_root().join("examples/quickstart-chat/client-typescript");
        npm_tool("tsc", &["-p", "tsconfig.json"], &dir);
        dir.join("dist/main.js")
    })
    .clone()
}

fn client_args(command: &mut Command, server: &TestServer, creds: &Path) {
    command.args(["--host", &server.url(), "--db", "quickstart-chat", "--credentials-dir"]).arg(creds);
}

#[test]
fn node_and_rust_clients_chat() {
    let node_main = build_node_client();
    let rust_bin = build_rust_chat_client();
    let server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&build_module(QUICKSTART_CHAT, Bindings::Ours), Some("quickstart-chat"));
    let creds = tempfile::tempdir().unwrap();

    let mut node = Command::new("node");
    node.arg(&node_main);
    client_args(&mut node, &server, &creds.path().join("alice"));
    let mut alice = ClientProcess::start(node);
    alice.expect("Fully connected and all subscriptions applied.");
    alice.send("/name");
    alice.expect("Failed to set the name: Names must not be empty");
    alice.send("/name alice");
    alice.send("hello from alice");

    let mut rust = Command::new(&rust_bin);
    client_args(&mut rust, &server, &creds.path().join("bob"));
    let mut bob = ClientProcess::start(rust);
    bob.expect("Fully connected and all subscriptions applied.");
    alice.expect(" connected.");
    bob.expect("alice: hello from alice");

    bob.send("/name bob");
    alice.expect("renamed to bob.");
    bob.send("hi alice");
    alice.expect("bob: hi alice");
    alice.send("bye bob");
    bob.expect("alice: bye bob");
    assert!(!alice.printed("alice: hello from alice"), "a client does not echo its own live messages");

    alice.finish();
    bob.expect("User alice disconnected.");
    bob.finish();
    let token = std::fs::read_to_string(creds.path().join("alice/quickstart-chat")).expect("the Node client saved its token");

    // Alice comes back with her saved token: the same identity, so her name is still hers.
    let mut node = Command::new("node");
    node.arg(&node_main);
    client_args(&mut node, &server, &creds.path().join("alice"));
    let mut again = ClientProcess::start(node);
    again.expect("alice: hello from alice");
    again.expect("bob: hi alice");
    again.expect("Fully connected and all subscriptions applied.");
    again.finish();
    let after = std::fs::read_to_string(creds.path().join("alice/quickstart-chat")).expect("token file");
    assert_eq!(token, after, "the client keeps its token across connections");
}

#[test]
fn the_typescript_clients_committed_bindings_are_current() {
    let wasm = build_module(QUICKSTART_CHAT, Bindings::Ours);
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(spacetime_testing::server::spacetime_bin())
        .args(["generate", "--lang", "typescript", "--out-dir"])
        .arg(out.path())
        .arg("--bin-path")
        .arg(&wasm)
        .status()
        .expect("run spacetime generate");
    assert!(status.success(), "spacetime generate --lang typescript failed");
    let mut names: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    for client in ["client-typescript", "client-web"] {
        let committed = repo_root().join("examples/quickstart-chat").join(client).join("src/module_bindings");
        let mut on_disk: Vec<_> = std::fs::read_dir(&committed).unwrap().map(|e| e.unwrap().file_name()).collect();
        on_disk.sort();
        assert_eq!(names, on_disk, "{client}: the set of binding files differs; regenerate them with spacetime generate --lang typescript");
        for name in &names {
            let fresh = std::fs::read_to_string(out.path().join(name)).unwrap();
            let kept = std::fs::read_to_string(committed.join(name)).unwrap();
            assert!(fresh == kept, "{client}: {name:?} is out of date: regenerate the bindings with spacetime generate --lang typescript");
        }
    }
}

#[test]
fn node_client_reconnects_after_a_server_restart() {
    let node_main = build_node_client();
    let mut server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&build_module(QUICKSTART_CHAT, Bindings::Ours), Some("quickstart-chat"));
    let creds = tempfile::tempdir().unwrap();

    let mut node = Command::new("node");
    node.arg(&node_main);
    client_args(&mut node, &server, &creds.path().join("carol"));
    let mut carol = ClientProcess::start(node);
    carol.expect("Fully connected and all subscriptions applied.");
    carol.send("/name carol");
    carol.send("before the restart");
    poll(
        "the message before the restart",
        Duration::from_secs(30),
        || cli.sql("quickstart-chat", "SELECT text FROM message").trimmed_stdout().contains("before the restart").then_some(()),
        String::new,
    );

    server.restart();
    carol.expect("Reconnected.");
    carol.send("after the restart");
    poll(
        "the message after the restart",
        Duration::from_secs(30),
        || cli.sql("quickstart-chat", "SELECT text FROM message").trimmed_stdout().contains("after the restart").then_some(()),
        String::new,
    );
    // Resubscribing reported only real differences: carol's own row did not change. (The
    // CLI's SQL requests come and go as users of their own, so only carol's lines count.)
    for spurious in ["User carol connected.", "User carol disconnected."] {
        assert!(!carol.printed(spurious), "no spurious {spurious:?} after resubscribing:\n{}", carol.output());
    }
    assert!(!carol.printed("Disconnected"), "the connection was re-established, not ended");
    carol.finish();
    carol.expect("Disconnected.");
}

/// Every column type round-trips through the TypeScript SDK against the all-features
/// module (`sdks/typescript/e2e/every-type.ts`, with bindings generated from the module
/// just built): rows of extreme values go out through a reducer and come back through the
/// subscription unchanged, and `find`, `filter` and `onUpdate` work.
#[test]
fn every_column_type_round_trips_through_typescript() {
    let wasm = build_module(ALL_FEATURES, Bindings::Ours);
    let sdk = repo_root().join("sdks/typescript");
    let bindings = sdk.join("bindings-e2e/all-features");
    let _ = std::fs::remove_dir_all(&bindings);
    let status = Command::new(spacetime_testing::server::spacetime_bin())
        .args(["generate", "--lang", "typescript", "--out-dir"])
        .arg(&bindings)
        .arg("--bin-path")
        .arg(&wasm)
        .status()
        .expect("run spacetime generate");
    assert!(status.success(), "spacetime generate --lang typescript failed");
    build_sdk();
    npm_tool("tsc", &["-p", "tsconfig.e2e.json"], &sdk);

    let server = TestServer::start();
    Cli::new(&server).publish(&wasm, Some("all-features"));
    let mut script = Command::new("node");
    script.arg(sdk.join("dist-e2e/e2e/every-type.js")).args(["--host", &server.url(), "--db", "all-features"]);
    let mut client = ClientProcess::start(script);
    client.expect("every_type round trip: OK");
    let rows = client.lines().iter().filter(|l| l.contains("26 columns round-tripped")).count();
    assert_eq!(rows, 3, "three rows checked:\n{}", client.output());
    assert!(client.printed("a failing reducer rejects with its message"));
    assert!(client.printed("find, filter and onUpdate work"));
    client.finish();
}
