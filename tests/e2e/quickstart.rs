//! `examples/quickstart-chat` published and used from the CLI, as the quickstart guide does:
//! our build comes from `publish --module-path` (so the CLI's own build step is covered),
//! the upstream build from the fixture workspace.

use crate::common::*;
use spacetime_testing::cli::{Cli, Output};
use spacetime_testing::modules::{build_module, repo_root, Bindings, QUICKSTART_CHAT};
use spacetime_testing::server::TestServer;

fn publish(cli: &Cli, bindings: Bindings) -> Output {
    match bindings {
        Bindings::Ours => {
            let dir = repo_root().join("examples/quickstart-chat/module");
            let target = harness_target_dir("wasm-examples");
            cli.run_with_env(
                &[
                    "publish",
                    "--yes",
                    "--module-path",
                    dir.to_str().expect("UTF-8 path"),
                    "quickstart-chat",
                ],
                &[("CARGO_TARGET_DIR", target.as_os_str())],
            )
        }
        Bindings::Upstream => cli.publish_output(
            &build_module(QUICKSTART_CHAT, Bindings::Upstream),
            Some("quickstart-chat"),
            &[],
        ),
    }
}

/// The module build directory the harness uses for a workspace, so the CLI's cargo does not
/// wait on the outer build's lock and reuses what the harness built.
fn harness_target_dir(name: &str) -> std::path::PathBuf {
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache/spacetime-target").join(name)
}

both_bindings!(fn quickstart_chat_works_from_the_cli(bindings) {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let out = publish(&cli, bindings).ok();
    assert!(out.stdout.contains("Created new database with name: quickstart-chat, identity: "), "{}", out.stdout);

    cli.call("quickstart-chat", "set_name", &["Alice"]).ok();
    cli.call("quickstart-chat", "send_message", &["Hello from the CLI"]).ok();
    let empty = cli.call("quickstart-chat", "send_message", &[""]).err();
    assert!(empty.stderr.contains("Messages must not be empty"), "{}", empty.stderr);

    // `sql` runs between the caller's own connect and disconnect, so Alice is online while
    // she looks; to another user she is offline.
    assert_eq!(
        cli.sql("quickstart-chat", "SELECT name, online FROM user").ok().trimmed_stdout(),
        " name             | online\n------------------+--------\n (some = \"Alice\") | true"
    );
    let other = Cli::new(&server);
    let seen = other.sql("quickstart-chat", "SELECT name, online FROM user").ok().trimmed_stdout();
    assert!(seen.lines().any(|l| l == " (some = \"Alice\") | false"), "{seen}");
    assert!(seen.lines().any(|l| l == " (none = ())      | true"), "the other user is online while asking: {seen}");
    let messages = cli.sql("quickstart-chat", "SELECT text FROM message").ok().trimmed_stdout();
    assert_eq!(messages, " text\n----------------------\n \"Hello from the CLI\"");
    let logs = cli.logs("quickstart-chat", 20);
    assert!(logs.iter().any(|l| l == "Hello from the CLI"), "{logs:?}");
});
