//! `examples/quickstart-chat/client-python` (on the venv's interpreter, see
//! [`venv_python`](crate::toolchains::venv_python)) plays the quickstart chat with the Rust
//! client ([`two_clients_chat`]); its committed bindings are what
//! `spacetime generate --lang python` makes of the module.

use crate::chat_rust::rust_chat_command;
use crate::common::*;
use crate::toolchains::python_command;
use spacetime_testing::modules::{build_module, repo_root, Bindings, QUICKSTART_CHAT};
use std::process::Command;

/// The Python quickstart chat client, ready for [`chat_client`].
pub fn python_chat_command() -> Command {
    python_command(&repo_root().join("examples/quickstart-chat/client-python/main.py"))
}

#[test]
fn python_client_chats_with_rust_client() {
    two_clients_chat(Bindings::Ours, &python_chat_command, &rust_chat_command);
}

#[test]
fn committed_python_bindings_equal_generated_ones() {
    let wasm = build_module(QUICKSTART_CHAT, Bindings::Ours);
    assert_bindings_current(
        "python",
        &wasm,
        &[],
        &["examples/quickstart-chat/client-python/module_bindings"],
    );
}
