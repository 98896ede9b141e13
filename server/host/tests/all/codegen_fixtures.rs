//! The codegen fixtures (`codegen/tests/fixtures/<example>.json`) are the `RawModuleDef`s
//! the example modules describe, in SATS-JSON. Codegen's tests read them instead of
//! building wasm; this test keeps them in step with the examples' sources. Rewrite them
//! with `UPDATE_FIXTURES=1 cargo test -p spacetime-host --test all codegen_fixtures`.

use crate::modules::{
    module_bytes, repo_root, Bindings, ModuleCrate, ALL_FEATURES, PROCEDURES, QUICKSTART_CHAT, VIEWS,
};
use spacetime_host::extract_raw_module_def;

fn check(module: ModuleCrate, fixture: &str) {
    let raw = extract_raw_module_def(&module_bytes(module, Bindings::Ours))
        .unwrap_or_else(|e| panic!("{} does not describe itself: {e}", module.package));
    let json = spacetime_sats::json::to_json(&raw);
    let mut text = serde_json::to_string_pretty(&json).expect("JSON prints");
    text.push('\n');
    let path = repo_root().join("codegen/tests/fixtures").join(fixture);
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        on_disk == text,
        "{} is stale: {} changed; run `UPDATE_FIXTURES=1 cargo test -p spacetime-host --test all codegen_fixtures`, \
         then `UPDATE_GOLDEN=1 cargo test -p spacetime-codegen`",
        path.display(),
        module.package
    );
}

#[test]
fn quickstart_chat_fixture_is_current() {
    check(QUICKSTART_CHAT, "quickstart-chat.json");
}

#[test]
fn all_features_fixture_is_current() {
    check(ALL_FEATURES, "all-features.json");
}

#[test]
fn procedures_fixture_is_current() {
    check(PROCEDURES, "procedures.json");
}

#[test]
fn views_fixture_is_current() {
    check(VIEWS, "views.json");
}
