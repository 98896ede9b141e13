//! On-demand snapshots: `POST /v1/database/:db/snapshot` writes one (owner only), a
//! restart restores from it, and an in-memory server explains why it has none.

use crate::modules::{wasm, BASIC};
use crate::support::{Body, TestServer};
use reqwest::Method;
use serde_json::json;

fn snapshot_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "snapshot") {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn the_owner_takes_a_snapshot_on_demand_and_a_restart_restores_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Never snapshot by count, so the only snapshot is the one asked for.
    let no_periodic = |c: &mut spacetime_server::ServerConfig| c.snapshot_every = 0;
    let token = {
        let server = TestServer::start_in_with(dir.path(), no_periodic);
        let owner = server.new_identity().await;
        owner.publish(Some("snappy"), wasm(BASIC)).await.expect(200);
        owner.call("snappy", "add", json!(["Alice"])).await.expect(200);
        assert!(
            snapshot_files(dir.path()).is_empty(),
            "no snapshot before one is asked for"
        );

        let other = server.new_identity().await;
        let res = other
            .request(Method::POST, "/v1/database/snappy/snapshot", None)
            .await
            .expect(403);
        assert!(res.text.contains("only the owner"), "{}", res.text);

        let res = owner
            .request(Method::POST, "/v1/database/snappy/snapshot", None)
            .await
            .expect(200);
        assert!(res.json()["tx_offset"].is_u64(), "{}", res.text);
        assert_eq!(
            snapshot_files(dir.path()).len(),
            1,
            "the snapshot file is written before the reply"
        );
        owner.call("snappy", "add", json!(["Bob"])).await.expect(200);
        owner.token.clone()
    };
    let server = TestServer::start_in_with(dir.path(), no_periodic);
    let mut owner = server.client();
    owner.token = token;
    let res = owner
        .request(
            Method::POST,
            "/v1/database/snappy/sql",
            Some(Body::Text("SELECT * FROM person".into())),
        )
        .await
        .expect(200);
    assert!(
        res.text.contains("Alice") && res.text.contains("Bob"),
        "snapshot plus log suffix: {}",
        res.text
    );
}

#[tokio::test]
async fn an_in_memory_server_says_it_has_nothing_to_snapshot() {
    let server = TestServer::start_with(|c| c.in_memory = true);
    let owner = server.new_identity().await;
    owner.publish(Some("volatile"), wasm(BASIC)).await.expect(200);
    owner.call("volatile", "add", json!(["Alice"])).await.expect(200);
    let res = owner
        .request(Method::POST, "/v1/database/volatile/snapshot", None)
        .await
        .expect(400);
    assert!(res.text.contains("--in-memory"), "{}", res.text);
}
