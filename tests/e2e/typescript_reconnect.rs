//! The Node quickstart chat client survives its server being SIGKILLed and restarted: it
//! reconnects by itself, its resubscription reports only real differences, and it keeps
//! sending.

use crate::chat_typescript::node_chat_command;
use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings, QUICKSTART_CHAT};
use spacetime_testing::server::TestServer;

#[test]
fn node_client_reconnects_after_a_server_restart() {
    let mut server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&build_module(QUICKSTART_CHAT, Bindings::Ours), Some(CHAT_DB));
    let creds = tempfile::tempdir().unwrap();

    let mut carol = chat_client(node_chat_command(), &server, &creds.path().join("carol"));
    carol.expect("Fully connected and all subscriptions applied.");
    carol.send("/name carol");
    carol.send("before the restart");
    wait_for_sql(&cli, CHAT_DB, "SELECT text FROM message", "before the restart", &carol);

    server.restart();
    carol.expect("Reconnected.");
    carol.send("after the restart");
    wait_for_sql(&cli, CHAT_DB, "SELECT text FROM message", "after the restart", &carol);
    // Resubscribing reported only real differences: carol's own row did not change. (The
    // CLI's SQL requests come and go as users of their own, so only carol's lines count.)
    for spurious in ["User carol connected.", "User carol disconnected."] {
        carol.assert_not_printed(spurious, "resubscribing reports no change to carol's own row");
    }
    carol.assert_not_printed("Disconnected", "the connection was re-established, not ended");
    carol.finish();
    carol.expect("Disconnected.");
}
