//! Module logs over HTTP: NDJSON records, the owner-only rule, `num_lines`, and
//! following new lines live.

use crate::modules::{wasm, BASIC, SCHEDULE};
use crate::support::TestServer;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn records_are_ndjson_with_the_upstream_fields_and_only_the_owner_reads_them() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("chatty"), wasm(BASIC)).await.expect(200);
    owner.call("chatty", "log_levels", json!([])).await.expect(200);

    let res = owner.get("/v1/database/chatty/logs?num_lines=2").await.expect(200);
    assert_eq!(res.headers["content-type"], "application/x-ndjson");
    let records: Vec<serde_json::Value> = res.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["level"], "Error");
    assert_eq!(records[1]["message"], "level error");
    assert_eq!(records[1]["function"], "log_levels");
    for field in ["ts", "target", "filename", "line_number"] {
        assert!(records[1].get(field).is_some(), "{field} missing: {}", records[1]);
    }

    let res = server
        .new_identity()
        .await
        .get("/v1/database/chatty/logs")
        .await
        .expect(403);
    assert!(res.text.contains("only the owner"), "{}", res.text);
    owner.get("/v1/database/chatty/logs?num_lines=many").await.expect(400);
}

#[tokio::test]
async fn followers_receive_new_lines_as_they_are_written() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("followed"), wasm(BASIC)).await.expect(200);
    owner.call("followed", "add", json!(["Zed"])).await.expect(200);

    let token = owner.token.clone().unwrap();
    let request = owner
        .http
        .get(format!(
            "{}/v1/database/followed/logs?num_lines=0&follow=true",
            owner.base
        ))
        .bearer_auth(token);
    // The response head arrives before any line does.
    let mut stream = tokio::time::timeout(Duration::from_secs(10), request.send())
        .await
        .expect("headers within 10 s")
        .unwrap();
    assert_eq!(stream.status(), 200);
    owner.call("followed", "say_hello", json!([])).await.expect(200);

    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !received.contains("Hello, World!") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("new lines within 10 s")
            .unwrap();
        received.push_str(&String::from_utf8_lossy(&chunk.expect("stream stays open")));
    }
    let messages: Vec<String> = received
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(messages, ["Hello, Zed!", "Hello, World!"]);
}

#[tokio::test]
async fn scheduled_reducers_fire_on_their_own() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("timers"), wasm(SCHEDULE)).await.expect(200);
    owner
        .call("timers", "schedule_once", json!(["soon", 50]))
        .await
        .expect(200);
    owner.wait_for_log("timers", |m| m == "fired once: soon").await;
}
