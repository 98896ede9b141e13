//! Issue 12, D1: a long flat `OR`/`AND` chain used to overflow the database actor's stack
//! and abort the whole server, for any caller, over HTTP SQL and over the WebSocket's
//! `OneOffQuery` and `Subscribe`. Now a 5,000-term chain (the finding's reproduction)
//! gets its correct result, a statement over the size limit gets an error naming the
//! limit, and the server keeps serving other requests throughout.

use crate::common::*;
use crate::toolchains::python_command;
use spacetime_testing::modules::{Bindings, REALTIME};
use std::time::Duration;

/// The SQL size limit (`spacetime_sql::parse::limits::MAX_SQL_BYTES`), as error texts say it.
const MAX_SQL_BYTES: &str = "131072";

/// `SELECT * FROM item WHERE id = 0 OR id = 1 OR …` with `terms` comparisons.
fn or_chain(terms: u32) -> String {
    let terms = (0..terms).map(|i| format!("id = {i}")).collect::<Vec<_>>();
    format!("SELECT * FROM item WHERE {}", terms.join(" OR "))
}

/// `SELECT * FROM item WHERE id <> 0 AND id <> 1 AND …`.
fn and_chain(terms: u32) -> String {
    let terms = (0..terms).map(|i| format!("id <> {i}")).collect::<Vec<_>>();
    format!("SELECT * FROM item WHERE {}", terms.join(" AND "))
}

/// Anonymous `POST /v1/database/<db>/sql`: status and body.
fn http_sql(fx: &Fixture, sql: &str) -> (u16, String) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/database/{}/sql", fx.server.url(), fx.name))
        .body(sql.to_owned())
        .timeout(Duration::from_secs(60))
        .send()
        .unwrap_or_else(|e| panic!("the server must answer the SQL request: {e}\n{}", fx.server.output()));
    let status = response.status().as_u16();
    (status, response.text().unwrap_or_default())
}

/// Sends `sql` as an anonymous WebSocket `mode` (`oneoff` or `subscribe`) and returns the
/// probe's line: `reply <tag> <bytes> <text>` or `closed …`.
pub(crate) fn ws_sql(fx: &Fixture, mode: &str, sql: &str) -> String {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("query.sql");
    std::fs::write(&path, sql).expect("write the query");
    let script = spacetime_testing::modules::repo_root().join("tests/e2e/ws_sql_probe.py");
    let ws_url = fx.server.url().replacen("http://", "ws://", 1);
    let output = python_command(&script)
        .args([ws_url.as_str(), fx.name.as_str(), mode])
        .arg(&path)
        .output()
        .expect("run the WebSocket probe");
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        output.status.success() && !stdout.is_empty(),
        "the probe failed: {stdout}\n{}\nserver:\n{}",
        String::from_utf8_lossy(&output.stderr),
        fx.server.output()
    );
    stdout
}

/// The server answers a ping and runs a reducer, and never reported a stack overflow.
fn assert_still_serving(fx: &Fixture, id: u32) {
    let ping = reqwest::blocking::get(format!("{}/v1/ping", fx.server.url()));
    assert!(ping.is_ok_and(|r| r.status().is_success()), "{}", fx.server.output());
    fx.call("insert_item", &[&id.to_string(), "\"later\"", "1"]).ok();
    assert!(
        !fx.server.output().contains("overflowed its stack"),
        "{}",
        fx.server.output()
    );
}

#[test]
fn long_or_and_and_chains_are_answered_and_the_server_stays_up() {
    let fx = Fixture::new(REALTIME, Bindings::Ours, "sql-limits");
    for id in [7, 4_999, 6_000] {
        fx.call("insert_item", &[&id.to_string(), "\"x\"", "1"]).ok();
    }

    // HTTP, anonymous: the finding's 5,000-term OR gets its rows (7 and 4999, not 6000).
    let (status, body) = http_sql(&fx, &or_chain(5_000));
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("4999") && body.contains('7') && !body.contains("6000"),
        "{body}"
    );
    let (status, body) = http_sql(&fx, &and_chain(5_000));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("6000") && !body.contains("4999"), "{body}");
    assert_still_serving(&fx, 1);

    // Over the size limit: a 400 naming the limit.
    let (status, body) = http_sql(&fx, &or_chain(20_000));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("limit exceeded") && body.contains(MAX_SQL_BYTES),
        "{body}"
    );
    assert_still_serving(&fx, 2);

    // WebSocket, anonymous: a OneOffQuery and a Subscribe with the same text.
    let reply = ws_sql(&fx, "oneoff", &or_chain(5_000));
    assert!(reply.starts_with("reply 5 ") && !reply.contains("limit"), "{reply}");
    let reply = ws_sql(&fx, "subscribe", &or_chain(5_000));
    assert!(reply.starts_with("reply 1 "), "the subscription applies: {reply}");
    assert_still_serving(&fx, 3);

    let reply = ws_sql(&fx, "oneoff", &or_chain(20_000));
    assert!(
        reply.starts_with("reply 5 ") && reply.contains(MAX_SQL_BYTES),
        "{reply}"
    );
    let reply = ws_sql(&fx, "subscribe", &and_chain(20_000));
    assert!(
        reply.starts_with("reply 3 ") && reply.contains(MAX_SQL_BYTES),
        "{reply}"
    );
    assert_still_serving(&fx, 4);

    // Deep parentheses: refused with the nesting limit.
    let deep = format!(
        "SELECT * FROM item WHERE {}id = 7{}",
        "(".repeat(5_000),
        ")".repeat(5_000)
    );
    let (status, body) = http_sql(&fx, &deep);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("nests more than"), "{body}");
    assert_still_serving(&fx, 5);
}
