//! `examples/quickstart-chat/client-rust` against a real server: two clients, each with its
//! own identity, driven through stdin; each sees the other come online, rename, chat and
//! leave.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, QUICKSTART_CHAT};
use spacetime_testing::server::TestServer;

both_bindings!(fn two_rust_clients_chat(bindings) {
    let bin = build_rust_chat_client();
    let server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&build_module(QUICKSTART_CHAT, bindings), Some("quickstart-chat"));
    let creds = tempfile::tempdir().unwrap();

    let mut alice = rust_chat_client(&bin, &server, &creds.path().join("alice"));
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
    assert!(creds.path().join("alice").read_dir().unwrap().next().is_some(), "the client saved its token");
});
