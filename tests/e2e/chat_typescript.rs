//! `examples/quickstart-chat/client-typescript` (Node) against a real server, chatting with
//! the Rust client (`examples/quickstart-chat/client-rust`): each sees the other come
//! online, rename, chat and leave. Also checks that the TypeScript clients' committed
//! bindings are what `spacetime generate --lang typescript --bin-path` makes of the module.
//!
//! The npm packages come from `npm ci` at the repository root (scripts/install-deps.sh);
//! this test compiles the SDK and the client with the workspace's `tsc`.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, QUICKSTART_CHAT};
use spacetime_testing::server::TestServer;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
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

/// Compiles the TypeScript SDK (`sdks/typescript/dist`), which the examples import.
pub(crate) fn build_sdk() {
    npm_tool("tsc", &["-p", "tsconfig.json"], &repo_root().join("sdks/typescript"));
}

/// Compiles the Node chat client and returns its entry point.
fn build_node_client() -> PathBuf {
    build_sdk();
    let dir = repo_root().join("examples/quickstart-chat/client-typescript");
    npm_tool("tsc", &["-p", "tsconfig.json"], &dir);
    dir.join("dist/main.js")
}

/// Builds the Rust chat client (in the examples workspace, with its own target dir so the
/// nested cargo never waits on the outer build's lock) and returns the binary.
fn build_rust_client() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let target = home.join(".cache/spacetime-target/native-examples");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "-p", "quickstart-chat-client"])
        .current_dir(repo_root().join("examples"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the Rust chat client failed");
    target.join("debug/quickstart-chat-client")
}

/// One running chat client driven through stdin, with everything it printed so far.
pub(crate) struct ChatProcess {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
    done: Receiver<()>,
}

impl ChatProcess {
    pub(crate) fn start(name: &'static str, mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn the {name} client: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = std::sync::mpsc::channel();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
            let _ = tx.send(());
        });
        Self { name, child, stdin, lines, done }
    }

    pub(crate) fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").and_then(|()| stdin.flush()).expect("write to the client");
    }

    #[track_caller]
    pub(crate) fn expect(&self, needle: &str) {
        poll(
            &format!("{} to print a line containing {needle:?}", self.name),
            Duration::from_secs(30),
            || self.printed(needle).then_some(()),
            || self.lines.lock().unwrap().join("\n"),
        );
    }

    pub(crate) fn printed(&self, needle: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Closes stdin and waits for a clean exit.
    #[track_caller]
    pub(crate) fn finish(&mut self) {
        drop(self.stdin.take());
        self.done.recv_timeout(Duration::from_secs(30)).expect("the client exits after end of input");
        let status = poll("the client to exit", Duration::from_secs(30), || self.child.try_wait().expect("poll"), String::new);
        assert!(status.success(), "the {} client exits successfully: {status}", self.name);
    }
}

impl Drop for ChatProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client_args(command: &mut Command, server: &TestServer, creds: &Path) {
    command.args(["--host", &server.url(), "--db", "quickstart-chat", "--credentials-dir"]).arg(creds);
}

#[test]
fn node_and_rust_clients_chat() {
    let node_main = build_node_client();
    let rust_bin = build_rust_client();
    let server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&build_module(QUICKSTART_CHAT, Bindings::Ours), Some("quickstart-chat"));
    let creds = tempfile::tempdir().unwrap();

    let mut node = Command::new("node");
    node.arg(&node_main);
    client_args(&mut node, &server, &creds.path().join("alice"));
    let mut alice = ChatProcess::start("node", node);
    alice.expect("Fully connected and all subscriptions applied.");
    alice.send("/name");
    alice.expect("Failed to set the name: Names must not be empty");
    alice.send("/name alice");
    alice.send("hello from alice");

    let mut rust = Command::new(&rust_bin);
    client_args(&mut rust, &server, &creds.path().join("bob"));
    let mut bob = ChatProcess::start("rust", rust);
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
    let mut again = ChatProcess::start("node", node);
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
