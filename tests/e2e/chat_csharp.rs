//! `examples/quickstart-chat/client-csharp` (compiled with Mono's `mcs`, run on `mono`)
//! against a real server, chatting with the Rust client (`examples/quickstart-chat/
//! client-rust`): each sees the other come online, rename, chat and leave, driven through
//! stdin and read from stdout; a second run with the saved token is the same user; with
//! `--reconnect` the C# client rides out a server restart. Also: the client's committed
//! bindings equal `spacetime generate --lang csharp` of the built module.

use crate::common::{build_rust_chat_client, poll, ClientProcess};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, QUICKSTART_CHAT};
use spacetime_testing::server::{spacetime_bin, TestServer};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Runs mcs with warnings as errors; panics with its output on failure.
fn mcs(args: &[String], what: &str) {
    let output = Command::new("mcs")
        .args(["-warnaserror+", "-r:System.Numerics.dll", "-r:System.IO.Compression.dll"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run mcs ({e}): install Mono with scripts/install-deps.sh"));
    assert!(
        output.status.success(),
        "{what} does not compile:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The `.cs` files under `dir`, sorted.
pub(crate) fn cs_files(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "cs") {
                files.push(path.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    files
}

/// Compiles a C# program from `sources` into `out/<name>.exe` next to a fresh build of the SDK
/// (`out/SpacetimeDB.ClientSDK.dll`), and returns the executable.
pub(crate) fn build_csharp_program(out: &Path, name: &str, sources: Vec<String>) -> PathBuf {
    let sdk = out.join("SpacetimeDB.ClientSDK.dll");
    let mut args = vec!["-target:library".to_owned(), format!("-out:{}", sdk.display())];
    args.extend(cs_files(&repo_root().join("sdks/csharp/src")));
    mcs(&args, "the C# SDK");
    let exe = out.join(format!("{name}.exe"));
    let mut args = vec![format!("-r:{}", sdk.display()), format!("-out:{}", exe.display())];
    args.extend(sources);
    mcs(&args, name);
    exe
}

fn chat_args(command: &mut Command, server: &TestServer, creds: &Path) {
    command.args(["--host", &server.url(), "--db", "quickstart-chat", "--credentials-dir"]).arg(creds);
}

fn csharp_client(exe: &Path, server: &TestServer, creds: &Path, extra: &[&str]) -> ClientProcess {
    let mut command = Command::new("mono");
    command.arg(exe);
    chat_args(&mut command, server, creds);
    command.args(extra);
    ClientProcess::start(command)
}

fn build_chat_client(out: &Path) -> PathBuf {
    build_csharp_program(out, "quickstart-chat-client", cs_files(&repo_root().join("examples/quickstart-chat/client-csharp")))
}

fn rust_client(bin: &Path, server: &TestServer, creds: &Path) -> ClientProcess {
    let mut command = Command::new(bin);
    chat_args(&mut command, server, creds);
    ClientProcess::start(command)
}

#[test]
fn csharp_client_chats_with_rust_client() {
    let build = tempfile::tempdir().unwrap();
    let exe = build_chat_client(build.path());
    let bin = build_rust_chat_client();
    let server = TestServer::start();
    Cli::new(&server).publish(&build_module(QUICKSTART_CHAT, Bindings::Ours), Some("quickstart-chat"));
    let creds = tempfile::tempdir().unwrap();

    let mut alice = csharp_client(&exe, &server, &creds.path().join("alice"), &[]);
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
    assert!(creds.path().join("alice/quickstart-chat").is_file(), "the C# client saved its token");

    // A second run with the saved token is the same user: Bob sees alice come back, and the
    // C# client prints the history it missed.
    let mut bob = rust_client(&bin, &server, &creds.path().join("bob"));
    bob.expect("Fully connected and all subscriptions applied.");
    let mut alice = csharp_client(&exe, &server, &creds.path().join("alice"), &[]);
    alice.expect("bob: hi alice");
    alice.expect("Fully connected and all subscriptions applied.");
    bob.expect("User alice connected.");
    alice.finish();
    bob.expect("User alice disconnected.");
    bob.finish();
}

#[test]
fn csharp_client_reconnects_after_a_server_restart() {
    let build = tempfile::tempdir().unwrap();
    let exe = build_chat_client(build.path());
    let bin = build_rust_chat_client();
    let mut server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&build_module(QUICKSTART_CHAT, Bindings::Ours), Some("quickstart-chat"));
    let creds = tempfile::tempdir().unwrap();

    let mut alice = csharp_client(&exe, &server, &creds.path().join("alice"), &["--reconnect"]);
    alice.expect("Fully connected and all subscriptions applied.");
    alice.send("/name alice");
    alice.send("before the restart");
    alice.expect("Use /name");
    // The message is committed once the server has it; a restart keeps it.
    poll(
        "the message to be stored",
        Duration::from_secs(30),
        || cli.sql("quickstart-chat", "SELECT * FROM message").trimmed_stdout().contains("before the restart").then_some(()),
        || alice.output(),
    );

    server.restart();
    alice.expect("Reconnected.");
    assert!(!alice.printed("Disconnected"), "the connection was resumed, not ended:
{}", alice.output());

    let mut bob = rust_client(&bin, &server, &creds.path().join("bob"));
    bob.expect("alice: before the restart");
    bob.send("/name bob");
    alice.expect("renamed to bob.");
    bob.send("after the restart");
    alice.expect("bob: after the restart");
    alice.send("still here");
    bob.expect("alice: still here");
    alice.finish();
    bob.expect("User alice disconnected.");
    bob.finish();
}

#[test]
fn committed_csharp_bindings_equal_generated_ones() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("module_bindings");
    let status = Command::new(spacetime_bin())
        .args(["generate", "--lang", "csharp", "--out-dir"])
        .arg(&out)
        .arg("--bin-path")
        .arg(build_module(QUICKSTART_CHAT, Bindings::Ours))
        .status()
        .expect("run spacetime generate");
    assert!(status.success(), "generate failed");
    let committed = repo_root().join("examples/quickstart-chat/client-csharp/module_bindings");
    let generated = cs_files(&out);
    assert_eq!(generated.len(), cs_files(&committed).len(), "the committed bindings have other files than generate's");
    for path in generated {
        let relative = Path::new(&path).strip_prefix(&out).expect("under out");
        let ours = std::fs::read_to_string(committed.join(relative)).unwrap_or_default();
        assert_eq!(ours, std::fs::read_to_string(&path).unwrap(), "{relative:?} is stale: regenerate the client's bindings");
    }
}
