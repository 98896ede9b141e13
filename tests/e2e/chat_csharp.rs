//! `examples/quickstart-chat/client-csharp` (compiled with Mono's `mcs`, run on `mono`)
//! plays the quickstart chat with the Rust client ([`two_clients_chat`]); its committed
//! bindings are what `spacetime generate --lang csharp` makes of the module.

use crate::chat_rust::rust_chat_command;
use crate::common::*;
use crate::toolchains::{build_csharp_program, cs_files};
use spacetime_testing::modules::{build_module, repo_root, Bindings, QUICKSTART_CHAT};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Compiles the C# quickstart chat client (and the SDK) into `out`; returns the executable.
pub fn build_csharp_chat_client(out: &Path) -> PathBuf {
    build_csharp_program(
        out,
        "quickstart-chat-client",
        cs_files(&repo_root().join("examples/quickstart-chat/client-csharp")),
    )
}

/// The C# quickstart chat client `exe` on `mono`, ready for [`chat_client`].
pub fn csharp_chat_command(exe: &Path) -> Command {
    let mut command = Command::new("mono");
    command.arg(exe);
    command
}

#[test]
fn csharp_client_chats_with_rust_client() {
    let build = tempfile::tempdir().unwrap();
    let exe = build_csharp_chat_client(build.path());
    two_clients_chat(Bindings::Ours, &|| csharp_chat_command(&exe), &rust_chat_command);
}

#[test]
fn committed_csharp_bindings_equal_generated_ones() {
    let wasm = build_module(QUICKSTART_CHAT, Bindings::Ours);
    assert_bindings_current(
        "csharp",
        &wasm,
        &[],
        &["examples/quickstart-chat/client-csharp/module_bindings"],
    );
}
