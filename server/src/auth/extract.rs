//! The HTTP side of auth: which token a request carries, and the middleware that turns
//! it into a [`Caller`] (minting a new identity when there is none).
//!
//! The caller's identity and token go back in the `spacetime-identity` and
//! `spacetime-identity-token` headers of every response, so an anonymous client learns
//! the identity it was given.

use super::authenticator::Authenticator;
use super::token::{mint, Caller};
use crate::api_error::ApiError;
use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Header carrying the caller's identity (hex) on every authenticated response.
pub const IDENTITY_HEADER: &str = "spacetime-identity";
/// Header carrying the caller's token on every authenticated response.
pub const TOKEN_HEADER: &str = "spacetime-identity-token";

/// The bearer token of a request: the `Authorization` header, else a `?token=` query
/// parameter that looks like a JWT (publish also uses `token=` for a migration hash,
/// which has no dots).
fn request_token(parts: &Parts) -> Result<Option<String>, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| ApiError::BadRequest("the Authorization header is not ASCII; send `Bearer <token>`".into()))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::BadRequest("the Authorization header must be `Bearer <token>`".into()))?;
        return Ok(Some(token.trim().to_owned()));
    }
    let query = parts.uri.query().unwrap_or_default();
    Ok(query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("token="))
        .find(|t| t.contains('.'))
        .map(str::to_owned))
}

/// Middleware for routes open to anyone: verifies the request's token or mints a new
/// identity, stores the [`Caller`] as a request extension, and adds the identity headers.
pub async fn anon_auth_middleware(State(auth): State<Arc<Authenticator>>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match request_token(&parts) {
        Ok(Some(token)) => auth.authenticate(&token).await.map_err(ApiError::from),
        Ok(None) => Ok(mint(auth.keys())),
        Err(e) => Err(e),
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    parts.extensions.insert(caller.clone());
    let mut response = next.run(Request::from_parts(parts, body)).await;
    add_identity_headers(&mut response, &caller);
    response
}

/// Adds the `spacetime-identity` headers for `caller` to `response`.
pub fn add_identity_headers(response: &mut Response, caller: &Caller) {
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&caller.identity.to_hex()) {
        headers.insert(IDENTITY_HEADER, id);
    }
    if let Ok(token) = HeaderValue::from_str(&caller.token) {
        headers.insert(TOKEN_HEADER, token);
    }
}

/// An extractor for routes that need a real token: no token is a 401.
pub struct RequiredCaller(pub Caller);

impl<S> FromRequestParts<S> for RequiredCaller
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<Authenticator>::from_ref(state);
        let token = request_token(parts)?.ok_or_else(|| {
            ApiError::Unauthorized("this route needs a token: send `Authorization: Bearer <token>`".into())
        })?;
        Ok(Self(auth.authenticate(&token).await?))
    }
}
