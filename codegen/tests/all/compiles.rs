//! The generated Rust compiles against `sdks/rust` with warnings denied: the bindings of
//! both examples (all-features with its private items too, chat with an event table) and
//! of the procedures module with views and of the views module go into a scratch library
//! crate that is checked by
//! a nested cargo with `-D warnings`.
//!
//! The nested build uses its own target directory (a nested cargo waiting on the outer
//! build's lock would deadlock) and the workspace's `Cargo.lock`, so it resolves offline
//! to the versions the workspace already uses.

use super::{codegen_dir, module_def, procedures_and_views, scratch_dir};
use spacetime_codegen::{generate, Options, Rust};
use std::process::Command;

#[test]
fn generated_rust_compiles_with_warnings_denied() {
    let repo = codegen_dir().join("..").canonicalize().expect("repository root");
    let crate_dir = scratch_dir("codegen-compile-check").join("bindings-check");
    let src = crate_dir.join("src");
    let _ = std::fs::remove_dir_all(&src);
    // The chat module once more with `message` as an event table, for that template path.
    let mut chat_events = module_def("quickstart-chat");
    chat_events
        .tables
        .iter_mut()
        .filter(|t| t.name == "message")
        .for_each(|t| t.is_event = true);
    let sets = [
        ("chat", module_def("quickstart-chat"), Options::default()),
        ("chat_events", chat_events, Options::default()),
        ("all_features", module_def("all-features"), Options::default()),
        (
            "all_features_private",
            module_def("all-features"),
            Options { include_private: true },
        ),
        ("procedures", procedures_and_views(), Options { include_private: true }),
        ("views", module_def("views"), Options::default()),
    ];
    let mut lib = String::from("//! Generated bindings, checked with warnings denied.\n#![deny(warnings)]\n");
    for (module, def, options) in &sets {
        let dir = src.join(module);
        std::fs::create_dir_all(&dir).expect("create module dir");
        for f in generate(def, &Rust, options).unwrap_or_else(|e| panic!("{module}: {e}")) {
            std::fs::write(dir.join(&f.path), f.contents).expect("write generated file");
        }
        lib.push_str(&format!("pub mod {module};\n"));
    }
    std::fs::write(src.join("lib.rs"), lib).expect("write lib.rs");
    let manifest = format!(
        "[package]\nname = \"bindings-check\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nspacetimedb-sdk = {{ package = \"spacetime-sdk\", path = {:?} }}\n\n[workspace]\n",
        repo.join("sdks/rust")
    );
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).expect("write Cargo.toml");
    std::fs::copy(repo.join("Cargo.lock"), crate_dir.join("Cargo.lock")).expect("copy Cargo.lock");

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&crate_dir)
        .args(["check", "--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", scratch_dir("codegen-compile-check").join("target"))
        .env("RUSTFLAGS", "-D warnings")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo check");
    assert!(
        output.status.success(),
        "generated bindings do not compile with warnings denied:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
