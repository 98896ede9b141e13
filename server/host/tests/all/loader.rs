//! Loading: a real module loads and describes itself; malformed modules are refused
//! with a message that names the problem.

use crate::modules::{module_bytes, Bindings, HOST_TEST};
use crate::support::{host_test_program, runtime};
use spacetime_host::{extract_raw_module_def, AbiVersion, LoadError};

fn load_wat(wat: &str) -> LoadError {
    let wasm = wat::parse_str(wat).expect("valid WAT");
    runtime().load(&wasm).expect_err("the module must be refused")
}

/// A minimal module shape: an import, memory, and the two required exports.
fn module(imports: &str, exports: &str) -> String {
    format!(
        r#"(module
            {imports}
            (memory (export "memory") 1)
            {exports})"#
    )
}

const LOG_IMPORT: &str = r#"(import "spacetime_10.0" "console_timer_end" (func (param i32) (result i32)))"#;
const CALL_REDUCER: &str =
    r#"(func (export "__call_reducer__") (param i32 i64 i64 i64 i64 i64 i64 i64 i32 i32) (result i32) i32.const 0)"#;
const DESCRIBE: &str = r#"(func (export "__describe_module__") (param i32))"#;

#[test]
fn host_test_module_loads_and_describes_itself() {
    let program = host_test_program();
    let def = program.module_def();
    let tables: Vec<&str> = def.tables.iter().map(|t| t.name.as_str()).collect();
    for expected in ["person", "config", "banned", "online", "reminder", "fired"] {
        assert!(tables.contains(&expected), "table {expected} missing from {tables:?}");
    }
    assert!(def.reducer("add_person").is_some());
    assert!(
        def.table("reminder").and_then(|t| t.schedule.as_ref()).is_some(),
        "reminder is scheduled"
    );
    let version = program.abi_version();
    assert_eq!(version.major, 10);
    assert!(version.minor <= 5, "{version}");
}

#[test]
fn extract_raw_module_def_matches_the_loaded_definition() {
    let wasm = module_bytes(HOST_TEST, Bindings::Upstream);
    let raw = extract_raw_module_def(&wasm).expect("describes");
    assert_eq!(&raw, host_test_program().raw_module_def());
}

#[test]
fn missing_describe_module_is_refused() {
    let e = load_wat(&module(LOG_IMPORT, CALL_REDUCER));
    assert!(
        matches!(
            e,
            LoadError::MissingExport {
                name: "__describe_module__",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("__describe_module__"), "{e}");
}

#[test]
fn missing_call_reducer_is_refused() {
    let e = load_wat(&module(LOG_IMPORT, DESCRIBE));
    assert!(
        matches!(
            e,
            LoadError::MissingExport {
                name: "__call_reducer__",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn missing_memory_is_refused() {
    let wat = format!("(module {LOG_IMPORT} {CALL_REDUCER} {DESCRIBE})");
    let e = load_wat(&wat);
    assert!(matches!(e, LoadError::MissingExport { name: "memory", .. }), "{e}");
}

#[test]
fn wrong_export_signature_is_refused() {
    let bad = r#"(func (export "__call_reducer__") (param i32) (result i32) i32.const 0)"#;
    let e = load_wat(&module(LOG_IMPORT, &format!("{bad} {DESCRIBE}")));
    let text = e.to_string();
    assert!(matches!(e, LoadError::ExportSignature { .. }), "{text}");
    assert!(text.contains("(i32) -> (i32)") && text.contains("i64"), "{text}");
}

#[test]
fn unknown_host_function_is_refused() {
    let import = r#"(import "spacetime_10.0" "datastore_teleport_row" (func (param i32) (result i32)))"#;
    let e = load_wat(&module(import, &format!("{CALL_REDUCER} {DESCRIBE}")));
    let text = e.to_string();
    assert!(matches!(e, LoadError::BadImport { .. }), "{text}");
    assert!(
        text.contains("datastore_teleport_row") && text.contains("no function of that name"),
        "{text}"
    );
}

#[test]
fn function_imported_from_the_wrong_version_is_refused_with_the_right_one() {
    let import = r#"(import "spacetime_10.0" "datastore_clear" (func (param i32 i32) (result i32)))"#;
    let e = load_wat(&module(import, &format!("{CALL_REDUCER} {DESCRIBE}")));
    assert!(e.to_string().contains("from `spacetime_10.5`"), "{e}");
}

#[test]
fn foreign_import_module_is_refused() {
    let import = r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#;
    let e = load_wat(&module(
        &format!("{LOG_IMPORT} {import}"),
        &format!("{CALL_REDUCER} {DESCRIBE}"),
    ));
    assert!(e.to_string().contains("only `spacetime_10.x`"), "{e}");
}

#[test]
fn newer_minor_is_refused() {
    let import = r#"(import "spacetime_10.9" "time_travel" (func))"#;
    let e = load_wat(&module(
        &format!("{LOG_IMPORT} {import}"),
        &format!("{CALL_REDUCER} {DESCRIBE}"),
    ));
    assert_eq!(e, LoadError::UnsupportedAbi(AbiVersion { major: 10, minor: 9 }));
    assert!(e.to_string().contains("10.0 to 10.6"), "{e}");
}

#[test]
fn mixed_majors_are_refused() {
    let import = r#"(import "spacetime_11.0" "identity" (func (param i32)))"#;
    let e = load_wat(&module(
        &format!("{LOG_IMPORT} {import}"),
        &format!("{CALL_REDUCER} {DESCRIBE}"),
    ));
    assert!(matches!(e, LoadError::MixedAbiMajors { .. }), "{e}");
}

#[test]
fn module_without_abi_imports_is_refused() {
    let e = load_wat(&module("", &format!("{CALL_REDUCER} {DESCRIBE}")));
    assert_eq!(e, LoadError::NoAbiImports);
}

#[test]
fn garbage_bytes_are_refused() {
    let e = runtime().load(b"\0asm but not really").expect_err("refused");
    assert!(matches!(e, LoadError::Compile(_)), "{e}");
}

#[test]
fn trapping_describe_is_reported() {
    let describe = r#"(func (export "__describe_module__") (param i32) unreachable)"#;
    let e = load_wat(&module(LOG_IMPORT, &format!("{CALL_REDUCER} {describe}")));
    assert!(
        matches!(&e, LoadError::SetupTrapped { export, .. } if export == "__describe_module__"),
        "{e}"
    );
}

#[test]
fn undecodable_definition_is_reported() {
    let imports = r#"(import "spacetime_10.0" "bytes_sink_write" (func $write (param i32 i32 i32) (result i32)))"#;
    // Writes the single byte 0x07 (not a RawModuleDef tag) to the sink.
    let describe = r#"(data (i32.const 16) "\07")
        (func (export "__describe_module__") (param $sink i32)
            (i32.store (i32.const 32) (i32.const 1))
            (drop (call $write (local.get $sink) (i32.const 16) (i32.const 32))))"#;
    let e = load_wat(&module(imports, &format!("{CALL_REDUCER} {describe}")));
    assert!(matches!(e, LoadError::DescribeDecode(_)), "{e}");
}

#[test]
fn set_up_exports_run_in_order_before_describe() {
    // Each step traps unless exactly the steps before it have run: `_initialize`, the
    // preinits sorted by name (declared out of order), then `__describe_module__`,
    // which writes nothing. Reaching the decode error proves the order.
    let body = r#"
        (global $n (mut i32) (i32.const 0))
        (func $step (param $expected i32)
            (if (i32.ne (global.get $n) (local.get $expected)) (then unreachable))
            (global.set $n (i32.add (global.get $n) (i32.const 1))))
        (func (export "__preinit__20_b") (call $step (i32.const 2)))
        (func (export "__preinit__10_a") (call $step (i32.const 1)))
        (func (export "_initialize") (call $step (i32.const 0)))
        (func (export "__setup__") (param i32) (result i32) (call $step (i32.const 3)) (i32.const 0))
        (func (export "__describe_module__") (param i32) (call $step (i32.const 4)))"#;
    let e = load_wat(&module(LOG_IMPORT, &format!("{CALL_REDUCER} {body}")));
    assert!(matches!(e, LoadError::DescribeDecode(_)), "{e}");
}

#[test]
fn failing_setup_is_reported() {
    let imports = r#"(import "spacetime_10.0" "bytes_sink_write" (func $write (param i32 i32 i32) (result i32)))"#;
    let body = r#"(data (i32.const 16) "no config")
        (func (export "__setup__") (param $sink i32) (result i32)
            (i32.store (i32.const 32) (i32.const 9))
            (drop (call $write (local.get $sink) (i32.const 16) (i32.const 32)))
            (i32.const 1))"#;
    let e = load_wat(&module(imports, &format!("{CALL_REDUCER} {DESCRIBE} {body}")));
    assert_eq!(e, LoadError::SetupFailed("no config".into()));
}
