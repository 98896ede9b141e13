//! `examples/quickstart-chat/client-python` against a real server, chatting with the Rust
//! client (`examples/quickstart-chat/client-rust`): each sees the other come online,
//! rename, chat and leave, driven through stdin and read from stdout.
//!
//! The Python client runs on the venv's interpreter (`$SPACETIME_VENV`, default
//! `~/.cache/spacetime-venv`, where `scripts/install-deps.sh` installs `sdks/python`).

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, QUICKSTART_CHAT};
use spacetime_testing::server::TestServer;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The venv's Python, with `spacetime_sdk` installed.
///
/// # Panics
/// With the fix, if the venv is missing.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("SPACETIME_VENV").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
        home.join(".cache/spacetime-venv")
    });
    let python = venv.join("bin/python");
    assert!(python.exists(), "no Python venv at {}: run scripts/install-deps.sh", venv.display());
    python
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

/// A running client process: its stdin, and every line it printed so far.
pub struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
    done: Receiver<()>,
}

impl Process {
    /// Spawns `command` with piped stdin and stdout (stderr goes to the test's).
    pub fn start(mut command: Command) -> Self {
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn a client");
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

    /// Writes one line to the client's stdin.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").and_then(|()| stdin.flush()).expect("write to the client");
    }

    /// Waits (30 s at most) for a printed line containing `needle`.
    #[track_caller]
    pub fn expect(&self, needle: &str) {
        poll(
            &format!("a line containing {needle:?}"),
            Duration::from_secs(30),
            || self.printed(needle).then_some(()),
            || self.lines.lock().unwrap().join("\n"),
        );
    }

    /// Whether a printed line contains `needle`.
    pub fn printed(&self, needle: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Closes stdin and waits for a clean exit.
    #[track_caller]
    pub fn finish(&mut self) {
        drop(self.stdin.take());
        self.done.recv_timeout(Duration::from_secs(30)).expect("the client exits after end of input");
        let status = poll("the client to exit", Duration::from_secs(30), || self.child.try_wait().expect("poll"), String::new);
        assert!(status.success(), "the client exits successfully: {status}\n{}", self.output());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_client(server: &TestServer, creds: &std::path::Path) -> Process {
    let dir = repo_root().join("examples/quickstart-chat/client-python");
    let mut command = Command::new(venv_python());
    command
        .arg(dir.join("main.py"))
        .args(["--host", &server.url(), "--db", "quickstart-chat", "--credentials-dir"])
        .arg(creds)
        .env("PYTHONUNBUFFERED", "1");
    Process::start(command)
}

fn rust_client(bin: &PathBuf, server: &TestServer, creds: &std::path::Path) -> Process {
    let mut command = Command::new(bin);
    command.args(["--host", &server.url(), "--db", "quickstart-chat", "--credentials-dir"]).arg(creds);
    Process::start(command)
}

#[test]
fn python_client_chats_with_rust_client() {
    let bin = build_rust_client();
    let server = TestServer::start();
    Cli::new(&server).publish(&build_module(QUICKSTART_CHAT, Bindings::Ours), Some("quickstart-chat"));
    let creds = tempfile::tempdir().unwrap();

    let mut alice = python_client(&server, &creds.path().join("alice"));
    alice.expect("Fully connected and all subscriptions applied.");
    alice.send("/name");
    alice.expect("Failed to set the name: Names must not be empty");
    alice.send("/name alice");
    alice.send("hello from alice");
    let mut bob = rust_client(&bin, &server, &creds.path().join("bob"));
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
    let token = std::fs::read_to_string(creds.path().join("alice/quickstart-chat")).expect("the Python client saved its token");

    // A second run with the saved token is the same user: Bob sees alice come back.
    let mut bob = rust_client(&bin, &server, &creds.path().join("bob"));
    bob.expect("Fully connected and all subscriptions applied.");
    let mut alice = python_client(&server, &creds.path().join("alice"));
    alice.expect("bob: hi alice");
    bob.expect("User alice connected.");
    alice.finish();
    bob.finish();
    assert!(!token.is_empty());
}

#[test]
fn committed_python_bindings_equal_generated_ones() {
    let server_free = tempfile::tempdir().unwrap();
    let out = server_free.path().join("module_bindings");
    let status = Command::new(spacetime_testing::server::spacetime_bin())
        .args(["generate", "--lang", "python", "--out-dir"])
        .arg(&out)
        .arg("--bin-path")
        .arg(build_module(QUICKSTART_CHAT, Bindings::Ours))
        .status()
        .expect("run spacetime generate");
    assert!(status.success(), "generate failed");
    let committed = repo_root().join("examples/quickstart-chat/client-python/module_bindings");
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        let ours = std::fs::read_to_string(committed.join(&name)).unwrap_or_default();
        assert_eq!(ours, std::fs::read_to_string(&path).unwrap(), "{name:?} is stale: regenerate the client's bindings");
    }
}
