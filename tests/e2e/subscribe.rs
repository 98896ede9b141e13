//! `spacetime subscribe`: the initial update, a live update after a reducer call (as
//! upstream's smoketests drive it: `subscribe -n 1 --print-initial-update` in the
//! background), SQL inserts and deletes on two queries as an anonymous client, and the
//! error for a private table.

use crate::common::*;
use std::process::Command;

/// A `spacetime subscribe` running in the background, read one stdout line at a time.
pub(crate) struct Subscriber {
    pub(crate) process: ClientProcess,
    /// The index of the next line to read.
    next: usize,
}

impl Subscriber {
    fn start(fx: &Fixture, args: &[&str]) -> Self {
        Self::start_as(&fx.owner, args)
    }

    /// `spacetime subscribe <args>` as the user of `cli`.
    pub(crate) fn start_as(cli: &spacetime_testing::cli::Cli, args: &[&str]) -> Self {
        let mut command = Command::new(spacetime_testing::server::spacetime_bin());
        command.arg("--config-path").arg(cli.config_path());
        command.args(["subscribe", "--server", cli.server_url()]).args(args);
        Self {
            process: ClientProcess::start(command),
            next: 0,
        }
    }

    /// Waits for the next line and parses it as JSON.
    #[track_caller]
    pub(crate) fn next_json(&mut self, what: &str) -> serde_json::Value {
        let (index, line) = self.process.wait_line(self.next, &format!("the {what} line"), |_| true);
        self.next = index + 1;
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the {what} line is not JSON ({e}): {line}\n{}", self.process.output()))
    }
}

both_bindings!(fn subscribe_prints_initial_and_live_updates(bindings) {
    let fx = Fixture::new(BASIC, bindings, "basic-db");
    fx.call("add", &["Alice"]).ok();
    let mut sub = Subscriber::start(&fx, &["basic-db", "SELECT * FROM person", "-n", "1", "--print-initial-update"]);
    assert_eq!(
        sub.next_json("initial update"),
        serde_json::json!({ "person": { "deletes": [], "inserts": [{ "name": "Alice" }] } })
    );
    fx.call("add", &["Bob"]).ok();
    assert_eq!(
        sub.next_json("transaction update"),
        serde_json::json!({ "person": { "deletes": [], "inserts": [{ "name": "Bob" }] } })
    );
    // `-n 1`: it exits by itself, successfully, after one update.
    sub.process.finish();
});

both_bindings!(fn subscribe_without_initial_update_and_with_timeout(bindings) {
    let fx = Fixture::new(BASIC, bindings, "basic-db");
    fx.call("add", &["Alice"]).ok();
    let out = fx.owner.run(&["subscribe", "basic-db", "SELECT * FROM person", "-t", "1"]).ok();
    assert_eq!(out.stdout, "", "no initial update without --print-initial-update, no update without a transaction");
});

both_bindings!(fn subscribe_to_a_private_table_fails(bindings) {
    let fx = Fixture::new(PERMISSIONS, bindings, "perm-db");
    let other = fx.other_user();
    let out = other.run(&["subscribe", "perm-db", "SELECT * FROM secret", "-n", "1"]).err();
    assert!(out.stderr.contains("secret"), "the error names the table: {}", out.stderr);
    assert_eq!(out.stdout, "");
});

both_bindings!(fn subscribe_sees_sql_inserts_and_deletes_anonymously(bindings) {
    let fx = Fixture::new(BASIC, bindings, "basic-db");
    let mut sub = Subscriber::start(
        &fx,
        &[
            "--anonymous",
            "basic-db",
            "SELECT * FROM person WHERE name = 'Alice'",
            "SELECT * FROM person WHERE name = 'Bob'",
            "-n",
            "2",
            "--print-initial-update",
        ],
    );
    let initial = sub.next_json("initial update");
    let rows: usize =
        initial.as_object().expect("an object").values().map(|t| t["inserts"].as_array().map_or(0, Vec::len)).sum();
    assert_eq!(rows, 0, "nothing matches yet: {initial}");
    fx.owner.sql(&fx.name, "INSERT INTO person (name) VALUES ('Alice')").ok();
    assert_eq!(
        sub.next_json("insert"),
        serde_json::json!({ "person": { "deletes": [], "inserts": [{ "name": "Alice" }] } })
    );
    fx.owner.sql(&fx.name, "DELETE FROM person WHERE name = 'Alice'").ok();
    assert_eq!(
        sub.next_json("delete"),
        serde_json::json!({ "person": { "deletes": [{ "name": "Alice" }], "inserts": [] } })
    );
});
