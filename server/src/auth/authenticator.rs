//! [`Authenticator`]: who signed a token decides how it is verified. This server's own
//! key first (its tokens, and those of tools sharing the key file); otherwise the
//! token's issuer must be a configured OpenID Connect issuer, whose keys verify it.

use super::keys::JwtKeys;
use super::oidc::{OidcIssuer, OidcVerifier};
use super::token::{self, Caller, TokenError, LOCAL_ISSUER};
use serde_json::{Map, Value};

/// Verifies every token a request carries; shared by all requests.
pub struct Authenticator {
    keys: JwtKeys,
    oidc: OidcVerifier,
}

impl Authenticator {
    /// An authenticator for this server's `keys` and the trusted `issuers`.
    pub fn new(keys: JwtKeys, issuers: Vec<OidcIssuer>) -> Self {
        Self {
            keys,
            oidc: OidcVerifier::new(issuers),
        }
    }

    /// This server's key pair.
    pub fn keys(&self) -> &JwtKeys {
        &self.keys
    }

    /// Verifies `token` and names its holder.
    ///
    /// # Errors
    /// As [`token::verify`] for this server's tokens; [`TokenError::UnknownIssuer`] for a
    /// token of another issuer that is not configured; as [`OidcVerifier::verify`] for a
    /// configured issuer's.
    pub async fn authenticate(&self, token: &str) -> Result<Caller, TokenError> {
        match token::verify(&self.keys, token) {
            Err(TokenError::NotSignedByThisInstance) => {}
            verified => return verified,
        }
        match unverified_issuer(token)? {
            Some(issuer) => match self.oidc.issuer(&issuer) {
                Some(trusted) => self.oidc.verify(token, trusted).await,
                None if issuer == LOCAL_ISSUER => Err(TokenError::NotSignedByThisInstance),
                None => Err(TokenError::UnknownIssuer { issuer }),
            },
            None => Err(TokenError::NotSignedByThisInstance),
        }
    }
}

/// The `iss` of a token, read without verifying it: only to pick the keys that must.
fn unverified_issuer(token: &str) -> Result<Option<String>, TokenError> {
    let data = jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(token)
        .map_err(|e| TokenError::Malformed(e.to_string()))?;
    Ok(data.claims.get("iss").and_then(Value::as_str).map(str::to_owned))
}
