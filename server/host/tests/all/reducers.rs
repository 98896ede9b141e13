//! Reducer calls through the whole ABI, against the host-test module.

use crate::args;
use crate::support::{alice, Db, BUDGET};
use spacetime_host::{LogLevel, ReducerError};
use spacetime_sats::{AlgebraicValue, Identity};
use std::time::Duration;

fn names(db: &Db) -> Vec<String> {
    let mut names: Vec<String> = db
        .rows("person")
        .iter()
        .map(|p| p.elements[1].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn insert_find_update_delete() {
    let mut db = Db::host_test();
    // `add_person` checks the id the auto-inc sequence wrote back into the row.
    db.ok("add_person", args!["alice".to_string(), 30u8, 1u64]);
    db.ok("add_person", args!["bob".to_string(), 40u8, 2u64]);
    db.ok("expect_age", args!["alice".to_string(), 30u8]);
    db.ok("set_age", args!["alice".to_string(), 31u8]);
    db.ok("expect_age", args!["alice".to_string(), 31u8]);
    db.ok("remove_person", args!["bob".to_string()]);
    assert_eq!(names(&db), ["alice"]);
    let alice = &db.rows("person")[0];
    assert_eq!(
        alice.elements,
        vec![
            AlgebraicValue::U64(1),
            AlgebraicValue::String("alice".into()),
            AlgebraicValue::U8(31)
        ]
    );

    let outcome = db.call("expect_age", args!["bob".to_string(), 40u8]);
    assert_eq!(outcome.result, Err(ReducerError::User("bob not found".into())));
}

#[test]
fn commit_reports_the_changed_rows() {
    let mut db = Db::host_test();
    let outcome = db.call("add_person", args!["alice".to_string(), 30u8, 1u64]);
    let tx = outcome.committed().expect("committed");
    assert_eq!(tx.tables.len(), 1);
    assert_eq!(tx.tables[0].table_name, "person");
    assert_eq!(tx.tables[0].inserts.len(), 1);
    assert!(tx.tables[0].deletes.is_empty());
    assert!(outcome.duration > Duration::ZERO);
}

#[test]
fn unique_violation_reaches_the_module_as_its_errno() {
    let mut db = Db::host_test();
    db.ok("add_person", args!["alice".to_string(), 30u8, 1u64]);
    // The module maps errno 12 to `TryInsertError::UniqueConstraintViolation`.
    db.ok("add_duplicate", args!["alice".to_string()]);
    assert_eq!(names(&db), ["alice"]);
}

#[test]
fn auto_inc_continues_after_a_rollback_free_sequence() {
    let mut db = Db::host_test();
    db.ok("add_person", args!["a".to_string(), 1u8, 1u64]);
    db.ok("add_person", args!["b".to_string(), 1u8, 2u64]);
    db.ok("remove_person", args!["a".to_string()]);
    db.ok("add_person", args!["c".to_string(), 1u8, 3u64]);
}

#[test]
fn err_rolls_back() {
    let mut db = Db::host_test();
    db.ok("add_person", args!["alice".to_string(), 30u8, 1u64]);
    let outcome = db.call("add_then_fail", args!["carol".to_string(), "refused".to_string()]);
    assert_eq!(outcome.result, Err(ReducerError::User("refused".into())));
    assert_eq!(names(&db), ["alice"]);
}

#[test]
fn panic_rolls_back_and_the_next_call_succeeds() {
    let mut db = Db::host_test();
    let outcome = db.call(
        "add_then_panic",
        args!["carol".to_string(), "boom at the end".to_string()],
    );
    match outcome.result {
        Err(ReducerError::Panic(message)) => assert!(message.contains("boom at the end"), "{message}"),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert!(names(&db).is_empty());
    let panics: Vec<_> = db
        .logs
        .take()
        .into_iter()
        .filter(|r| r.level == LogLevel::Panic)
        .collect();
    assert_eq!(panics.len(), 1);
    assert_eq!(panics[0].function.as_deref(), Some("add_then_panic"));
    db.ok("add_person", args!["dave".to_string(), 1u8, 1u64]);
}

#[test]
fn runaway_loop_is_stopped_and_the_next_call_succeeds() {
    let mut db = Db::host_test();
    db.ok("add_person", args!["alice".to_string(), 30u8, 1u64]);
    let outcome = db.call("spin", args![]);
    assert_eq!(outcome.result, Err(ReducerError::OutOfTime { budget: BUDGET }));
    assert!(outcome.duration >= BUDGET, "stopped after {:?}", outcome.duration);
    assert!(
        outcome.duration < BUDGET * 10,
        "stopped only after {:?}",
        outcome.duration
    );
    db.ok("add_person", args!["bob".to_string(), 40u8, 2u64]);
    assert_eq!(names(&db), ["alice", "bob"]);
}

#[test]
fn memory_exhaustion_is_stopped_and_the_next_call_succeeds() {
    let mut db = Db::host_test();
    let outcome = db.call("hog", args![512u32]);
    match &outcome.result {
        Err(ReducerError::OutOfMemory(message)) => assert!(message.contains("limit"), "{message}"),
        other => panic!("expected out of memory, got {other:?}"),
    }
    db.ok("add_person", args!["alice".to_string(), 30u8, 1u64]);
}

#[test]
fn bad_arguments_are_rejected_before_the_module_runs() {
    let mut db = Db::host_test();
    let missing = db.call("add_person", args!["alice".to_string(), 30u8]);
    match &missing.result {
        Err(ReducerError::InvalidArgs { reducer, error, params }) => {
            assert_eq!(reducer, "add_person");
            assert!(error.contains("expected_id"), "{error}");
            assert_eq!(params, "name, age, expected_id");
        }
        other => panic!("expected invalid args, got {other:?}"),
    }
    let trailing = db.call("add_person", args!["alice".to_string(), 30u8, 1u64, 9u8]);
    assert!(
        matches!(&trailing.result, Err(ReducerError::InvalidArgs { error, .. }) if error.contains("left over")),
        "{trailing:?}"
    );
    let bad_utf8 = db.call("remove_person", vec![2, 0, 0, 0, 0xff, 0xfe]);
    assert!(
        matches!(bad_utf8.result, Err(ReducerError::InvalidArgs { .. })),
        "{bad_utf8:?}"
    );
    assert!(names(&db).is_empty());
    assert!(db.logs.take().is_empty(), "the module must not have run");
}

#[test]
fn unknown_reducer_id_is_rejected() {
    let mut db = Db::host_test();
    let count = db.instance.program().module_def().reducers.len();
    let call = spacetime_host::ReducerCall {
        reducer_id: spacetime_sats::ReducerId(count as u32),
        caller_identity: alice(),
        caller_connection_id: None,
        timestamp: db.now,
        args_bsatn: &[],
        caller_jwt: None,
    };
    let outcome = db.instance.call_reducer(&mut db.ds, call);
    assert_eq!(
        outcome.result,
        Err(ReducerError::NoSuchReducer {
            id: count as u32,
            count
        })
    );
}

#[test]
fn index_range_scans_and_deletes() {
    let mut db = Db::host_test();
    for (i, age) in [10u8, 20, 30, 40, 50].into_iter().enumerate() {
        db.ok("add_person", args![format!("p{age}"), age, i as u64 + 1]);
    }
    db.ok("expect_counts", args![5u64, 20u8, 40u8, 3u64]);
    db.ok("remove_ages", args![15u8, 35u8, 2u64]);
    assert_eq!(names(&db), ["p10", "p40", "p50"]);
    db.ok("clear_people", args![3u64]);
    db.ok("expect_counts", args![0u64, 0u8, 255u8, 0u64]);
}

#[test]
fn large_scans_span_many_chunks() {
    let mut db = Db::host_test();
    // 3000 rows of ~130 bytes: about 12 chunks of 32 KiB.
    db.ok("add_many", args![3000u32, 120u32]);
    assert_eq!(db.rows("person").len(), 3000);
    db.ok("expect_counts", args![3000u64, 0u8, 9u8, 300u64]);
}

#[test]
fn logs_and_timers_reach_the_sink() {
    let mut db = Db::host_test();
    db.ok("chatter", args![]);
    let logs = db.logs.take();
    let levels: Vec<LogLevel> = logs.iter().map(|r| r.level).collect();
    assert_eq!(
        &levels[..5],
        [
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Info,
            LogLevel::Debug,
            LogLevel::Trace
        ]
    );
    assert_eq!(logs[0].message, "error line");
    assert_eq!(logs[0].function.as_deref(), Some("chatter"));
    assert!(
        logs[0].filename.as_deref().is_some_and(|f| f.ends_with("lib.rs")),
        "{:?}",
        logs[0]
    );
    assert!(logs[0].line_number.is_some());
    let timer = logs.last().expect("timer line");
    assert!(timer.message.contains("chatter"), "{timer:?}");
}

#[test]
fn the_sender_is_the_caller() {
    let mut db = Db::host_test();
    db.ok("expect_sender", args![alice()]);
    let other = Identity::from_byte_array([9; 32]);
    let outcome = db.call("expect_sender", args![other]);
    assert!(matches!(outcome.result, Err(ReducerError::User(_))), "{outcome:?}");
}

#[test]
fn a_row_larger_than_the_module_buffer_is_read_after_buffer_too_small() {
    let mut db = Db::host_test();
    // One row of ~300 KiB: larger than a chunk and than the bindings' first buffer.
    db.ok("add_many", args![1u32, 300_000u32]);
    // The module pools its buffers; a trap replaces the instance, so the next scan
    // starts with a fresh, small buffer.
    assert!(db
        .call("add_then_panic", args!["x".to_string(), "reset".to_string()])
        .result
        .is_err());
    db.ok("expect_counts", args![1u64, 0u8, 0u8, 1u64]);
}

#[test]
fn get_jwt_reports_no_token() {
    let mut db = Db::host_test();
    db.ok("expect_no_jwt", args![]);
    let outcome = db.call("record_jwt", args![]);
    assert!(matches!(outcome.result, Err(ReducerError::User(_))), "{outcome:?}");
}

#[test]
fn get_jwt_returns_the_calling_connections_payload() {
    let mut db = Db::host_test();
    let payload = r#"{"iss":"https://issuer.test","sub":"user-7","aud":"spacetimedb","role":"admin"}"#;
    db.caller_jwt = Some(payload.to_owned());
    db.ok("record_jwt", args![]);
    let outcome = db.call("expect_no_jwt", args![]);
    assert!(matches!(outcome.result, Err(ReducerError::User(_))), "{outcome:?}");
    let rows = db.rows("jwt_seen");
    assert_eq!(rows.len(), 1);
    let text = |i: usize| match &rows[0].elements[i] {
        spacetime_sats::AlgebraicValue::String(s) => s.to_string(),
        other => panic!("not a string: {other:?}"),
    };
    assert_eq!(text(1), "user-7");
    assert_eq!(text(2), "https://issuer.test");
    assert_eq!(text(3), payload);
}
