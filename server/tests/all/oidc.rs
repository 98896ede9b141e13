//! OpenID Connect issuers (issue 12): a local issuer on 127.0.0.1 serving its discovery
//! document and JWKS, signing RS256 and ES256 tokens. Its tokens are accepted with
//! identities from `(iss, sub)` and their claims reach the module; a token of an
//! unconfigured issuer, or for another audience, is refused.

use crate::modules::{wasm, HOST_TEST};
use crate::support::{Body, Client, TestServer};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use reqwest::Method;
use serde_json::{json, Value};
use spacetime_protocol::compression::decompress;
use spacetime_protocol::v2::{self, CallFlags, CallReducer, ClientMessage, ReducerOutcome, ServerMessage};
use spacetime_sats::Identity;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const AUDIENCE: &str = "spacetime-test";
/// A 2048-bit RSA key made for this test only, and its modulus as base64url.
const RSA_KEY: &str = include_str!("fixtures/oidc_rsa_key.pem");
const RSA_N: &str = include_str!("fixtures/oidc_rsa_n.txt");

/// An issuer on loopback: its URL and the keys it signs with.
struct Issuer {
    url: String,
    rsa: EncodingKey,
    ec: EncodingKey,
    /// How often its JWKS was fetched.
    jwks_fetches: Arc<AtomicUsize>,
}

impl Issuer {
    /// Serves `/.well-known/openid-configuration` and `/jwks` on a free port.
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let ec_key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let point = ec_key.verifying_key().to_encoded_point(false);
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let jwks = json!({ "keys": [
            { "kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig", "n": RSA_N.trim(), "e": "AQAB" },
            { "kty": "EC", "kid": "ec-1", "alg": "ES256", "use": "sig", "crv": "P-256",
              "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()) },
        ]});
        let discovery = json!({ "issuer": url, "jwks_uri": format!("{url}/jwks") });
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let fetches = jwks_fetches.clone();
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(discovery) }),
            )
            .route(
                "/jwks",
                get(move || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    Json(jwks)
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let ec_pem = ec_key.to_pkcs8_pem(LineEnding::LF).unwrap();
        Self {
            url,
            rsa: EncodingKey::from_rsa_pem(RSA_KEY.as_bytes()).unwrap(),
            ec: EncodingKey::from_ec_pem(ec_pem.as_bytes()).unwrap(),
            jwks_fetches,
        }
    }

    /// A token for `sub` signed with `alg`, carrying `aud` and a `role` claim.
    fn token(&self, alg: Algorithm, sub: &str, aud: &str) -> String {
        let (kid, key) = match alg {
            Algorithm::RS256 => ("rsa-1", &self.rsa),
            _ => ("ec-1", &self.ec),
        };
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        let claims = json!({ "iss": self.url, "sub": sub, "aud": aud, "role": "player" });
        jsonwebtoken::encode(&header, &claims, key).unwrap()
    }
}

fn holding(client: &Client, token: String) -> Client {
    Client {
        token: Some(token),
        ..client.clone()
    }
}

#[tokio::test]
async fn tokens_of_a_configured_issuer_are_accepted_and_their_claims_reach_the_module() {
    let issuer = Issuer::start().await;
    let stranger = Issuer::start().await;
    let trusted = spacetime_server::auth::OidcIssuer {
        issuer: issuer.url.clone(),
        audience: Some(AUDIENCE.into()),
    };
    let server = TestServer::start_with(|config| config.oidc_issuers = vec![trusted]);
    let owner = server.new_identity().await;
    owner.publish(Some("oidc"), wasm(HOST_TEST)).await.expect(200);

    for (alg, sub) in [(Algorithm::RS256, "rs-user"), (Algorithm::ES256, "es-user")] {
        let client = holding(&owner, issuer.token(alg, sub, AUDIENCE));
        let res = client.call("oidc", "record_jwt", json!([])).await.expect(200);
        let expected = Identity::from_claims(&issuer.url, sub).to_hex().to_string();
        assert_eq!(res.headers["spacetime-identity"], expected.as_str(), "{alg:?}");
    }

    let res = owner
        .request(
            Method::POST,
            "/v1/database/oidc/sql",
            Some(Body::Text("SELECT subject, issuer, payload FROM jwt_seen".into())),
        )
        .await
        .expect(200);
    let mut rows = res.json()[0]["rows"].as_array().expect("rows").clone();
    rows.sort_by_key(|row| row[0].as_str().map(str::to_owned));
    let seen: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str().unwrap(), r[1].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [("es-user", issuer.url.as_str()), ("rs-user", issuer.url.as_str())]
    );
    let payload: Value = serde_json::from_str(rows[0][2].as_str().unwrap()).unwrap();
    assert_eq!(payload["role"], "player");

    // Another audience: refused.
    let wrong_aud = holding(&owner, issuer.token(Algorithm::RS256, "rs-user", "someone-else"));
    let res = wrong_aud.call("oidc", "record_jwt", json!([])).await.expect(401);
    assert!(res.text.contains("aud"), "{}", res.text);

    // An issuer nobody configured: refused, naming it and how to trust it.
    let unknown = holding(&owner, stranger.token(Algorithm::ES256, "x", AUDIENCE));
    let res = unknown.call("oidc", "record_jwt", json!([])).await.expect(401);
    assert!(res.text.contains(&stranger.url), "{}", res.text);
    assert!(res.text.contains("SPACETIME_OIDC_ISSUERS"), "{}", res.text);

    // The configured issuer's name with a key it does not publish: refused.
    let forged = {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("ec-1".into());
        let claims = json!({ "iss": issuer.url, "sub": "forged", "aud": AUDIENCE });
        jsonwebtoken::encode(&header, &claims, &stranger.ec).unwrap()
    };
    holding(&owner, forged)
        .call("oidc", "record_jwt", json!([]))
        .await
        .expect(401);

    // The keys were fetched once and cached; a `kid` the issuer does not publish does not
    // fetch them again within `MIN_JWKS_REFETCH` of the last fetch.
    let unknown_kid = {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("ec-2".into());
        let claims = json!({ "iss": issuer.url, "sub": "rotated", "aud": AUDIENCE });
        jsonwebtoken::encode(&header, &claims, &issuer.ec).unwrap()
    };
    for _ in 0..3 {
        let res = holding(&owner, unknown_kid.clone())
            .call("oidc", "record_jwt", json!([]))
            .await
            .expect(401);
        assert!(res.text.contains("ec-2"), "{}", res.text);
    }
    assert_eq!(issuer.jwks_fetches.load(Ordering::SeqCst), 1);
}

/// Opens a v2 WebSocket to `db` holding `token`: the `InitialConnection`'s identity and
/// the socket, or the refusal's status and body.
async fn ws_connect(
    server: &TestServer,
    db: &str,
    token: &str,
) -> Result<(Identity, WebSocketStream<MaybeTlsStream<TcpStream>>), String> {
    let url = format!("ws://{}/v1/database/{db}/subscribe?compression=None", server.addr);
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("sec-websocket-protocol", v2::BIN_PROTOCOL.parse().unwrap());
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let mut socket = match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => socket,
        Err(WsError::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            return Err(format!("{} {body}", response.status()));
        }
        Err(e) => panic!("the handshake failed below HTTP: {e}"),
    };
    match next_message(&mut socket).await {
        ServerMessage::InitialConnection(hello) => Ok((hello.identity, socket)),
        other => panic!("the first message must be InitialConnection, got {other:?}"),
    }
}

/// The next binary server message on `socket`, failing after 10 s.
async fn next_message(socket: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) -> ServerMessage {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a server message within 10 s")
            .expect("the socket is open")
            .expect("a valid frame");
        if let Message::Binary(payload) = frame {
            return ServerMessage::from_bytes(&decompress(&payload).unwrap()).unwrap();
        }
    }
}

#[tokio::test]
async fn websocket_clients_holding_an_issuers_token_get_its_identity_and_claims() {
    let issuer = Issuer::start().await;
    let stranger = Issuer::start().await;
    let trusted = spacetime_server::auth::OidcIssuer {
        issuer: issuer.url.clone(),
        audience: Some(AUDIENCE.into()),
    };
    let server = TestServer::start_with(|config| config.oidc_issuers = vec![trusted]);
    let owner = server.new_identity().await;
    owner.publish(Some("oidc-ws"), wasm(HOST_TEST)).await.expect(200);

    let token = issuer.token(Algorithm::ES256, "ws-user", AUDIENCE);
    let (identity, mut socket) = ws_connect(&server, "oidc-ws", &token).await.expect("connects");
    assert_eq!(identity, Identity::from_claims(&issuer.url, "ws-user"));

    let call = CallReducer {
        request_id: 7,
        flags: CallFlags::Default,
        reducer: "record_jwt".into(),
        args: Vec::new(),
    };
    socket
        .send(Message::Binary(ClientMessage::CallReducer(call).to_bytes().into()))
        .await
        .unwrap();
    match next_message(&mut socket).await {
        ServerMessage::ReducerResult(result) => {
            assert_eq!(result.request_id, 7);
            assert!(matches!(result.result, ReducerOutcome::Ok(_)), "{:?}", result.result);
        }
        other => panic!("expected the ReducerResult, got {other:?}"),
    }

    // The module saw the WebSocket caller's claims, as it does an HTTP caller's.
    let res = owner
        .request(
            Method::POST,
            "/v1/database/oidc-ws/sql",
            Some(Body::Text("SELECT subject, issuer, payload FROM jwt_seen".into())),
        )
        .await
        .expect(200);
    let rows = res.json()[0]["rows"].as_array().expect("rows").clone();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], "ws-user");
    assert_eq!(rows[0][1], issuer.url.as_str());
    let payload: Value = serde_json::from_str(rows[0][2].as_str().unwrap()).unwrap();
    assert_eq!(payload["role"], "player");

    // A token of an issuer nobody configured is refused at the handshake, naming it.
    let refused = ws_connect(&server, "oidc-ws", &stranger.token(Algorithm::RS256, "x", AUDIENCE))
        .await
        .map(|(identity, _)| identity)
        .expect_err("an unconfigured issuer's token is refused");
    assert!(refused.starts_with("401"), "{refused}");
    assert!(refused.contains(&stranger.url), "{refused}");
}
