//! `examples/quickstart-chat/client-typescript` (Node) plays the quickstart chat with the
//! Rust client ([`two_clients_chat`]); the committed bindings of the TypeScript clients
//! (Node and web) are what `spacetime generate --lang typescript` makes of the module.
//!
//! The npm packages come from `npm ci` at the repository root (scripts/install-deps.sh);
//! the SDK and the client are compiled with the workspace's `tsc`.

use crate::chat_rust::rust_chat_command;
use crate::common::*;
use crate::toolchains::{build_typescript_sdk, npm_tool};
use spacetime_testing::modules::{build_module, repo_root, Bindings, QUICKSTART_CHAT};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The Node quickstart chat client (compiled with the SDK once per test process, as
/// [`build_typescript_sdk`] explains), ready for [`chat_client`].
pub fn node_chat_command() -> Command {
    static MAIN: OnceLock<PathBuf> = OnceLock::new();
    let main = MAIN.get_or_init(|| {
        build_typescript_sdk();
        let dir = repo_root().join("examples/quickstart-chat/client-typescript");
        npm_tool("tsc", &["-p", "tsconfig.json"], &dir);
        dir.join("dist/main.js")
    });
    let mut command = Command::new("node");
    command.arg(main);
    command
}

#[test]
fn node_and_rust_clients_chat() {
    two_clients_chat(Bindings::Ours, &node_chat_command, &rust_chat_command);
}

#[test]
fn the_typescript_clients_committed_bindings_are_current() {
    let wasm = build_module(QUICKSTART_CHAT, Bindings::Ours);
    let committed = [
        "examples/quickstart-chat/client-typescript/src/module_bindings",
        "examples/quickstart-chat/client-web/src/module_bindings",
    ];
    assert_bindings_current("typescript", &wasm, &[], &committed);
}
