//! SQL over HTTP: the result JSON, private tables, owner-only DML, bad statements, and
//! the connect/disconnect hooks around each request.

use crate::modules::{wasm, BASIC, LIFECYCLE, PERMISSIONS};
use crate::support::{Body, Client, TestServer};
use reqwest::Method;
use serde_json::json;

async fn sql(client: &Client, db: &str, query: &str) -> crate::support::Reply {
    client
        .request(
            Method::POST,
            &format!("/v1/database/{db}/sql"),
            Some(Body::Text(query.into())),
        )
        .await
}

#[tokio::test]
async fn results_carry_schema_rows_duration_and_stats() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("facts"), wasm(PERMISSIONS)).await.expect(200);

    let res = sql(&owner, "facts", "SELECT * FROM secret").await.expect(200).json();
    let result = &res.as_array().expect("one element per statement")[0];
    assert_eq!(result["rows"], json!([[42]]));
    assert_eq!(result["schema"]["elements"][0]["name"], json!({ "some": "answer" }));
    assert_eq!(result["schema"]["elements"][0]["algebraic_type"], json!({ "U8": [] }));
    assert!(result["total_duration_micros"].is_u64());
    assert_eq!(
        result["stats"],
        json!({ "rows_inserted": 0, "rows_deleted": 0, "rows_updated": 0 })
    );

    let res = sql(
        &owner,
        "facts",
        "INSERT INTO common_knowledge (thing) VALUES ('fire is hot')",
    )
    .await
    .expect(200)
    .json();
    assert_eq!(res[0]["stats"]["rows_inserted"], 1);
    let res = sql(
        &owner,
        "facts",
        "SELECT thing FROM common_knowledge WHERE thing = 'fire is hot'",
    )
    .await
    .expect(200)
    .json();
    assert_eq!(res[0]["rows"], json!([["fire is hot"]]));
}

#[tokio::test]
async fn private_tables_and_dml_are_for_the_owner_only() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("guarded"), wasm(PERMISSIONS)).await.expect(200);
    let stranger = server.new_identity().await;

    let res = sql(&stranger, "guarded", "SELECT * FROM secret").await.expect(400);
    assert!(
        res.text.contains("no such table: `secret`") && res.text.contains("private"),
        "{}",
        res.text
    );
    let res = sql(&stranger, "guarded", "SELECT * FROM common_knowledge")
        .await
        .expect(200)
        .json();
    assert_eq!(res[0]["rows"], json!([["The sky is blue"]]));
    let res = sql(&stranger, "guarded", "DELETE FROM common_knowledge")
        .await
        .expect(400);
    assert!(res.text.contains("permission denied"), "{}", res.text);
    let res = sql(&owner, "guarded", "SELECT * FROM common_knowledge")
        .await
        .expect(200)
        .json();
    assert_eq!(res[0]["rows"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_statements_are_400_and_the_database_keeps_answering() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("queries"), wasm(BASIC)).await.expect(200);
    for bad in [
        "SELEKT * FROM person",
        "SELECT * FROM person ORDER BY name",
        "SELECT nope FROM person",
        "",
    ] {
        let res = sql(&owner, "queries", bad).await.expect(400);
        assert!(!res.text.is_empty(), "no message for {bad:?}");
    }
    sql(&owner, "queries", "SELECT * FROM person").await.expect(200);
    sql(&owner, "no-such-db", "SELECT * FROM person").await.expect(404);
}

#[tokio::test]
async fn sql_runs_between_client_connected_and_client_disconnected() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("hooked-sql"), wasm(LIFECYCLE)).await.expect(200);
    let res = sql(&owner, "hooked-sql", "SELECT * FROM no_table").await.expect(400);
    let caller = res.headers["spacetime-identity"].to_str().unwrap().to_owned();
    let logs = owner.log_messages("hooked-sql", 2).await;
    assert_eq!(logs, [format!("connected {caller}"), format!("disconnected {caller}")]);
}
