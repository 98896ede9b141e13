//! The macro diagnostics: one case per message under `tests/ui/<category>/`, each a
//! `.rs` that must fail to compile with exactly the `.stderr` next to it.
//!
//! Regenerate the expected output after an intended change with
//! `TRYBUILD=overwrite cargo test -p spacetime-bindings --test all ui`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*/*.rs");
}

/// The HTTP handler and router macros' diagnostics, which exist only with `unstable`:
/// `cargo test -p spacetime-bindings --features unstable --test all ui`.
#[cfg(feature = "unstable")]
#[test]
fn ui_unstable() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui_unstable/*/*.rs");
}
