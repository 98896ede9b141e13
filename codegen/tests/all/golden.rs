//! The Rust output for each example module must equal its golden copy exactly (the chat
//! client's committed bindings, `codegen/tests/golden/rust/all-features/`; see
//! [`assert_golden`]).

use super::{assert_golden, rust_files, MODULES};
use spacetime_codegen::Options;

#[test]
fn rust_output_matches_golden_files() {
    for module in MODULES {
        assert_golden("rust", module, &rust_files(module, &Options::default()));
    }
}

#[test]
fn chat_bindings_have_the_expected_files() {
    let files = rust_files("quickstart-chat", &Options::default());
    let mut paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "message_table.rs",
            "message_type.rs",
            "mod.rs",
            "send_message_reducer.rs",
            "set_name_reducer.rs",
            "user_table.rs",
            "user_type.rs",
        ]
    );
}

#[test]
fn private_items_only_on_request() {
    let public: Vec<String> = rust_files("all-features", &Options::default())
        .into_iter()
        .map(|f| f.path)
        .collect();
    let all: Vec<String> = rust_files("all-features", &Options { include_private: true })
        .into_iter()
        .map(|f| f.path)
        .collect();
    for private in [
        "audit_log_table.rs",
        "reminder_table.rs",
        "send_reminder_reducer.rs",
        "on_tick_reducer.rs",
    ] {
        assert!(
            !public.iter().any(|p| p == private),
            "{private} generated without include_private"
        );
        assert!(
            all.iter().any(|p| p == private),
            "{private} missing with include_private"
        );
    }
    // Lifecycle reducers are never callable, so never generated.
    for lifecycle in ["init_reducer.rs", "on_connect_reducer.rs", "on_disconnect_reducer.rs"] {
        assert!(!all.iter().any(|p| p == lifecycle), "{lifecycle} generated");
    }
    // A renamed reducer is called by its wire name through its source name.
    let roll = rust_files("all-features", &Options::default())
        .into_iter()
        .find(|f| f.path == "roll_reducer.rs")
        .expect("roll");
    assert!(roll.contents.contains("fn roll(&self)"), "{}", roll.contents);
    let module = rust_files("all-features", &Options::default())
        .into_iter()
        .find(|f| f.path == "mod.rs")
        .expect("mod.rs");
    assert!(
        module.contents.contains("Self::Roll => \"roll_die\""),
        "{}",
        module.contents
    );
}
