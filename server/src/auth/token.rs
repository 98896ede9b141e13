//! ES256 JSON Web Tokens: the claims this server issues, signing, and verification.
//!
//! The JWS compact form is written here directly (base64url header, payload and the
//! 64-byte `r‖s` signature); only the local key pair is trusted, since a server on a
//! loopback-only network cannot fetch another issuer's keys.

use super::keys::JwtKeys;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::Signature;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use spacetime_sats::{Identity, Timestamp};

/// The issuer of tokens this server mints.
pub const LOCAL_ISSUER: &str = "localhost";
/// The audience of tokens this server mints.
pub const AUDIENCE: &str = "spacetimedb";
/// Upper bound on `sub` and `iss`, in bytes.
const MAX_CLAIM_LEN: usize = 128;

/// Why a token was refused. The HTTP layer maps each to the status the reference fixes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT at all (wrong shape, bad base64, bad JSON, unknown algorithm).
    #[error(
        "malformed token: {0}; send the token exactly as the server issued it, as `Authorization: Bearer <token>`"
    )]
    Malformed(String),
    /// Well-formed but not signed by this server's key.
    #[error("Authorization failed: token not signed by this instance")]
    NotSignedByThisInstance,
    /// Signed by this server, but its `exp` has passed.
    #[error("token expired at {0} (Unix seconds); get a new one with `POST /v1/identity`")]
    Expired(i64),
    /// Signed by this server, but its claims are unusable.
    #[error("invalid token claims: {0}")]
    InvalidClaims(String),
}

/// The claims of a token this server mints or accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The holder's identity as 64 hex digits; must match `(iss, sub)` when present.
    pub hex_identity: String,
    /// The subject.
    pub sub: String,
    /// The issuer.
    pub iss: String,
    /// The audiences (not checked, as upstream).
    pub aud: Vec<String>,
    /// Issued at, in Unix seconds.
    pub iat: i64,
    /// Expiry in Unix seconds; minted identities never expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

impl TokenClaims {
    /// Claims for `(iss, sub)` issued now, with no expiry.
    pub fn new(iss: &str, sub: &str) -> Self {
        Self {
            hex_identity: Identity::from_claims(iss, sub).to_hex().to_string(),
            sub: sub.to_owned(),
            iss: iss.to_owned(),
            aud: vec![AUDIENCE.to_owned()],
            iat: now_secs(),
            exp: None,
        }
    }

    /// The identity the claims name.
    pub fn identity(&self) -> Identity {
        Identity::from_claims(&self.iss, &self.sub)
    }
}

/// A verified caller: who they are and the token that proves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's identity.
    pub identity: Identity,
    /// The token, as sent (or as minted for an anonymous request).
    pub token: String,
    /// The token's claims.
    pub claims: TokenClaims,
}

/// Signs `claims` with the server's key, giving a compact JWS.
pub fn sign(keys: &JwtKeys, claims: &TokenClaims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT"}"#);
    let payload = serde_json::to_vec(claims).expect("token claims are plain strings and numbers");
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    let signature: Signature = keys.signing().sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// Mints a brand-new identity: a random subject issued by this server.
pub fn mint(keys: &JwtKeys) -> Caller {
    let claims = TokenClaims::new(LOCAL_ISSUER, &random_subject());
    let token = sign(keys, &claims);
    Caller {
        identity: claims.identity(),
        token,
        claims,
    }
}

/// Checks `token` against the server's key and its claims.
///
/// # Errors
/// [`TokenError::Malformed`] if it is not a JWT, [`TokenError::NotSignedByThisInstance`] if
/// another key signed it, [`TokenError::Expired`] or [`TokenError::InvalidClaims`] otherwise.
pub fn verify(keys: &JwtKeys, token: &str) -> Result<Caller, TokenError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(TokenError::Malformed(format!(
            "a JWT has 3 dot-separated parts, this one has {}",
            parts.len()
        )));
    };
    let header: Map<String, Value> = decode_json(header, "header")?;
    match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => {}
        // Algorithms upstream accepts for other issuers, whose keys we cannot fetch.
        Some("RS256" | "HS256" | "ES384" | "RS384" | "RS512" | "PS256" | "EdDSA") => {
            return Err(TokenError::NotSignedByThisInstance)
        }
        Some(other) => {
            return Err(TokenError::Malformed(format!(
                "unsupported algorithm {other:?}; tokens use ES256"
            )))
        }
        None => return Err(TokenError::Malformed("the header has no \"alg\"".into())),
    }
    let signature = decode_b64(signature, "signature")?;
    let signature = Signature::from_slice(&signature).map_err(|_| TokenError::NotSignedByThisInstance)?;
    let signing_input = &token[..token.len() - parts[2].len() - 1];
    keys.verifying()
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| TokenError::NotSignedByThisInstance)?;

    let payload: Map<String, Value> = decode_json(payload, "payload")?;
    let claims = parse_claims(&payload)?;
    if let Some(exp) = claims.exp {
        if exp <= now_secs() {
            return Err(TokenError::Expired(exp));
        }
    }
    let identity = claims.identity();
    if claims.hex_identity != identity.to_hex() {
        return Err(TokenError::InvalidClaims(format!(
            "hex_identity {} does not match the identity {identity} derived from iss and sub",
            claims.hex_identity
        )));
    }
    Ok(Caller {
        identity,
        token: token.to_owned(),
        claims,
    })
}

fn parse_claims(payload: &Map<String, Value>) -> Result<TokenClaims, TokenError> {
    let required = |name: &str| -> Result<String, TokenError> {
        let value = payload.get(name).and_then(Value::as_str).unwrap_or_default();
        if value.is_empty() || value.len() > MAX_CLAIM_LEN {
            return Err(TokenError::InvalidClaims(format!(
                "\"{name}\" must be a non-empty string of at most {MAX_CLAIM_LEN} bytes"
            )));
        }
        Ok(value.to_owned())
    };
    let (sub, iss) = (required("sub")?, required("iss")?);
    let hex_identity = match payload.get("hex_identity") {
        None | Some(Value::Null) => Identity::from_claims(&iss, &sub).to_hex(),
        Some(Value::String(hex)) => Identity::from_hex(hex)
            .map_err(|e| TokenError::InvalidClaims(e.to_string()))?
            .to_hex(),
        Some(_) => {
            return Err(TokenError::InvalidClaims(
                "\"hex_identity\" must be a hex string".into(),
            ))
        }
    };
    let aud = match payload.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let number = |name: &str| payload.get(name).and_then(Value::as_i64);
    Ok(TokenClaims {
        hex_identity: hex_identity.to_string(),
        sub,
        iss,
        aud,
        iat: number("iat").unwrap_or(0),
        exp: number("exp"),
    })
}

fn decode_b64(part: &str, what: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .or_else(|_| URL_SAFE.decode(part))
        .map_err(|e| TokenError::Malformed(format!("the {what} is not base64url: {e}")))
}

fn decode_json(part: &str, what: &str) -> Result<Map<String, Value>, TokenError> {
    serde_json::from_slice(&decode_b64(part, what)?)
        .map_err(|e| TokenError::Malformed(format!("the {what} is not a JSON object: {e}")))
}

/// A random UUIDv4-formatted subject, for minted identities and new databases.
pub(crate) fn random_subject() -> String {
    use rand_core::RngCore;
    let mut b = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn now_secs() -> i64 {
    Timestamp::now().to_micros_since_unix_epoch() / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_and_carry_the_claims_upstream_uses() {
        let keys = JwtKeys::generate();
        let caller = mint(&keys);
        assert!(caller.identity.to_hex().starts_with("c200"));
        let back = verify(&keys, &caller.token).unwrap();
        assert_eq!(back, caller);
        assert_eq!(back.claims.iss, "localhost");
        assert_eq!(back.claims.aud, vec!["spacetimedb".to_owned()]);
        assert_eq!(back.claims.hex_identity, caller.identity.to_hex());
    }

    #[test]
    fn a_token_from_another_key_is_not_signed_by_this_instance() {
        let token = mint(&JwtKeys::generate()).token;
        assert_eq!(
            verify(&JwtKeys::generate(), &token),
            Err(TokenError::NotSignedByThisInstance)
        );
    }

    #[test]
    fn garbage_is_malformed_and_a_tampered_payload_fails_the_signature() {
        let keys = JwtKeys::generate();
        assert!(matches!(verify(&keys, "not-a-jwt"), Err(TokenError::Malformed(_))));
        assert!(matches!(verify(&keys, "a.b.c"), Err(TokenError::Malformed(_))));

        let token = mint(&keys).token;
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let forged = TokenClaims::new(LOCAL_ISSUER, "someone-else");
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            verify(&keys, &parts.join(".")),
            Err(TokenError::NotSignedByThisInstance)
        );
    }

    #[test]
    fn expired_and_mismatched_claims_are_refused() {
        let keys = JwtKeys::generate();
        let mut claims = TokenClaims::new(LOCAL_ISSUER, "x");
        claims.exp = Some(1);
        assert_eq!(verify(&keys, &sign(&keys, &claims)), Err(TokenError::Expired(1)));

        let mut claims = TokenClaims::new(LOCAL_ISSUER, "x");
        claims.hex_identity = Identity::from_claims(LOCAL_ISSUER, "y").to_hex().to_string();
        assert!(matches!(
            verify(&keys, &sign(&keys, &claims)),
            Err(TokenError::InvalidClaims(_))
        ));
    }
}
