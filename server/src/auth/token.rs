//! JSON Web Tokens: the claims this server issues, signing them with its ES256 key, and
//! verifying a token against a key, which every issuer (this server and configured
//! OpenID Connect issuers) shares. The JWS work (framing, signatures, `exp`) is
//! jsonwebtoken's; what is ours is which claims an identity needs.

use super::keys::JwtKeys;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use spacetime_sats::{Identity, Timestamp};
use std::sync::Arc;

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
    /// Well-formed but not signed by this server's key, and its issuer is not configured.
    #[error("Authorization failed: token not signed by this instance")]
    NotSignedByThisInstance,
    /// Its `exp` has passed.
    #[error("token expired at {0} (Unix seconds); get a new one with `POST /v1/identity`")]
    Expired(i64),
    /// Its `exp` is present but not a number (RFC 7519 NumericDate).
    #[error("invalid token: \"exp\" must be a number of seconds since the Unix epoch; get a new token")]
    MalformedExpiry,
    /// A configured issuer's token whose `aud` does not name the audience configured for it.
    #[error(
        "Authorization failed: the token's \"aud\" does not name the audience configured for its issuer; get a token for this server's audience"
    )]
    WrongAudience,
    /// Signed by a trusted key, but its claims are unusable.
    #[error("invalid token claims: {0}")]
    InvalidClaims(String),
    /// Not signed by this server, and its issuer is not one this server trusts.
    #[error(
        "Authorization failed: token not signed by this instance, and its issuer {issuer:?} is not a configured \
         OpenID Connect issuer; add it to SPACETIME_OIDC_ISSUERS (e.g. `{issuer}` or `{issuer}|<audience>`) and restart"
    )]
    UnknownIssuer {
        /// The token's `iss`.
        issuer: String,
    },
    /// A configured issuer's token that its keys do not verify, or whose keys cannot be had.
    #[error("Authorization failed for issuer {issuer:?}: {reason}")]
    IssuerRefused {
        /// The token's `iss`.
        issuer: String,
        /// What went wrong.
        reason: String,
    },
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
    /// The audiences (not checked for this server's own tokens, as upstream).
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
    /// The token's payload JSON exactly as signed: what `ctx.sender_auth().jwt()` reads.
    pub payload: Arc<str>,
}

/// Signs `claims` with the server's key, giving a compact JWS.
pub fn sign(keys: &JwtKeys, claims: &TokenClaims) -> String {
    let header = Header::new(Algorithm::ES256);
    jsonwebtoken::encode(&header, claims, keys.encoding()).expect("ES256 signing of plain claims with a valid key")
}

/// Mints a brand-new identity: a random subject issued by this server.
pub fn mint(keys: &JwtKeys) -> Caller {
    let claims = TokenClaims::new(LOCAL_ISSUER, &random_subject());
    let token = sign(keys, &claims);
    let payload = payload_of(&token).unwrap_or_default();
    Caller {
        identity: claims.identity(),
        token,
        claims,
        payload,
    }
}

/// Checks `token` against the server's key and its claims.
///
/// # Errors
/// [`TokenError::Malformed`] if it is not a JWT, [`TokenError::NotSignedByThisInstance`] if
/// another key signed it, [`TokenError::Expired`], [`TokenError::MalformedExpiry`] or
/// [`TokenError::InvalidClaims`] otherwise.
pub fn verify(keys: &JwtKeys, token: &str) -> Result<Caller, TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| malformed(&e))?;
    if header.alg != Algorithm::ES256 {
        return Err(TokenError::NotSignedByThisInstance);
    }
    verify_with(token, keys.decoding(), validation(Algorithm::ES256, None))
}

/// What jsonwebtoken checks for every issuer: the signature with `alg`, and the audience
/// only when `audience` is given. `exp` is checked by [`check_expiry`] instead: the
/// workspace builds serde_json with `arbitrary_precision` (for SATS-JSON), under which
/// jsonwebtoken cannot read a fractional `exp` and would refuse it as malformed.
pub(super) fn validation(alg: Algorithm, audience: Option<&str>) -> Validation {
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    match audience {
        Some(aud) => {
            validation.set_audience(&[aud]);
            validation.required_spec_claims.insert("aud".to_owned());
        }
        None => validation.validate_aud = false,
    }
    validation
}

/// Verifies `token` with `key` under `validation`, then reads the claims an identity needs.
pub(super) fn verify_with(token: &str, key: &DecodingKey, validation: Validation) -> Result<Caller, TokenError> {
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm | ErrorKind::InvalidEcdsaKey => {
            TokenError::NotSignedByThisInstance
        }
        ErrorKind::InvalidAudience | ErrorKind::MissingRequiredClaim(_) => TokenError::WrongAudience,
        _ => malformed(&e),
    })?;
    check_expiry(&data.claims)?;
    let claims = parse_claims(&data.claims)?;
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
        payload: payload_of(token)?,
    })
}

fn malformed(e: &jsonwebtoken::errors::Error) -> TokenError {
    TokenError::Malformed(e.to_string())
}

/// The payload JSON of a compact JWS, exactly as signed.
fn payload_of(token: &str) -> Result<Arc<str>, TokenError> {
    let part = token.split('.').nth(1).unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| TokenError::Malformed(format!("the payload is not base64url: {e}")))?;
    String::from_utf8(bytes)
        .map(Arc::from)
        .map_err(|_| TokenError::Malformed("the payload is not UTF-8".into()))
}

/// Refuses a token whose `exp` (RFC 7519 NumericDate: seconds, possibly fractional) has
/// passed, or is present but not a number.
fn check_expiry(payload: &Map<String, Value>) -> Result<(), TokenError> {
    let exp = match payload.get("exp") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Number(n)) => n.as_f64().filter(|exp| exp.is_finite()),
        Some(_) => None,
    };
    let exp = exp.ok_or(TokenError::MalformedExpiry)?;
    let now = Timestamp::now().to_micros_since_unix_epoch() as f64 / 1e6;
    if exp <= now {
        return Err(TokenError::Expired(exp.floor() as i64));
    }
    Ok(())
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
    // `check_expiry` has already refused a non-numeric `exp` and compared a fractional
    // one; the claims keep its whole seconds.
    let seconds = |name: &str| payload.get(name).and_then(Value::as_f64).map(|s| s.floor() as i64);
    Ok(TokenClaims {
        hex_identity: hex_identity.to_string(),
        sub,
        iss,
        aud,
        iat: seconds("iat").unwrap_or(0),
        exp: seconds("exp"),
    })
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

    /// Signs an arbitrary payload with the server's key, as another tool sharing it might.
    fn sign_json(keys: &JwtKeys, payload: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &payload, keys.encoding()).unwrap()
    }

    /// D10 (reliability findings): a string `exp` used to count as "never expires".
    #[test]
    fn d10_a_string_exp_refuses_the_token() {
        let keys = JwtKeys::generate();
        let token = sign_json(
            &keys,
            serde_json::json!({ "iss": LOCAL_ISSUER, "sub": "x", "exp": "1796650817" }),
        );
        assert_eq!(verify(&keys, &token), Err(TokenError::MalformedExpiry));
    }

    /// D10: a fractional `exp` is a NumericDate and is compared, not ignored.
    #[test]
    fn d10_a_fractional_exp_is_compared() {
        let keys = JwtKeys::generate();
        let past = sign_json(
            &keys,
            serde_json::json!({ "iss": LOCAL_ISSUER, "sub": "x", "exp": 1_000_000_000.5 }),
        );
        assert_eq!(verify(&keys, &past), Err(TokenError::Expired(1_000_000_000)));

        let later = now_secs() as f64 + 3600.25;
        let future = sign_json(
            &keys,
            serde_json::json!({ "iss": LOCAL_ISSUER, "sub": "x", "exp": later }),
        );
        let caller = verify(&keys, &future).unwrap();
        assert_eq!(caller.claims.exp, Some(later.floor() as i64));
    }

    #[test]
    fn the_payload_is_the_signed_json() {
        let keys = JwtKeys::generate();
        let token = sign_json(
            &keys,
            serde_json::json!({ "iss": LOCAL_ISSUER, "sub": "p", "role": "admin" }),
        );
        let caller = verify(&keys, &token).unwrap();
        let payload: serde_json::Value = serde_json::from_str(&caller.payload).unwrap();
        assert_eq!(payload["role"], "admin");
        assert_eq!(caller.identity, Identity::from_claims(LOCAL_ISSUER, "p"));
    }
}
