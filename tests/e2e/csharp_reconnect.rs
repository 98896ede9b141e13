//! The C# quickstart chat client with `--reconnect` rides out a server restart: it
//! reconnects by itself, resubscribes, and keeps chatting with the Rust client.

use crate::chat_csharp::{build_csharp_chat_client, csharp_chat_command};
use crate::chat_rust::rust_chat_command;
use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings, QUICKSTART_CHAT};
use spacetime_testing::server::TestServer;

#[test]
fn csharp_client_reconnects_after_a_server_restart() {
    let build = tempfile::tempdir().unwrap();
    let exe = build_csharp_chat_client(build.path());
    let mut server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&build_module(QUICKSTART_CHAT, Bindings::Ours), Some(CHAT_DB));
    let creds = tempfile::tempdir().unwrap();

    let mut command = csharp_chat_command(&exe);
    command.arg("--reconnect");
    let mut alice = chat_client(command, &server, &creds.path().join("alice"));
    alice.expect("Fully connected and all subscriptions applied.");
    alice.send("/name alice");
    alice.send("before the restart");
    alice.expect("Use /name");
    // The message is committed once the server has it; a restart keeps it.
    wait_for_sql(&cli, CHAT_DB, "SELECT * FROM message", "before the restart", &alice);

    server.restart();
    alice.expect("Reconnected.");
    alice.assert_not_printed("Disconnected", "the connection was resumed, not ended");

    let mut bob = chat_client(rust_chat_command(), &server, &creds.path().join("bob"));
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
