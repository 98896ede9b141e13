//! `examples/quickstart-chat/client-rust` against a real server: two Rust clients play the
//! quickstart chat ([`two_clients_chat`]). The Rust client is also the partner every other
//! language's chat client talks to.

use crate::common::*;
use crate::toolchains::cargo_build;
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
