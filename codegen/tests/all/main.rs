//! Integration tests of codegen: golden files of the Rust output for the example modules,
//! a compile check of that output against the SDK with warnings denied, and errors.
//!
//! The module definitions are fixtures (`codegen/tests/fixtures/*.json`): the
//! `RawModuleDef` each example's `.wasm` describes, in SATS-JSON, extracted once with
//! `spacetime_host::extract_raw_module_def`. Regenerate them after changing an example,
//! and the golden files with `UPDATE_GOLDEN=1 cargo test -p spacetime-codegen`.

mod compiles;
mod csharp;
mod errors;
mod golden;
mod typescript;
mod python;

use spacetime_codegen::{generate, Options, OutputFile, Rust};
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::RawModuleDef;
use std::path::PathBuf;

/// The example modules with fixtures.
pub const MODULES: &[&str] = &["quickstart-chat", "all-features"];

pub fn codegen_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn module_def(name: &str) -> ModuleDef {
    let path = codegen_dir().join("tests/fixtures").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    let raw: RawModuleDef = spacetime_sats::json::from_json(&json).expect("fixture is a RawModuleDef");
    ModuleDef::from_raw(raw).expect("fixture validates")
}

pub fn rust_files(name: &str, options: &Options) -> Vec<OutputFile> {
    generate(&module_def(name), &Rust, options).unwrap_or_else(|e| panic!("{name}: {e}"))
}
