//! Upstream's `delete_database.rs` smoketest that `delete` stops the module: a database
//! whose scheduled reducer keeps writing is deleted after the prompt, its subscriber's
//! updates stop as the subscription ends, and the database is gone. (The prompt's other
//! answers and `--yes` are in `cli_basics::delete_asks_first`.)

use crate::common::*;
use crate::subscribe::Subscriber;
use spacetime_testing::modules::Bindings;

#[test]
fn delete_with_confirmation_stops_the_module() {
    let fx = Fixture::new(SCHEDULE, Bindings::Ours, "delete-running");
    fx.call("start_ticking", &["50"]).ok();
    let mut sub = Subscriber::start_as(&fx.owner, &[&fx.name, "SELECT * FROM fired"]);
    // Two updates from the schedule: the module is running.
    for n in 1..=2 {
        let update = sub.next_json(&format!("tick {n}"));
        assert!(update.to_string().contains("\"tick\""), "{update}");
    }

    let out = fx.owner.run_with_stdin(&["delete", &fx.name], Some("y\n")).ok();
    assert!(
        out.stdout.contains("Are you sure you want to delete database") && out.stdout.contains(&fx.name),
        "{}",
        out.stdout
    );
    // The subscription ends by itself: nothing runs for the database any more.
    sub.process.finish();
    assert!(
        sub.process
            .output()
            .contains("The database `delete-running` was deleted; the subscription ended."),
        "{}",
        sub.process.output()
    );
    let gone = fx.owner.run(&["logs", &fx.name]).err();
    assert!(gone.stderr.contains("delete-running"), "{}", gone.stderr);
}
