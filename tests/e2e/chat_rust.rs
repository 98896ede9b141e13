//! `examples/quickstart-chat/client-rust` against a real server: two Rust clients play the
//! quickstart chat ([`two_clients_chat`]), with the module built from our bindings and
//! from upstream's crate; its committed bindings are what `spacetime generate --lang rust`
//! makes of the module. The Rust client is also the partner every other language's chat
//! client talks to.

use crate::common::*;
use crate::toolchains::cargo_build;
use spacetime_testing::modules::{build_module, Bindings, QUICKSTART_CHAT};
use std::process::Command;
use std::sync::OnceLock;

/// The Rust quickstart chat client (built once per test process in the examples
/// workspace), ready for [`chat_client`].
pub fn rust_chat_command() -> Command {
    static BIN: OnceLock<std::path::PathBuf> = OnceLock::new();
    Command::new(BIN.get_or_init(|| cargo_build("examples", Some("quickstart-chat-client"), "quickstart-chat-client")))
}

both_bindings!(fn two_rust_clients_chat(bindings) {
    two_clients_chat(bindings, &rust_chat_command, &rust_chat_command);
});

#[test]
fn committed_rust_bindings_equal_generated_ones() {
    let wasm = build_module(QUICKSTART_CHAT, Bindings::Ours);
    assert_bindings_current(
        "rust",
        &wasm,
        &[],
        &["examples/quickstart-chat/client-rust/src/module_bindings"],
    );
}
