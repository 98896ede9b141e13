//! Reducer calls over HTTP: arguments as JSON arrays or objects, failures as 530 with
//! the module's message, bad input as clear 4xx, lifecycle reducers around every call,
//! and a database that keeps serving after a panic or a runaway reducer.

use crate::modules::{wasm, BASIC, LIFECYCLE, PANIC, RUNAWAY};
use crate::support::{Body, TestServer};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn arguments_as_array_or_object_reach_the_reducer() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("greeter"), wasm(BASIC)).await.expect(200);
    let res = owner.call("greeter", "add", json!(["Alice"])).await.expect(200);
    assert_eq!(res.text, "");
    assert!(res.headers.contains_key("spacetime-execution-duration-micros"));
    // Anyone may call, also without a token (a fresh identity is minted).
    owner
        .anonymous()
        .call("greeter", "add", json!({ "name": "Bob" }))
        .await
        .expect(200);
    owner.call("greeter", "say_hello", json!([])).await.expect(200);
    let logs = owner.log_messages("greeter", 3).await;
    assert_eq!(logs, ["Hello, Alice!", "Hello, Bob!", "Hello, World!"]);
}

#[tokio::test]
async fn bad_calls_are_4xx_with_a_message_that_says_what_to_fix() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("strict"), wasm(BASIC)).await.expect(200);

    let res = owner.call("strict", "add", json!([42])).await.expect(400);
    assert!(
        res.text.contains("args.name") && res.text.contains("(name)"),
        "{}",
        res.text
    );
    let res = owner.call("strict", "add", json!([])).await.expect(400);
    assert!(res.text.contains("invalid arguments"), "{}", res.text);
    let res = owner
        .request(
            Method::POST,
            "/v1/database/strict/call/add",
            Some(Body::Text("[\"unterminated".into())),
        )
        .await;
    assert!(res.expect(400).text.contains("not JSON"));

    let res = owner.call("strict", "no_such", json!([])).await.expect(404);
    assert!(
        res.text.contains("No such reducer `no_such`") && res.text.contains("say_hello"),
        "{}",
        res.text
    );
    owner.call("no-such-db", "add", json!(["x"])).await.expect(404);
}

#[tokio::test]
async fn lifecycle_reducers_run_around_each_call_and_cannot_be_called() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("hooks"), wasm(LIFECYCLE)).await.expect(200);
    for reducer in ["init", "connected", "disconnected"] {
        let res = owner.call("hooks", reducer, json!([])).await.expect(400);
        assert!(res.text.contains("lifecycle reducer"), "{}", res.text);
    }
    let res = owner.call("hooks", "ping", json!([])).await.expect(200);
    let caller = res.headers["spacetime-identity"].to_str().unwrap().to_owned();
    let logs = owner.log_messages("hooks", 3).await;
    assert_eq!(
        logs,
        [
            format!("connected {caller}"),
            format!("ping from {caller}"),
            format!("disconnected {caller}")
        ]
    );
}

#[tokio::test]
async fn failed_reducers_are_530_with_their_message_and_roll_back() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("fails"), wasm(PANIC)).await.expect(200);

    let res = owner.call("fails", "insert_then_fail", json!(["x"])).await.expect(530);
    assert!(res.text.contains("oopsie :("), "{}", res.text);
    let res = owner.call("fails", "insert_then_panic", json!(["y"])).await.expect(530);
    assert!(res.text.contains("This is a panic while inserting y"), "{}", res.text);
    // The next call works on a fresh instance.
    owner.call("fails", "insert", json!(["z"])).await.expect(200);

    let logs = owner.log_messages("fails", 10).await;
    assert!(logs.iter().any(|m| m == "oopsie :("), "{logs:?}");
    assert!(
        logs.iter().any(|m| m.contains("This is a panic while inserting y")),
        "{logs:?}"
    );
}

#[tokio::test]
async fn a_runaway_reducer_is_stopped_and_the_database_keeps_serving() {
    let server = TestServer::start_with(|config| config.reducer_time_budget = Duration::from_millis(300));
    let owner = server.new_identity().await;
    owner.publish(Some("spinner"), wasm(RUNAWAY)).await.expect(200);
    let res = owner.call("spinner", "spin", json!([])).await.expect(530);
    assert!(res.text.contains("time budget"), "{}", res.text);
    owner.call("spinner", "bump", json!([])).await.expect(200);
    owner.call("spinner", "bump", json!([])).await.expect(200);
}
