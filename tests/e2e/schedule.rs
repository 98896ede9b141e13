//! Scheduled reducers: one-shot, repeating, and cancelled (upstream's
//! `test_cancel_reducer` and `test_upload_module_2`). Everything waits by polling.

use crate::common::*;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn count(fx: &Fixture, kind: &str) -> usize {
    let out = fx.sql(&format!("SELECT * FROM fired WHERE kind = '{kind}'"));
    out.lines().skip(2).count()
}

both_bindings!(fn one_shot_fires_once(bindings) {
    let fx = Fixture::new(SCHEDULE, bindings, "schedule");
    fx.call("schedule_once", &["hello", "50"]).ok();
    poll("the one-shot schedule to fire", WAIT, || (count(&fx, "once") == 1).then_some(()), || fx.sql("SELECT * FROM fired"));
    let logs = fx.logs(100);
    assert!(logs.iter().any(|l| l.contains("fired once: hello")), "{logs:?}");
    // The schedule row is gone once it has run, so it cannot fire again.
    poll(
        "the one-shot schedule row to be removed",
        WAIT,
        || fx.sql("SELECT * FROM one_shot").lines().count().eq(&2).then_some(()),
        || fx.sql("SELECT * FROM one_shot"),
    );
    assert_eq!(count(&fx, "once"), 1);
});

both_bindings!(fn interval_repeats_until_cancelled(bindings) {
    let fx = Fixture::new(SCHEDULE, bindings, "schedule");
    fx.call("start_ticking", &["20"]).ok();
    poll("three ticks", WAIT, || (count(&fx, "tick") >= 3).then_some(()), || fx.sql("SELECT * FROM fired"));
    assert_eq!(fx.sql("SELECT * FROM ticker").lines().count(), 3, "a repeating schedule keeps its row");

    fx.call("stop_ticking", &[]).ok();
    let stopped_at = count(&fx, "tick");
    // Stopping is a transaction: once the call returns, no later tick can commit. A tick
    // already queued before it may still land, so allow one, then wait and check no more come.
    fx.call("schedule_once", &["marker", "200"]).ok();
    poll("a later one-shot schedule to fire", WAIT, || (count(&fx, "once") == 1).then_some(()), || fx.sql("SELECT * FROM fired"));
    let after = count(&fx, "tick");
    assert!(after <= stopped_at + 1, "ticks kept coming after the schedule was deleted: {stopped_at} then {after}");
});

both_bindings!(fn deleting_the_row_cancels_a_schedule(bindings) {
    let fx = Fixture::new(SCHEDULE, bindings, "schedule");
    fx.call("schedule_once", &["cancelled", "1500"]).ok();
    fx.call("cancel_all", &[]).ok();
    fx.call("schedule_once", &["kept", "1600"]).ok();
    poll("the kept schedule to fire", WAIT, || (count(&fx, "once") == 1).then_some(()), || fx.sql("SELECT * FROM fired"));
    let fired = fx.sql("SELECT label FROM fired");
    assert!(fired.contains("\"kept\"") && !fired.contains("cancelled"), "{fired}");
});
