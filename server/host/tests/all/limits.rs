//! The caps on host byte sinks (issue 12, D2): a `__describe_module__` that writes
//! forever and a reducer with a huge `Err` trap at their caps with a message naming
//! them, instead of making the host allocate until the process is killed; a huge log
//! string is cut with a marker.

use crate::support::{alice, runtime, unit_reducers_definition, wat_data, Db};
use spacetime_host::{LoadError, ReducerError, MAX_ERROR_MESSAGE_BYTES, MAX_LOG_RECORD_BYTES};
use std::time::{Duration, Instant};

const CALL_REDUCER_NOOP: &str =
    r#"(func (export "__call_reducer__") (param i32 i64 i64 i64 i64 i64 i64 i64 i32 i32) (result i32) i32.const 0)"#;

#[test]
fn endless_describe_traps_at_the_module_definition_cap() {
    // As the finding's module, but writing 64 KiB per call from a one-page memory: it
    // never stops on its own, so only the cap can end it before the time budget.
    let wat = format!(
        r#"(module
            (import "spacetime_10.0" "bytes_sink_write" (func $w (param i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "__describe_module__") (param $sink i32)
                (loop $l
                    (i32.store (i32.const 0) (i32.const 65536))
                    (drop (call $w (local.get $sink) (i32.const 0) (i32.const 0)))
                    (br $l)))
            {CALL_REDUCER_NOOP})"#
    );
    let wasm = wat::parse_str(wat).expect("valid WAT");
    let started = Instant::now();
    let e = runtime()
        .load(&wasm)
        .expect_err("an endless definition must be refused");
    let LoadError::SetupTrapped { export, message } = &e else {
        panic!("expected a trap in describe, got {e:?}");
    };
    assert_eq!(export, "__describe_module__");
    assert!(
        message.contains("bytes_sink_write")
            && message.contains("64 MiB (67108864 bytes)")
            && message.contains("MAX_MODULE_DEF_BYTES"),
        "{message}"
    );
    // Stopped by the cap, not by the time budget (which would say so instead).
    assert!(!message.contains("time budget"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

/// Reducers: `r0` writes `2 × MAX_ERROR_MESSAGE_BYTES` to its error sink in 64 KiB
/// pieces and returns 1; `r1` writes exactly `MAX_ERROR_MESSAGE_BYTES` and returns 1;
/// `r2` logs a message of `MAX_LOG_RECORD_BYTES + 1000` bytes and returns 0.
fn sinks_module() -> Db {
    let def = unit_reducers_definition(3);
    let chunk = 64 << 10;
    let wat = format!(
        r#"(module
            (import "spacetime_10.0" "bytes_sink_write" (func $w (param i32 i32 i32) (result i32)))
            (import "spacetime_10.0" "console_log"
                (func $log (param i32 i32 i32 i32 i32 i32 i32 i32)))
            (memory (export "memory") 4)
            (data (i32.const 16) "{data}")
            (func (export "__describe_module__") (param $sink i32)
                (i32.store (i32.const 0) (i32.const {def_len}))
                (drop (call $w (local.get $sink) (i32.const 16) (i32.const 0))))
            ;; Writes `pieces` 64 KiB pieces (from offset 65536) to `sink`.
            (func $fill (param $sink i32) (param $pieces i32)
                (loop $l
                    (i32.store (i32.const 0) (i32.const {chunk}))
                    (drop (call $w (local.get $sink) (i32.const 65536) (i32.const 0)))
                    (local.set $pieces (i32.sub (local.get $pieces) (i32.const 1)))
                    (br_if $l (local.get $pieces))))
            (func (export "__call_reducer__")
                (param $id i32) (param i64 i64 i64 i64 i64 i64 i64) (param $args i32) (param $err i32) (result i32)
                (block (block (block
                    (br_table 0 1 2 (local.get $id)))
                  (call $fill (local.get $err) (i32.const {over}))
                  (return (i32.const 1)))
                  (call $fill (local.get $err) (i32.const {exact}))
                  (return (i32.const 1)))
                (call $log (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                    (i32.const -1) (i32.const 65536) (i32.const {log_len}))
                (i32.const 0)))"#,
        data = wat_data(&def),
        def_len = def.len(),
        over = 2 * MAX_ERROR_MESSAGE_BYTES / chunk,
        exact = MAX_ERROR_MESSAGE_BYTES / chunk,
        log_len = MAX_LOG_RECORD_BYTES + 1000,
    );
    let wasm = wat::parse_str(wat).expect("valid WAT");
    let program = runtime()
        .load(&wasm)
        .unwrap_or_else(|e| panic!("the hand-written module must load: {e}"));
    Db::new(&program)
}

#[test]
fn huge_reducer_error_traps_at_the_error_message_cap() {
    let mut db = sinks_module();
    match db.call_as("r0", alice(), Vec::new()).result {
        Err(ReducerError::Trap(message)) => assert!(
            message.contains("the reducer's error message")
                && message.contains("1 MiB (1048576 bytes)")
                && message.contains("MAX_ERROR_MESSAGE_BYTES"),
            "{message}"
        ),
        other => panic!("expected a trap naming the cap, got {other:?}"),
    }
    // An error of exactly the cap is still the reducer's own error, whole.
    match db.call_as("r1", alice(), Vec::new()).result {
        Err(ReducerError::User(message)) => assert_eq!(message.len(), MAX_ERROR_MESSAGE_BYTES),
        other => panic!("expected the reducer's error, got {other:?}"),
    }
}

#[test]
fn huge_log_message_is_cut_with_a_marker() {
    let mut db = sinks_module();
    let outcome = db.call_as("r2", alice(), Vec::new());
    assert!(outcome.result.is_ok(), "{outcome:?}");
    let logs = db.logs.take();
    let record = logs.last().expect("one log record");
    let (kept, marker) = record.message.split_once(" … [cut: ").expect("a cut marker");
    assert_eq!(kept.len(), MAX_LOG_RECORD_BYTES);
    assert!(
        marker.contains(&format!("{} bytes in all", MAX_LOG_RECORD_BYTES + 1000))
            && marker.contains("MAX_LOG_RECORD_BYTES"),
        "{marker}"
    );
}
