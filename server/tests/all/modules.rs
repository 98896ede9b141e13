//! The wasm modules the tests publish, built once per test run from `tests/modules/`
//! against the crates.io `spacetimedb` 2.10.1 crate (the real ABI), through the
//! harness in `tests/src/modules.rs`.

#[path = "../../../tests/src/modules.rs"]
#[allow(dead_code)]
mod harness;

use harness::{module_bytes, Bindings, ModuleCrate};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

const fn test_module(package: &'static str, upstream_package: &'static str) -> ModuleCrate {
    ModuleCrate {
        workspace: "tests/modules",
        package,
        upstream_package,
    }
}

pub const BASIC: ModuleCrate = test_module("basic-module", "upstream-basic");
pub const LIFECYCLE: ModuleCrate = test_module("lifecycle-module", "upstream-lifecycle");
pub const PANIC: ModuleCrate = test_module("panic-module", "upstream-panic");
pub const RUNAWAY: ModuleCrate = test_module("runaway-module", "upstream-runaway");
pub const INIT_FAIL: ModuleCrate = test_module("init-fail-module", "upstream-init-fail");
pub const SCHEDULE: ModuleCrate = test_module("schedule-module", "upstream-schedule");
pub const PERMISSIONS: ModuleCrate = test_module("permissions-module", "upstream-permissions");
pub const HOST_TEST: ModuleCrate = test_module("host-test-module", "upstream-host-test");
pub const RLS: ModuleCrate = test_module("rls-module", "upstream-rls");

/// The `.wasm` of `module`, built on first use. Builds are serialized so parallel tests
/// do not build the same module twice.
pub fn wasm(module: ModuleCrate) -> Vec<u8> {
    static BUILT: OnceLock<Mutex<HashMap<&'static str, Vec<u8>>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    built
        .entry(module.package)
        .or_insert_with(|| module_bytes(module, Bindings::Upstream))
        .clone()
}
