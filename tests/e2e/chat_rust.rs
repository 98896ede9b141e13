//! `examples/quickstart-chat/client-rust` against a real server: two clients, each with its
//! own identity, driven through stdin; each sees the other come online, rename, chat and
//! leave.

use crate::common::*;
use spacetime_testing::modules::{build_module, repo_root, QUICKSTART_CHAT};
use spacetime_testing::server::TestServer;
use spacetime_testing::cli::Cli;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Builds the client (native, in the examples workspace, with its own target dir so the
/// nested cargo never waits on the outer build's lock) and returns the binary.
fn build_client() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let target = home.join(".cache/spacetime-target/native-examples");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "-p", "quickstart-chat-client"])
        .current_dir(repo_root().join("examples"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the chat client failed");
    target.join("debug/quickstart-chat-client")
}

/// One running client: its stdin, and everything it printed so far.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
    done: Receiver<()>,
}

impl Client {
    fn start(bin: &PathBuf, server: &TestServer, creds: &std::path::Path) -> Self {
        let mut child = Command::new(bin)
            .args(["--host", &server.url(), "--db", "quickstart-chat", "--credentials-dir"])
            .arg(creds)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the chat client");
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
        Self { child, stdin, lines, done }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").and_then(|()| stdin.flush()).expect("write to the client");
    }

    #[track_caller]
    fn expect(&self, needle: &str) {
        poll(
            &format!("a line containing {needle:?}"),
            Duration::from_secs(30),
            || self.lines.lock().unwrap().iter().any(|l| l.contains(needle)).then_some(()),
            || self.lines.lock().unwrap().join("\n"),
        );
    }

    fn printed(&self, needle: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Closes stdin and waits for a clean exit.
    #[track_caller]
    fn finish(&mut self) {
        drop(self.stdin.take());
        self.done.recv_timeout(Duration::from_secs(30)).expect("the client exits after end of input");
        let status = poll("the client to exit", Duration::from_secs(30), || self.child.try_wait().expect("poll"), String::new);
        assert!(status.success(), "the client exits successfully: {status}");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

both_bindings!(fn two_rust_clients_chat(bindings) {
    let bin = build_client();
    let server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&build_module(QUICKSTART_CHAT, bindings), Some("quickstart-chat"));
    let creds = tempfile::tempdir().unwrap();

    let mut alice = Client::start(&bin, &server, &creds.path().join("alice"));
    alice.expect("Fully connected and all subscriptions applied.");
    alice.send("/name");
    alice.expect("Failed to set the name: Names must not be empty");
    alice.send("/name alice");
    alice.send("hello from alice");
    let mut bob = Client::start(&bin, &server, &creds.path().join("bob"));
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
    assert!(creds.path().join("alice").read_dir().unwrap().next().is_some(), "the client saved its token");
});
