//! Scheduled tables: one-shot and interval rows, cancellation, failures, and the
//! maximum delay.

use crate::args;
use crate::support::Db;
use spacetime_host::ReducerError;
use spacetime_sats::{AlgebraicValue, TimeDuration};

fn ms(n: i64) -> TimeDuration {
    TimeDuration::from_micros(n * 1000)
}

fn fired(db: &Db) -> Vec<(String, bool)> {
    db.rows("fired")
        .iter()
        .map(|r| {
            (
                r.elements[1].as_str().expect("text").to_owned(),
                r.elements[2] == AlgebraicValue::Bool(true),
            )
        })
        .collect()
}

#[test]
fn one_shot_runs_once_as_the_database_and_its_row_goes() {
    let mut db = Db::host_test();
    db.ok("remind_in", args!["once".to_string(), 50u64]);
    let due = db.now + ms(50);
    assert_eq!(db.scheduler.next_due(), Some(due));
    assert!(db.scheduler.take_due(db.now).is_empty(), "not due yet");

    let calls = db.scheduler.take_due(due);
    assert_eq!(calls.len(), 1);
    let outcome = db.run_scheduled(calls[0], due).expect("row exists");
    assert!(outcome.outcome.result.is_ok(), "{outcome:?}");
    assert!(outcome.cleanup.is_none());
    assert_eq!(fired(&db), [("once".to_string(), true)]);
    assert!(
        db.rows("reminder").is_empty(),
        "the one-shot row is deleted with the run"
    );
    let tx = outcome.outcome.committed().expect("committed");
    assert!(
        tx.tables
            .iter()
            .any(|t| t.table_name == "reminder" && t.deletes.len() == 1),
        "{tx:?}"
    );
    assert_eq!(db.scheduler.next_due(), None);
}

#[test]
fn failed_one_shot_rolls_back_and_still_deletes_its_row() {
    let mut db = Db::host_test();
    db.ok("remind_in", args!["fail".to_string(), 0u64]);
    let calls = db.scheduler.take_due(db.now);
    let outcome = db.run_scheduled(calls[0], db.now).expect("row exists");
    assert_eq!(
        outcome.outcome.result,
        Err(ReducerError::User("reminder asked to fail".into()))
    );
    assert!(fired(&db).is_empty(), "the run was rolled back");
    assert!(db.rows("reminder").is_empty(), "the row was cleaned up");
    assert!(outcome.cleanup.is_some());
    assert!(db
        .logs
        .take()
        .iter()
        .any(|r| r.message.contains("scheduled reducer `remind` failed")));
}

#[test]
fn interval_rows_repeat_from_the_intended_time() {
    let mut db = Db::host_test();
    let start = db.now;
    db.ok("remind_every", args!["tick".to_string(), 1000u64]);
    assert_eq!(db.scheduler.next_due(), Some(start + ms(1000)));

    let first = start + ms(1000);
    let calls = db.scheduler.take_due(first);
    db.run_scheduled(calls[0], first).expect("row exists");
    assert_eq!(db.scheduler.next_due(), Some(start + ms(2000)));

    // Run the second tick late: the third stays on the grid.
    let late = start + ms(3500);
    let calls = db.scheduler.take_due(late);
    assert_eq!(calls.len(), 1);
    db.run_scheduled(calls[0], late).expect("row exists");
    assert_eq!(db.scheduler.next_due(), Some(start + ms(4000)));
    assert_eq!(fired(&db).len(), 2);
    assert_eq!(db.rows("reminder").len(), 1, "interval rows stay");
}

#[test]
fn deleting_the_row_cancels() {
    let mut db = Db::host_test();
    db.ok("remind_in", args!["later".to_string(), 10_000u64]);
    db.ok("remind_every", args!["often".to_string(), 10u64]);
    assert_eq!(db.scheduler.len(), 2);
    db.ok("cancel_reminder", args!["later".to_string()]);
    db.ok("cancel_reminder", args!["often".to_string()]);
    assert!(db.scheduler.is_empty());
    assert!(db.scheduler.take_due(db.now + ms(60_000)).is_empty());
}

#[test]
fn a_rolled_back_insert_schedules_nothing() {
    let mut db = Db::host_test();
    // `remind_in` commits; a failing reducer in between must not add to the queue.
    let outcome = db.call("add_then_fail", args!["x".to_string(), "no".to_string()]);
    assert!(outcome.result.is_err());
    assert!(db.scheduler.is_empty());
}

#[test]
fn a_delay_past_the_maximum_is_refused() {
    let mut db = Db::host_test();
    let three_years_ms = 3u64 * 365 * 24 * 3600 * 1000;
    let outcome = db.call("remind_in", args!["far".to_string(), three_years_ms]);
    match &outcome.result {
        // The module's `insert` panics on errno 13 with its description.
        Err(ReducerError::Panic(message)) => assert!(message.contains("delay"), "{message}"),
        other => panic!("expected the insert to fail, got {other:?}"),
    }
    assert!(db.rows("reminder").is_empty());
    // Just under the maximum (64^6 - 1 ms) is accepted.
    db.ok("remind_in", args!["near".to_string(), 64u64.pow(6) - 1]);
}

#[test]
fn restore_requeues_existing_rows() {
    let mut db = Db::host_test();
    db.ok("remind_in", args!["once".to_string(), 500u64]);
    db.ok("remind_every", args!["tick".to_string(), 1000u64]);
    let later = db.now + ms(100);
    let program = db.instance.program().clone();
    let mut fresh = spacetime_engine::schedule::Scheduler::new(program.module_def());
    fresh.restore(&db.ds, later);
    assert_eq!(fresh.len(), 2);
    assert_eq!(fresh.next_due(), Some(db.now + ms(500)));
    assert_eq!(fresh.take_due(db.now + ms(500)).len(), 1);
    assert_eq!(
        fresh.next_due(),
        Some(later + ms(1000)),
        "interval rows restart from now"
    );
}
