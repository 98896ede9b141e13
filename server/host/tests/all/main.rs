//! Integration tests of the module host with real wasm: modules built from
//! `tests/modules/` sources (against the crates.io `spacetimedb` 2.10.1 through
//! `tests/fixtures/upstream`, and against our bindings for the equivalence tests), plus
//! hand-written WAT for modules the loader must refuse.

// The module builder is std-only and lives in the test harness crate; including it by
// path avoids a dev-dependency cycle (the harness depends on the server, which
// depends on this crate).
#[path = "../../../../tests/src/modules.rs"]
#[allow(dead_code)]
mod modules;

mod abi_contract;
mod codegen_fixtures;
mod http_handlers;
mod lifecycle;
mod limits;
mod loader;
mod reducers;
mod support;
mod upstream;
mod views;
