//! `/v1/identity/…`: minting identities, the public key, token checks, and the databases
//! an identity owns.

use crate::api_error::ApiError;
use crate::auth::{mint, sign, RequiredCaller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use spacetime_sats::{Identity, Timestamp};

/// How long a WebSocket token is valid, in seconds.
const WEBSOCKET_TOKEN_SECS: i64 = 60;

/// The routes under `/v1/identity`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", post(create_identity))
        .route("/public-key", get(public_key))
        .route("/websocket-token", post(websocket_token))
        .route("/{identity}/verify", get(verify_identity))
        .route("/{identity}/databases", get(databases_of))
}

/// `POST /v1/identity`: a brand-new identity and its token.
async fn create_identity(State(state): State<AppState>) -> Json<serde_json::Value> {
    let caller = mint(state.keys());
    Json(json!({ "identity": caller.identity.to_hex().to_string(), "token": caller.token }))
}

/// `GET /v1/identity/public-key`: the PEM key that verifies this server's tokens.
async fn public_key(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        state.keys().public_pem().to_owned(),
    )
}

/// `POST /v1/identity/websocket-token`: the caller's claims re-signed with a short expiry.
async fn websocket_token(
    State(state): State<AppState>,
    RequiredCaller(caller): RequiredCaller,
) -> Json<serde_json::Value> {
    let mut claims = caller.claims;
    claims.exp = Some(Timestamp::now().to_micros_since_unix_epoch() / 1_000_000 + WEBSOCKET_TOKEN_SECS);
    Json(json!({ "token": sign(state.keys(), &claims) }))
}

/// `GET /v1/identity/:identity/verify`: 204 if the token belongs to `:identity`.
async fn verify_identity(
    Path(identity): Path<String>,
    RequiredCaller(caller): RequiredCaller,
) -> Result<StatusCode, ApiError> {
    let identity = parse_identity(&identity)?;
    if caller.identity == identity {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::BadRequest(format!(
            "the token belongs to identity {}, not {identity}",
            caller.identity
        )))
    }
}

/// `GET /v1/identity/:identity/databases`: the databases `:identity` owns.
async fn databases_of(
    State(state): State<AppState>,
    Path(identity): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let identity = parse_identity(&identity)?;
    let identities: Vec<String> = state
        .registry()
        .owned_by(identity)
        .iter()
        .map(|id| id.to_hex().to_string())
        .collect();
    Ok(Json(json!({ "identities": identities })))
}

/// Parses an identity from a URL, where it is bare hex.
pub(crate) fn parse_identity(s: &str) -> Result<Identity, ApiError> {
    Identity::from_hex(s).map_err(|e| ApiError::BadRequest(e.to_string()))
}
