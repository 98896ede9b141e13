//! OpenID Connect issuers this server trusts besides itself: their configuration
//! (`SPACETIME_OIDC_ISSUERS`), their signing keys (the discovery document's `jwks_uri`,
//! fetched on first use and cached), and verifying their tokens (RS256 or ES256, `aud`
//! when configured). Identities come from `(iss, sub)` as for this server's own tokens.

use super::token::{validation, verify_with, Caller, TokenError};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The environment variable listing trusted issuers: comma-separated entries, each an
/// issuer URL optionally followed by `|` and the audience its tokens must carry, e.g.
/// `https://accounts.example.com|my-client-id,https://auth.example.org`.
pub const OIDC_ISSUERS_ENV: &str = "SPACETIME_OIDC_ISSUERS";

/// Keys are fetched again for an unknown `kid` (the issuer rotated its keys) at most this
/// often per issuer, so tokens with made-up `kid`s cannot make the server hammer it.
pub const MIN_JWKS_REFETCH: Duration = Duration::from_secs(30);

/// How long a discovery or JWKS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// An OpenID Connect issuer whose tokens this server accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcIssuer {
    /// The issuer URL, exactly as its tokens' `iss` claim spells it.
    pub issuer: String,
    /// The audience its tokens must name in `aud`; any audience when `None`.
    pub audience: Option<String>,
}

/// Why an issuer list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid {OIDC_ISSUERS_ENV} entry {entry:?}: {reason}; write `<issuer URL>` or `<issuer URL>|<audience>`, comma-separated"
)]
pub struct OidcConfigError {
    /// The entry.
    pub entry: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl OidcIssuer {
    /// Parses the [`OIDC_ISSUERS_ENV`] format; empty entries are skipped.
    ///
    /// # Errors
    /// An entry whose issuer is not an `http://` or `https://` URL, or whose audience is empty.
    pub fn parse_list(list: &str) -> Result<Vec<Self>, OidcConfigError> {
        let mut issuers = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let error = |reason| OidcConfigError {
                entry: entry.to_owned(),
                reason,
            };
            let (issuer, audience) = match entry.split_once('|') {
                Some((_, audience)) if audience.trim().is_empty() => return Err(error("the audience is empty")),
                Some((issuer, audience)) => (issuer.trim(), Some(audience.trim().to_owned())),
                None => (entry, None),
            };
            if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
                return Err(error("the issuer must be an http:// or https:// URL"));
            }
            issuers.push(Self {
                issuer: issuer.to_owned(),
                audience,
            });
        }
        Ok(issuers)
    }
}

/// An issuer's keys as last fetched.
struct CachedKeys {
    keys: JwkSet,
    fetched: Instant,
}

/// Verifies tokens of the configured issuers, caching each issuer's keys.
pub(crate) struct OidcVerifier {
    issuers: Vec<OidcIssuer>,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<HashMap<String, CachedKeys>>,
}

impl OidcVerifier {
    /// A verifier trusting `issuers`.
    pub(crate) fn new(issuers: Vec<OidcIssuer>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            issuers,
            http,
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The configuration of `issuer`, if it is trusted.
    pub(crate) fn issuer(&self, issuer: &str) -> Option<&OidcIssuer> {
        self.issuers.iter().find(|i| i.issuer == issuer)
    }

    /// Verifies `token`, whose unverified `iss` is the trusted `issuer`.
    ///
    /// # Errors
    /// [`TokenError::IssuerRefused`] if the algorithm is not RS256 or ES256, no key of the
    /// issuer matches, or its keys cannot be fetched; otherwise as for this server's tokens.
    pub(crate) async fn verify(&self, token: &str, issuer: &OidcIssuer) -> Result<Caller, TokenError> {
        let refused = |reason: String| TokenError::IssuerRefused {
            issuer: issuer.issuer.clone(),
            reason,
        };
        let header = jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(refused(format!(
                "algorithm {:?} is not accepted; issuers must sign with RS256 or ES256",
                header.alg
            )));
        }
        let key = self.key_for(issuer, header.kid.as_deref()).await.map_err(refused)?;
        let key = DecodingKey::from_jwk(&key).map_err(|e| refused(format!("its key is unusable: {e}")))?;
        let caller =
            verify_with(token, &key, validation(header.alg, issuer.audience.as_deref())).map_err(|e| match e {
                TokenError::NotSignedByThisInstance => refused("the signature does not verify with its keys".into()),
                other => other,
            })?;
        Ok(caller)
    }

    /// The issuer's key named `kid` (or its only key when the token names none), fetching
    /// the keys if none are cached, or again if `kid` is unknown and the last fetch is at
    /// least [`MIN_JWKS_REFETCH`] old.
    async fn key_for(&self, issuer: &OidcIssuer, kid: Option<&str>) -> Result<Jwk, String> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.get(&issuer.issuer) {
            if let Some(key) = find_key(&cached.keys, kid) {
                return Ok(key);
            }
            if cached.fetched.elapsed() < MIN_JWKS_REFETCH {
                return Err(unknown_key(kid));
            }
        }
        let keys = self.fetch_keys(&issuer.issuer).await?;
        let key = find_key(&keys, kid);
        cache.insert(
            issuer.issuer.clone(),
            CachedKeys {
                keys,
                fetched: Instant::now(),
            },
        );
        key.ok_or_else(|| unknown_key(kid))
    }

    /// Fetches the discovery document, then the key set it points at.
    async fn fetch_keys(&self, issuer: &str) -> Result<JwkSet, String> {
        let discovery_url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let discovery: serde_json::Value = self.get_json(&discovery_url).await?;
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("its discovery document {discovery_url} has no \"jwks_uri\""))?;
        self.get_json(jwks_uri).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("cannot fetch {url}: {e}"))?;
        let body = response.bytes().await.map_err(|e| format!("cannot read {url}: {e}"))?;
        serde_json::from_slice(&body).map_err(|e| format!("{url} is not the JSON expected: {e}"))
    }
}

fn find_key(keys: &JwkSet, kid: Option<&str>) -> Option<Jwk> {
    match kid {
        Some(kid) => keys.find(kid).cloned(),
        None if keys.keys.len() == 1 => keys.keys.first().cloned(),
        None => None,
    }
}

fn unknown_key(kid: Option<&str>) -> String {
    match kid {
        Some(kid) => format!("no key with kid {kid:?} in its JWKS"),
        None => "the token names no \"kid\" and the issuer has more than one key".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_list_parses_and_bad_entries_name_the_format() {
        let list = OidcIssuer::parse_list(" https://a.example|client-1 , http://127.0.0.1:9/x,").unwrap();
        assert_eq!(
            list,
            vec![
                OidcIssuer {
                    issuer: "https://a.example".into(),
                    audience: Some("client-1".into())
                },
                OidcIssuer {
                    issuer: "http://127.0.0.1:9/x".into(),
                    audience: None
                },
            ]
        );
        let err = OidcIssuer::parse_list("accounts.example").unwrap_err();
        assert!(err.to_string().contains("<issuer URL>|<audience>"), "{err}");
        assert!(OidcIssuer::parse_list("https://a.example|").is_err());
    }
}
