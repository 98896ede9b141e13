//! Identities and tokens over HTTP: minting, the public key, verification, and how bad
//! tokens are answered.

use crate::support::TestServer;
use reqwest::Method;

#[tokio::test]
async fn minted_identities_are_c200_hex_and_verify_against_their_own_identity() {
    let server = TestServer::start();
    let alice = server.new_identity().await;
    let res = alice.request(Method::POST, "/v1/identity", None).await.expect(200);
    let json = res.json();
    let identity = json["identity"].as_str().unwrap().to_owned();
    assert_eq!(identity.len(), 64);
    assert!(identity.starts_with("c200"), "{identity}");

    let mut holder = server.client();
    holder.token = Some(json["token"].as_str().unwrap().to_owned());
    holder.get(&format!("/v1/identity/{identity}/verify")).await.expect(204);
    // Someone else's identity: the token does not belong to it.
    alice.get(&format!("/v1/identity/{identity}/verify")).await.expect(400);
    // No token at all.
    server
        .client()
        .get(&format!("/v1/identity/{identity}/verify"))
        .await
        .expect(401);
}

#[tokio::test]
async fn the_public_key_is_pem_and_stable_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (pem, token) = {
        let server = TestServer::start_in(dir.path());
        let res = server.client().get("/v1/identity/public-key").await.expect(200);
        assert_eq!(res.headers["content-type"], "application/pem-certificate-chain");
        assert!(res.text.starts_with("-----BEGIN PUBLIC KEY-----"), "{}", res.text);
        (res.text, server.new_identity().await.token.unwrap())
    };
    let server = TestServer::start_in(dir.path());
    assert_eq!(
        server.client().get("/v1/identity/public-key").await.expect(200).text,
        pem
    );
    // A token minted before the restart is still this instance's.
    let mut client = server.client();
    client.token = Some(token);
    client
        .request(Method::POST, "/v1/identity/websocket-token", None)
        .await
        .expect(200);
}

#[tokio::test]
async fn tokens_of_another_server_are_401_and_garbage_is_400() {
    let (ours, theirs) = (TestServer::start(), TestServer::start());
    let mut foreign = ours.client();
    foreign.token = theirs.new_identity().await.token;
    let res = foreign
        .request(Method::POST, "/v1/identity/websocket-token", None)
        .await
        .expect(401);
    assert_eq!(res.text, "Authorization failed: token not signed by this instance");

    let mut garbage = ours.client();
    garbage.token = Some("not-a-token".into());
    let res = garbage
        .request(Method::POST, "/v1/identity/websocket-token", None)
        .await
        .expect(400);
    assert!(res.text.contains("malformed token"), "{}", res.text);
}

#[tokio::test]
async fn databases_of_an_unknown_identity_is_an_empty_list_and_bad_hex_is_400() {
    let server = TestServer::start();
    let client = server.client();
    let res = client
        .get(&format!("/v1/identity/{}/databases", "c2".repeat(32)))
        .await
        .expect(200);
    assert_eq!(res.json(), serde_json::json!({ "identities": [] }));
    let res = client.get("/v1/identity/xyz/databases").await.expect(400);
    assert!(res.text.contains("64 hex digits"), "{}", res.text);
    client.get("/v1/ping").await.expect(200);
}

/// D10 (reliability findings): a token signed with the server's own key whose `exp` is a
/// string, or a past fractional number, used to be accepted as never expiring.
#[tokio::test]
async fn d10_a_string_or_past_fractional_exp_is_401() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path());
    let pem = std::fs::read(dir.path().join("id_ecdsa")).unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_pem(&pem).unwrap();
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    let sign = |exp: serde_json::Value| {
        let claims = serde_json::json!({ "iss": "localhost", "sub": "d10", "exp": exp });
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let mut client = server.client();
    for exp in [serde_json::json!("1796650817"), serde_json::json!(1_700_000_000.5)] {
        client.token = Some(sign(exp.clone()));
        let res = client.request(Method::POST, "/v1/identity/websocket-token", None).await;
        assert_eq!(res.status.as_u16(), 401, "exp {exp}: {}", res.text);
    }
    // A future fractional `exp` is a valid NumericDate.
    let future = spacetime_sats::Timestamp::now().to_micros_since_unix_epoch() as f64 / 1e6 + 600.5;
    client.token = Some(sign(serde_json::json!(future)));
    client
        .request(Method::POST, "/v1/identity/websocket-token", None)
        .await
        .expect(200);
}
