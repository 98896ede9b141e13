//! Publishing: create by name or anonymously, update, clear, bad modules, failing
//! `init`, ownership, names, deletion, and reloading after a restart.

use crate::modules::{wasm, BASIC, INIT_FAIL, LIFECYCLE, PERMISSIONS};
use crate::support::{Body, TestServer};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn publish_by_name_creates_then_updates_and_the_name_resolves() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    let res = owner.publish(Some("people"), wasm(BASIC)).await.expect(200).json();
    let identity = res["Success"]["database_identity"].as_str().unwrap().to_owned();
    assert_eq!(res["Success"]["op"], "Created");
    assert_eq!(res["Success"]["domain"], "people");
    assert!(identity.starts_with("c200"), "{identity}");

    let res = owner.publish(Some("people"), wasm(BASIC)).await.expect(200).json();
    assert_eq!(res["Success"]["op"], "Updated");
    assert_eq!(res["Success"]["database_identity"], identity.as_str());

    let anyone = server.client();
    assert_eq!(
        anyone.get("/v1/database/people/identity").await.expect(200).text,
        identity
    );
    assert_eq!(
        anyone
            .get(&format!("/v1/database/{identity}/names"))
            .await
            .expect(200)
            .json(),
        json!({ "names": ["people"] })
    );
    let info = anyone.get("/v1/database/people").await.expect(200).json();
    assert_eq!(info["database_identity"]["__identity__"], format!("0x{identity}"));
    let mine = owner
        .get(&format!(
            "/v1/identity/{}/databases",
            owner_identity(&owner, &server).await
        ))
        .await
        .expect(200)
        .json();
    assert_eq!(mine["identities"], json!([identity]));
    anyone.get("/v1/database/nobody-here/identity").await.expect(404);
}

/// The identity of `client`, as the server reports it in response headers.
async fn owner_identity(client: &crate::support::Client, server: &TestServer) -> String {
    let _ = server;
    let res = client.get("/v1/database/anything/identity").await;
    res.headers["spacetime-identity"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn anonymous_publish_gets_a_fresh_identity_and_the_identity_headers() {
    let server = TestServer::start();
    let res = server.client().publish(None, wasm(BASIC)).await.expect(200);
    let minted = res.headers["spacetime-identity"].to_str().unwrap().to_owned();
    assert!(res.headers.contains_key("spacetime-identity-token"));
    let json = res.json();
    assert_eq!(json["Success"]["domain"], serde_json::Value::Null);
    let db = json["Success"]["database_identity"].as_str().unwrap().to_owned();
    let owner = server
        .client()
        .get(&format!("/v1/identity/{minted}/databases"))
        .await
        .expect(200)
        .json();
    assert_eq!(owner["identities"], json!([db]));
}

#[tokio::test]
async fn the_schema_is_served_as_v10_sats_json_and_other_versions_are_explained() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("schema-db"), wasm(BASIC)).await.expect(200);
    let anyone = server.client();
    let schema = anyone
        .get("/v1/database/schema-db/schema?version=10")
        .await
        .expect(200)
        .json();
    let text = schema.to_string();
    assert!(text.contains("\"say_hello\"") && text.contains("\"person\""), "{text}");
    let res = anyone.get("/v1/database/schema-db/schema").await.expect(400);
    assert!(res.text.contains("version=10"), "{}", res.text);
    anyone.get("/v1/database/schema-db/schema?version=9").await.expect(400);
}

#[tokio::test]
async fn bad_wasm_and_a_failing_init_are_400_and_leave_no_database() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    let res = owner
        .publish(Some("broken"), b"\0asm not really".to_vec())
        .await
        .expect(400);
    assert!(res.text.contains("not valid WebAssembly"), "{}", res.text);
    let res = owner.publish(Some("broken"), Vec::new()).await.expect(400);
    assert!(res.text.contains("body is empty"), "{}", res.text);

    let res = owner.publish(Some("init-fails"), wasm(INIT_FAIL)).await.expect(400);
    assert!(res.text.contains("init failed on purpose"), "{}", res.text);
    owner.get("/v1/database/init-fails/identity").await.expect(404);
    owner.get("/v1/database/broken/identity").await.expect(404);

    // The server is still fine, and the name is still free.
    owner.publish(Some("init-fails"), wasm(BASIC)).await.expect(200);
}

#[tokio::test]
async fn a_failed_update_keeps_the_old_module_running() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("stable"), wasm(BASIC)).await.expect(200);
    owner.call("stable", "add", json!(["Ada"])).await.expect(200);

    // The `person` table is gone from the new module, but it holds a row.
    let res = owner.publish(Some("stable"), wasm(PERMISSIONS)).await.expect(400);
    assert!(
        res.text.contains("table `person`") && res.text.contains("1 row(s)"),
        "{}",
        res.text
    );
    owner.call("stable", "say_hello", json!([])).await.expect(200);
    let logs = owner.log_messages("stable", 10).await;
    assert!(logs.contains(&"Hello, Ada!".to_owned()), "{logs:?}");

    // Clearing replaces the module and the data.
    let res = owner
        .request(
            Method::PUT,
            "/v1/database/stable?clear=true",
            Some(Body::Bytes(wasm(PERMISSIONS))),
        )
        .await;
    assert_eq!(res.expect(200).json()["Success"]["op"], "Updated");
    owner.call("stable", "learn", json!(["water is wet"])).await.expect(200);
    owner.call("stable", "say_hello", json!([])).await.expect(404);
}

#[tokio::test]
async fn only_the_owner_may_update_clear_delete_or_rename() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    let stranger = server.new_identity().await;
    owner.publish(Some("mine"), wasm(BASIC)).await.expect(200);

    let res = stranger.publish(Some("mine"), wasm(BASIC)).await.expect(403);
    assert_eq!(res.json(), json!({ "PermissionDenied": { "name": "mine" } }));
    stranger
        .request(
            Method::PUT,
            "/v1/database/mine?clear=true",
            Some(Body::Bytes(wasm(BASIC))),
        )
        .await
        .expect(403);
    stranger
        .request(Method::DELETE, "/v1/database/mine", None)
        .await
        .expect(403);
    let res = stranger
        .put_json("/v1/database/mine/names", json!(["theirs"]))
        .await
        .expect(401);
    assert!(res.json()["NotYourDatabase"].is_object(), "{}", res.text);
    owner.get("/v1/database/mine/identity").await.expect(200);

    owner
        .request(Method::DELETE, "/v1/database/mine", None)
        .await
        .expect(200);
    owner.get("/v1/database/mine/identity").await.expect(404);
    // Deleting what does not exist is fine.
    owner
        .request(Method::DELETE, "/v1/database/mine", None)
        .await
        .expect(200);
}

#[tokio::test]
async fn names_are_validated_replaced_and_never_shared() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("first"), wasm(BASIC)).await.expect(200);
    owner.publish(Some("second"), wasm(LIFECYCLE)).await.expect(200);

    let res = owner.publish(Some("Bad_Name"), wasm(BASIC)).await.expect(400);
    assert!(res.text.contains("invalid database name"), "{}", res.text);
    owner.publish(Some("x--y"), wasm(BASIC)).await.expect(400);

    owner
        .put_json("/v1/database/first/names", json!(["alpha", "beta"]))
        .await
        .expect(200);
    owner.get("/v1/database/first/identity").await.expect(404);
    let alpha = owner.get("/v1/database/alpha/identity").await.expect(200).text;
    assert_eq!(owner.get("/v1/database/beta/identity").await.expect(200).text, alpha);

    let res = owner
        .put_json("/v1/database/second/names", json!(["alpha"]))
        .await
        .expect(400);
    assert!(res.text.contains("already taken"), "{}", res.text);
    owner
        .put_json("/v1/database/second/names", json!("not-an-array"))
        .await
        .expect(400);
}

#[tokio::test]
async fn databases_come_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (token, identity) = {
        let server = TestServer::start_in(dir.path());
        let owner = server.new_identity().await;
        let res = owner
            .publish(Some("durable-name"), wasm(LIFECYCLE))
            .await
            .expect(200)
            .json();
        (
            owner.token.clone(),
            res["Success"]["database_identity"].as_str().unwrap().to_owned(),
        )
    };
    let server = TestServer::start_in(dir.path());
    let mut owner = server.client();
    owner.token = token;
    assert_eq!(
        owner.get("/v1/database/durable-name/identity").await.expect(200).text,
        identity
    );
    owner.call("durable-name", "ping", json!([])).await.expect(200);
    // Logs written before the restart are still there; the state came back from the
    // commit log, so init did not run again.
    let logs = owner.log_messages("durable-name", 100).await;
    assert_eq!(logs.iter().filter(|m| *m == "init ran").count(), 1, "{logs:?}");
}

#[tokio::test]
async fn an_in_memory_server_writes_only_its_key_pair() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_owned();
    let server = TestServer::start_with(|config| {
        config.data_dir = data_dir;
        config.in_memory = true;
    });
    let owner = server.new_identity().await;
    owner.publish(Some("ephemeral"), wasm(BASIC)).await.expect(200);
    owner.call("ephemeral", "say_hello", json!([])).await.expect(200);
    assert_eq!(owner.log_messages("ephemeral", 1).await, ["Hello, World!"]);
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, ["id_ecdsa", "id_ecdsa.pub"]);
}

#[tokio::test]
async fn a_crash_between_a_module_update_and_the_registry_write_keeps_the_new_module() {
    // Without snapshots, and with one after every transaction (which hides the update's
    // module record from the log suffix a restart reads, unless it is logged again).
    for snapshot_every in [0, 1] {
        crash_between_update_and_registry_write(snapshot_every).await;
    }
}

async fn crash_between_update_and_registry_write(snapshot_every: u64) {
    let tweak = move |c: &mut spacetime_server::ServerConfig| c.snapshot_every = snapshot_every;
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("control-db/registry.json");
    let (token, before) = {
        let server = TestServer::start_in_with(dir.path(), tweak);
        let owner = server.new_identity().await;
        owner.publish(Some("upgraded"), wasm(LIFECYCLE)).await.expect(200);
        let before = std::fs::read(&registry).expect("the registry is on disk");
        // BASIC adds the `person` table to LIFECYCLE's (none); the log gets a row of it.
        owner.publish(Some("upgraded"), wasm(BASIC)).await.expect(200);
        owner.call("upgraded", "add", json!(["Alice"])).await.expect(200);
        (owner.token.clone(), before)
    };
    // The crash window: the log has the new module, the registry still the old one.
    std::fs::write(&registry, &before).unwrap();
    let server = TestServer::start_in_with(dir.path(), tweak);
    let mut owner = server.client();
    owner.token = token;
    let res = owner
        .request(
            Method::POST,
            "/v1/database/upgraded/sql",
            Some(Body::Text("SELECT * FROM person".into())),
        )
        .await
        .expect(200);
    assert!(
        res.text.contains("Alice"),
        "snapshot_every {snapshot_every}: {}",
        res.text
    );
    owner.call("upgraded", "add", json!(["Bob"])).await.expect(200);
    // The registry was corrected to name the new program.
    assert_ne!(
        std::fs::read(&registry).unwrap(),
        before,
        "the registry still names the old program"
    );
}
