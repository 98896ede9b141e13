//! A reducer that fails (by panicking or by returning `Err`) leaves nothing behind, and the
//! database keeps working (upstream's `test_panic` and `test_reducer_error_message`).

use crate::common::*;

both_bindings!(fn failed_reducers_roll_back(bindings) {
    let fx = Fixture::new(PANIC, bindings, "panic");

    let panicked = fx.call("insert_then_panic", &["ghost"]).err();
    assert!(panicked.stderr.starts_with("WARNING: This command is UNSTABLE"), "{}", panicked.stderr);
    assert!(panicked.stderr.contains("Error: "), "{}", panicked.stderr);

    let failed = fx.call("insert_then_fail", &["phantom"]).err();
    assert!(failed.stderr.contains("oopsie :("), "the reducer's error reaches the caller: {}", failed.stderr);

    assert_eq!(fx.sql("SELECT * FROM item"), " name\n------", "neither failed write survived");

    fx.call("insert", &["real"]).ok();
    assert_eq!(fx.sql("SELECT * FROM item"), " name\n--------\n \"real\"");

    let logs = fx.logs(100);
    assert!(logs.iter().any(|l| l.contains("This is a panic while inserting ghost")), "the panic is logged: {logs:?}");
});
