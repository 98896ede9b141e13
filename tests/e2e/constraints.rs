//! Unique columns and auto-increment keys (upstream's `test_autoinc_basic` and
//! `test_autoinc_unique`), through reducer calls and SQL.

use crate::common::*;

both_bindings!(fn auto_inc_assigns_one_two_three(bindings) {
    let fx = Fixture::new(CONSTRAINTS, bindings, "constraints");
    for name in ["Alice", "Bob", "Carol"] {
        fx.call("add", &[name]).ok();
    }
    assert_eq!(
        fx.sql("SELECT * FROM person"),
        " id | name\n----+---------\n 1  | \"Alice\"\n 2  | \"Bob\"\n 3  | \"Carol\""
    );
    let logs = fx.logs(100);
    assert!(in_order(&logs, &["Inserted Alice with id 1", "Inserted Bob with id 2", "Inserted Carol with id 3"]), "{logs:?}");
});

both_bindings!(fn unique_columns_reject_duplicates(bindings) {
    let fx = Fixture::new(CONSTRAINTS, bindings, "constraints");
    fx.call("add", &["Alice"]).ok();
    let dup = fx.call("add", &["Alice"]).err();
    assert!(dup.stderr.contains("unique"), "the error says a unique constraint was violated: {}", dup.stderr);
    assert_eq!(fx.sql("SELECT COUNT(*) AS n FROM person"), " n\n---\n 1");

    // A hand-picked key collides with the sequence when it gets there; the failed insert
    // is rolled back and the table keeps one row per key.
    fx.call("add_with_id", &["2", "Manual"]).ok();
    let collision = fx.call("add", &["Next"]).err();
    assert!(collision.stderr.contains("unique"), "{}", collision.stderr);
    assert_eq!(fx.sql("SELECT * FROM person WHERE id = 2"), " id | name\n----+----------\n 2  | \"Manual\"");

    fx.call("rename", &["2", "Renamed"]).ok();
    assert_eq!(fx.sql("SELECT name FROM person WHERE id = 2"), " name\n-----------\n \"Renamed\"");
    fx.call("remove", &["Renamed"]).ok();
    fx.call("add_with_id", &["2", "Again"]).ok();
    let missing = fx.call("rename", &["99", "Nobody"]).err();
    assert!(missing.stderr.contains("no person with id 99"), "{}", missing.stderr);
});
