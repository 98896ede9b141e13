//! `examples/quickstart-chat/client-python` against a real server, chatting with the Rust
//! client (`examples/quickstart-chat/client-rust`): each sees the other come online,
//! rename, chat and leave, driven through stdin and read from stdout.
//!
//! The Python client runs on the venv's interpreter (`$SPACETIME_VENV`, default
//! `~/.cache/spacetime-venv`, where `scripts/install-deps.sh` installs `sdks/python`).

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, QUICKSTART_CHAT};
use spacetime_testing::server::{spacetime_bin, TestServer};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared process helper under the name `chat_csharp.rs` imports it by.
pub use crate::common::ClientProcess as Process;

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

/// Writes the Python bindings of the module `wasm` to the package directory `out` with
/// `spacetime generate --lang python`.
///
/// # Panics
/// If generating fails.
pub fn generate_python_bindings(wasm: &Path, out: &Path) {
    let status = Command::new(spacetime_bin())
        .args(["generate", "--lang", "python", "--out-dir"])
        .arg(out)
        .arg("--bin-path")
        .arg(wasm)
        .status()
        .expect("run spacetime generate");
    assert!(status.success(), "generating the Python bindings of {} failed", wasm.display());
}

/// A script under `sdks/python/e2e/` on the venv's Python, with `args`, the generated
/// bindings in `bindings` on `PYTHONPATH`, and unbuffered output.
pub fn python_script(script: &str, args: &[&str], bindings: &Path) -> ClientProcess {
    let mut command = Command::new(venv_python());
    command
        .arg(repo_root().join("sdks/python/e2e").join(script))
        .args(args)
        .env("PYTHONPATH", bindings)
        .env("PYTHONUNBUFFERED", "1");
    ClientProcess::start(command)
}

fn python_client(server: &TestServer, creds: &Path) -> ClientProcess {
    let dir = repo_root().join("examples/quickstart-chat/client-python");
    let mut command = Command::new(venv_python());
    command
        .arg(dir.join("main.py"))
        .args(["--host", &server.url(), "--db", "quickstart-chat", "--credentials-dir"])
        .arg(creds)
        .env("PYTHONUNBUFFERED", "1");
    ClientProcess::start(command)
}

#[test]
fn python_client_chats_with_rust_client() {
    let bin = build_rust_chat_client();
    let server = TestServer::start();
    Cli::new(&server).publish(&build_module(QUICKSTART_CHAT, Bindings::Ours), Some("quickstart-chat"));
    let creds = tempfile::tempdir().unwrap();

    let mut alice = python_client(&server, &creds.path().join("alice"));
    alice.expect("Fully connected and all subscriptions applied.");
    alice.send("/name");
    alice.expect("Failed to set the name: Names must not be empty");
    alice.send("/name alice");
    alice.send("hello from alice");
    let mut bob = rust_chat_client(&bin, &server, &creds.path().join("bob"));
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
    let mut bob = rust_chat_client(&bin, &server, &creds.path().join("bob"));
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
    generate_python_bindings(&build_module(QUICKSTART_CHAT, Bindings::Ours), &out);
    let committed = repo_root().join("examples/quickstart-chat/client-python/module_bindings");
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        let ours = std::fs::read_to_string(committed.join(&name)).unwrap_or_default();
        assert_eq!(ours, std::fs::read_to_string(&path).unwrap(), "{name:?} is stale: regenerate the client's bindings");
    }
}
