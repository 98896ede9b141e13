//! Integration tests of the engine with real wasm: the scheduler driving a module
//! built from `tests/modules/host-test` against the crates.io `spacetimedb` crate.

// The module builder is std-only and lives in the test harness crate; including it by
// path avoids a dev-dependency cycle (the harness depends on the server, which
// depends on this crate).
#[path = "../../../../tests/src/modules.rs"]
#[allow(dead_code)]
mod modules;

mod follower;
mod hosted;
mod leader_log;
mod lifecycle_prefix;
mod schedule;
mod support;
