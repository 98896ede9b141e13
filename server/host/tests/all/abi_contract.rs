//! The ABI contract at its edges, with a hand-written module: errnos outside a
//! transaction and for bad handles, traps for pointers outside memory, and the clear
//! traps of bad arguments (an immediate call named with bytes that are not UTF-8), and the procedure
//! imports' errnos in a reducer.

use crate::support::{alice, runtime, unit_reducers_definition, wat_data, Db};
use spacetime_host::ReducerError;

fn wat() -> String {
    let def = unit_reducers_definition(6);
    let escaped = wat_data(&def);
    format!(
        r#"(module
        (import "spacetime_10.0" "bytes_sink_write" (func $write (param i32 i32 i32) (result i32)))
        (import "spacetime_10.0" "table_id_from_name" (func $table_id (param i32 i32 i32) (result i32)))
        (import "spacetime_10.0" "identity" (func $identity (param i32)))
        (import "spacetime_10.0" "volatile_nonatomic_schedule_immediate" (func $immediate (param i32 i32 i32 i32)))
        (import "spacetime_10.3" "procedure_start_mut_tx" (func $start (param i32) (result i32)))
        (import "spacetime_10.0" "row_iter_bsatn_close" (func $close (param i32) (result i32)))
        (import "spacetime_10.0" "bytes_source_read" (func $read (param i32 i32 i32) (result i32)))
        (import "spacetime_10.0" "console_timer_end" (func $timer_end (param i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 48) "r3")
        (data (i32.const 56) "\ff")
        (data (i32.const 64) "{escaped}")
        (func (export "__describe_module__") (param $sink i32)
            ;; Outside a transaction a datastore call returns NOT_IN_TRANSACTION (2).
            (if (i32.ne (call $table_id (i32.const 16) (i32.const 0) (i32.const 8)) (i32.const 2)) (then unreachable))
            (i32.store (i32.const 0) (i32.const {len}))
            (drop (call $write (local.get $sink) (i32.const 64) (i32.const 0))))
        (func (export "__call_reducer__")
            (param $id i32) (param i64 i64 i64 i64 i64 i64 i64) (param $args i32) (param $err i32) (result i32)
            (block (block (block (block (block (block
                (br_table 0 1 2 3 4 5 (local.get $id)))
                ;; r0: queues a call of r3, with no arguments.
                (call $immediate (i32.const 48) (i32.const 2) (i32.const 0) (i32.const 0))
                (return (i32.const 0)))
              ;; A reducer cannot open a procedure's transaction: WOULD_BLOCK_TRANSACTION (17).
              (if (i32.ne (call $start (i32.const 0)) (i32.const 17)) (then unreachable))
              (return (i32.const 0)))
            (call $identity (i32.const 65530))
            (return (i32.const 0)))
            ;; Bad handles are errnos: NO_SUCH_ITER (6), NO_SUCH_BYTES (8), NO_SUCH_CONSOLE_TIMER (7).
            (if (i32.ne (call $close (i32.const 99)) (i32.const 6)) (then unreachable))
            (i32.store (i32.const 0) (i32.const 4))
            (if (i32.ne (call $read (i32.const 99) (i32.const 8) (i32.const 0)) (i32.const 8)) (then unreachable))
            (if (i32.ne (call $timer_end (i32.const 99)) (i32.const 7)) (then unreachable))
            (return (i32.const 0)))
            ;; r4: a return code other than 0 or 1.
            (return (i32.const 7)))
            ;; r5: names the reducer with bytes that are not UTF-8.
            (call $immediate (i32.const 56) (i32.const 1) (i32.const 0) (i32.const 0))
            (i32.const 0)))"#,
        len = def.len()
    )
}

fn db() -> Db {
    let wasm = wat::parse_str(wat()).expect("valid WAT");
    let program = runtime()
        .load(&wasm)
        .unwrap_or_else(|e| panic!("the hand-written module must load: {e}"));
    Db::new(&program)
}

fn trap_message(db: &mut Db, reducer: &str) -> String {
    match db.call_as(reducer, alice(), Vec::new()).result {
        Err(ReducerError::Trap(message)) => message,
        other => panic!("expected `{reducer}` to trap, got {other:?}"),
    }
}

#[test]
fn schedule_immediate_queues_a_call_for_the_engine() {
    let mut db = db();
    let outcome = db.call_as("r0", alice(), Vec::new());
    assert!(outcome.result.is_ok(), "{outcome:?}");
    let queued = db.instance.take_immediate_calls();
    assert_eq!(
        queued,
        vec![spacetime_host::ImmediateCall {
            reducer: "r3".into(),
            args: Vec::new()
        }]
    );
    assert!(
        db.instance.take_immediate_calls().is_empty(),
        "taking empties the queue"
    );
}

#[test]
fn schedule_immediate_with_a_name_that_is_not_utf8_traps() {
    let message = trap_message(&mut db(), "r5");
    assert!(
        message.contains("volatile_nonatomic_schedule_immediate") && message.contains("not valid UTF-8"),
        "{message}"
    );
}

#[test]
fn procedure_transactions_are_refused_in_a_reducer() {
    let outcome = db().call_as("r1", alice(), Vec::new());
    assert!(
        outcome.result.is_ok(),
        "procedure_start_mut_tx returns an errno, not a trap: {outcome:?}"
    );
}

#[test]
fn a_pointer_outside_memory_traps() {
    let mut db = db();
    let message = trap_message(&mut db, "r2");
    assert!(
        message.contains("`identity`") && message.contains("outside"),
        "{message}"
    );
    // The instance was replaced; it still works.
    assert!(db.call_as("r3", alice(), Vec::new()).result.is_ok());
}

#[test]
fn bad_handles_are_errnos() {
    let outcome = db().call_as("r3", alice(), Vec::new());
    assert!(outcome.result.is_ok(), "{outcome:?}");
}

#[test]
fn an_unknown_return_code_is_a_failure() {
    let outcome = db().call_as("r4", alice(), Vec::new());
    assert_eq!(outcome.result, Err(ReducerError::InvalidReturn(7)));
}
