//! A database whose data is damaged or missing is never served as an empty one (issue
//! 12, D6 and D7). A damaged segment header keeps every commit behind it; a deleted
//! log makes the server refuse that database with a 503 that names the missing file
//! and how to recover, while the other databases on the server keep working, and the
//! rows come back once the file is restored.

use crate::common::*;
use spacetime_testing::modules::Bindings;
use spacetime_testing::server::TestServer;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The first commit-log segment of the only database published so far.
fn first_segment(data_dir: &Path) -> PathBuf {
    let replicas = data_dir.join("replicas");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&replicas)
        .expect("list the replicas")
        .flatten()
        .map(|e| e.path().join("clog").join("00000000000000000000.stdb.log"))
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(found.len(), 1, "one database, one first segment: {found:?}");
    found.remove(0)
}

/// `POST /v1/database/<db>/sql` as an anonymous client: the status and the body.
fn http_sql(server: &TestServer, db: &str, query: &str) -> (u16, String) {
    let response = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("build an HTTP client")
        .post(format!("{}/v1/database/{db}/sql", server.url()))
        .body(query.to_owned())
        .send()
        .expect("send the SQL request");
    let status = response.status().as_u16();
    (status, response.text().unwrap_or_default())
}

const NAMES: [&str; 3] = ["Alice", "Bob", "Carol"];

/// Asserts the `person` table holds exactly `names`, once each.
#[track_caller]
fn assert_people(fx: &Fixture, names: &[&str]) {
    let rows = fx.sql("SELECT name FROM person");
    for name in names {
        assert_eq!(rows.matches(&format!("\"{name}\"")).count(), 1, "{name} once: {rows}");
    }
    assert_eq!(rows.matches('"').count(), 2 * names.len(), "only {names:?}: {rows}");
}

/// A server with database `name` holding `names`, and the database's first segment.
fn fixture_with(name: &str, names: &[&str]) -> (Fixture, PathBuf) {
    let fx = Fixture::new(CONSTRAINTS, Bindings::Ours, name);
    for name in names {
        fx.call("add", &[name]).ok();
    }
    let segment = first_segment(&fx.server.data_dir());
    (fx, segment)
}

#[test]
fn a_damaged_segment_header_keeps_every_row() {
    // The finding: `XXXX` over the first segment's magic after a kill -9, and the
    // database came back empty, taking new writes at tx offset 0.
    let (mut fx, segment) = fixture_with("d6-header", &NAMES);
    fx.server.restart_after(|_| {
        let mut bytes = std::fs::read(&segment).expect("read the segment");
        bytes[..4].copy_from_slice(b"XXXX");
        std::fs::write(&segment, bytes).expect("damage the segment header");
    });
    assert_people(&fx, &NAMES);
    let output = fx.server.output();
    assert!(
        output.contains("repaired the damaged header") && output.contains("bad segment magic"),
        "the server log says what was repaired: {output}"
    );
    let logs = fx.logs(100);
    assert!(
        logs.iter().any(|l| l.contains("repaired the damaged header")),
        "the module log says so too: {logs:?}"
    );
    assert_eq!(
        &std::fs::read(&segment).expect("read the segment")[..6],
        b"(ds)^2",
        "the header is rewritten"
    );
    // Writes continue after the kept commits, and survive another crash.
    fx.call("add", &["Dave"]).ok();
    fx.server.restart();
    assert_people(&fx, &["Alice", "Bob", "Carol", "Dave"]);
}

#[test]
fn a_missing_log_is_refused_not_served_empty() {
    let (mut fx, segment) = fixture_with("d7-lost", &NAMES);
    // Another database on the same server, which must not be affected.
    fx.owner.publish(&fx.wasm, Some("d7-bystander"));
    fx.owner.call("d7-bystander", "add", &["Eve"]).ok();
    let backup = fx.server.data_dir().join("backup.stdb.log");
    fx.server.restart_after(|_| {
        std::fs::rename(&segment, &backup).expect("move the segment away");
    });

    let (status, body) = http_sql(&fx.server, "d7-lost", "SELECT * FROM person");
    assert_eq!(
        status, 503,
        "a database whose log is gone is unavailable, not empty: {body}"
    );
    for needle in [
        "commit log is missing",
        "00000000000000000000.stdb.log",
        "from a backup",
        "--delete-data",
    ] {
        assert!(body.contains(needle), "{needle:?} in the 503: {body}");
    }
    let call = fx.call("add", &["Mallory"]).err();
    assert!(
        call.stderr.contains("commit log is missing") || call.stdout.contains("commit log is missing"),
        "a reducer call is refused with the reason: {call:?}"
    );
    let output = fx.server.output();
    assert!(
        output
            .lines()
            .any(|l| l.contains("ERROR") && l.contains("commit log is missing")),
        "the server logs the refusal at error level: {output}"
    );
    assert!(
        !segment.exists(),
        "refusing creates no empty log in place of the missing one"
    );
    // The other database is served as before.
    let rows = fx.owner.sql("d7-bystander", "SELECT name FROM person").ok().stdout;
    assert!(rows.contains("\"Eve\""), "{rows}");
    fx.owner.call("d7-bystander", "add", &["Frank"]).ok();

    // The operator restores the file: every row is back, and `init` did not run again.
    fx.server.restart_after(|_| {
        std::fs::rename(&backup, &segment).expect("restore the segment");
    });
    assert_people(&fx, &NAMES);
    fx.call("add", &["Dave"]).ok();
    let rows = fx.owner.sql("d7-bystander", "SELECT name FROM person").ok().stdout;
    assert!(rows.contains("\"Eve\"") && rows.contains("\"Frank\""), "{rows}");
}

#[test]
fn a_refused_database_can_be_republished_empty_with_delete_data() {
    let (mut fx, segment) = fixture_with("d7-reset", &["Alice"]);
    fx.server.restart_after(|_| {
        std::fs::remove_file(&segment).expect("delete the segment");
    });
    let (status, body) = http_sql(&fx.server, "d7-reset", "SELECT * FROM person");
    assert_eq!(status, 503, "{body}");
    // The way out the message offers when there is no backup.
    fx.owner
        .publish_output(&fx.wasm, Some("d7-reset"), &["--delete-data"])
        .ok();
    assert_people(&fx, &[]);
    fx.call("add", &["Bob"]).ok();
    fx.server.restart();
    assert_people(&fx, &["Bob"]);
}
