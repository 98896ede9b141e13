//! Lifecycle reducers: `init` runs at publish, `client_connected` / `client_disconnected`
//! run around every call (upstream's `test_conn_disconn`), and no client may call any of
//! them (`test_lifecycle_reducers_cant_be_called`).

use crate::common::*;

both_bindings!(fn init_connect_disconnect_are_logged(bindings) {
    let fx = Fixture::new(LIFECYCLE, bindings, "lifecycle");
    let logs = fx.logs(100);
    assert!(logs.iter().any(|l| l == "init ran"), "init runs when the module is published: {logs:?}");

    fx.call("ping", &[]).ok();
    let logs = fx.logs(100);
    assert!(in_order(&logs, &["init ran", "connected ", "ping from ", "disconnected "]), "{logs:?}");
    let me = logs.iter().find_map(|l| l.strip_prefix("ping from ")).expect("the ping line").to_owned();
    assert!(logs.contains(&format!("connected {me}")) && logs.contains(&format!("disconnected {me}")), "{logs:?}");
});

both_bindings!(fn an_http_procedure_call_is_connected_and_disconnected(bindings) {
    let fx = Fixture::new(LIFECYCLE, bindings, "lifecycle");
    let out = fx.call("pong", &[]).ok();
    assert_eq!(out.stdout.trim(), "1", "the procedure's value");
    let logs = fx.logs(100);
    assert!(in_order(&logs, &["init ran", "connected ", "pong from ", "disconnected "]), "{logs:?}");
    let pong = logs.iter().find_map(|l| l.strip_prefix("pong from ")).expect("the pong line");
    let (me, connection) = pong.split_once(" on ").expect("sender and connection id");
    assert!(connection.starts_with("Some("), "the procedure ran on the request's connection: {pong}");
    assert!(logs.contains(&format!("connected {me}")) && logs.contains(&format!("disconnected {me}")), "{logs:?}");
});

both_bindings!(fn lifecycle_reducers_cannot_be_called(bindings) {
    let fx = Fixture::new(LIFECYCLE, bindings, "lifecycle");
    for reducer in ["init", "connected", "disconnected"] {
        let out = fx.call(reducer, &[]).err();
        assert!(out.stderr.contains("Error: "), "{reducer}: {}", out.stderr);
    }
    // The same over raw HTTP, so the refusal is the server's, not the CLI's.
    let token = fx.owner.token().expect("the owner is logged in");
    let http = reqwest::blocking::Client::new();
    for reducer in ["init", "connected", "disconnected"] {
        let response = http
            .post(format!("{}/v1/database/{}/call/{reducer}", fx.server.url(), fx.name))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("[]")
            .send()
            .expect("the server answers");
        assert_eq!(response.status().as_u16(), 400, "calling {reducer} over HTTP");
    }
    let logs = fx.logs(100);
    assert_eq!(logs.iter().filter(|l| *l == "init ran").count(), 1, "init ran only at publish: {logs:?}");
});
