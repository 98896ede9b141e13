//! [`AuthCtx`] and [`JwtClaims`]: how the caller of a reducer authenticated.
//!
//! A call from a client connection carries the claims of the token the client connected
//! with. The host keeps the payload and hands it out through `get_jwt`, which is only
//! called the first time a reducer asks for it ([`AuthCtx::has_jwt`] or
//! [`AuthCtx::jwt`]), so reducers that never look pay nothing.

use crate::json::{self, Json};
use crate::sys;
use core::cell::OnceCell;
use spacetime_sats::{ConnectionId, Identity};
use std::rc::Rc;

/// Authentication information about the caller of a reducer; see
/// [`ReducerContext::sender_auth`](crate::ReducerContext::sender_auth).
#[derive(Clone)]
pub struct AuthCtx {
    is_internal: bool,
    // Shared so that clones load the token at most once between them.
    jwt: Rc<LazyJwt>,
}

struct LazyJwt {
    // The connection whose token is loaded on first use; `None` once nothing is left to load.
    connection_id: Option<ConnectionId>,
    claims: OnceCell<Option<JwtClaims>>,
}

impl AuthCtx {
    /// The context of a call the database made itself (`init`, scheduled reducers): no JWT.
    pub fn internal() -> AuthCtx {
        AuthCtx {
            is_internal: true,
            jwt: Rc::new(LazyJwt {
                connection_id: None,
                claims: OnceCell::from(None),
            }),
        }
    }

    /// A context whose caller presented a token with this JSON payload; for unit tests of
    /// authorization logic.
    pub fn from_jwt_payload(jwt_payload: String) -> AuthCtx {
        let claims = OnceCell::from(Some(JwtClaims::new(jwt_payload)));
        AuthCtx {
            is_internal: false,
            jwt: Rc::new(LazyJwt {
                connection_id: None,
                claims,
            }),
        }
    }

    /// The context of a call over `connection_id`, or an internal one when there is none.
    pub(crate) fn from_connection_id_opt(connection_id: Option<ConnectionId>) -> AuthCtx {
        match connection_id {
            Some(id) => AuthCtx {
                is_internal: false,
                jwt: Rc::new(LazyJwt {
                    connection_id: Some(id),
                    claims: OnceCell::new(),
                }),
            },
            None => AuthCtx::internal(),
        }
    }

    /// Whether the database itself started this call rather than a client.
    pub fn is_internal(&self) -> bool {
        self.is_internal
    }

    /// Whether the caller presented a JWT. Always false for internal calls.
    ///
    /// # Panics
    /// If the host fails to hand over the token (see [`AuthCtx::jwt`]).
    pub fn has_jwt(&self) -> bool {
        self.jwt().is_some()
    }

    /// The claims of the caller's JWT, loaded from the host on first use.
    ///
    /// # Panics
    /// If the host call fails or the payload is not UTF-8; both mean the host broke its
    /// contract, and the reducer cannot go on without knowing who called it.
    pub fn jwt(&self) -> Option<&JwtClaims> {
        self.jwt
            .claims
            .get_or_init(|| self.jwt.connection_id.and_then(load_jwt))
            .as_ref()
    }
}

fn load_jwt(connection_id: ConnectionId) -> Option<JwtClaims> {
    let payload = sys::get_jwt(connection_id.as_le_byte_array())
        .unwrap_or_else(|e| panic!("reading the caller's JWT from the host failed: {e}"))?;
    let payload =
        String::from_utf8(payload).unwrap_or_else(|e| panic!("the host gave a JWT payload that is not UTF-8: {e}"));
    Some(JwtClaims::new(payload))
}

/// The claims of a caller's [JSON Web Token](https://en.wikipedia.org/wiki/JSON_Web_Token).
///
/// The standard claims have accessors; others can be read from [`JwtClaims::raw_payload`].
#[non_exhaustive]
pub struct JwtClaims {
    payload: String,
    parsed: OnceCell<Json>,
    audience: OnceCell<Vec<String>>,
}

impl JwtClaims {
    fn new(payload: String) -> Self {
        Self {
            payload,
            parsed: OnceCell::new(),
            audience: OnceCell::new(),
        }
    }

    fn parsed(&self) -> &Json {
        self.parsed.get_or_init(|| {
            json::parse(&self.payload).unwrap_or_else(|e| panic!("the JWT payload is not valid JSON: {e}"))
        })
    }

    fn string_claim(&self, claim: &str) -> &str {
        match self.parsed().get(claim) {
            Some(Json::String(s)) => s,
            Some(_) => panic!("the JWT's `{claim}` claim is not a string"),
            None => panic!("the JWT has no `{claim}` claim"),
        }
    }

    /// The token's subject: its `sub` claim.
    ///
    /// # Panics
    /// If the payload is not JSON or has no string `sub` claim. Tokens the server accepts
    /// always have one.
    pub fn subject(&self) -> &str {
        self.string_claim("sub")
    }

    /// The token's issuer: its `iss` claim.
    ///
    /// # Panics
    /// If the payload is not JSON or has no string `iss` claim. Tokens the server accepts
    /// always have one.
    pub fn issuer(&self) -> &str {
        self.string_claim("iss")
    }

    /// The token's audiences: its `aud` claim, a string or an array of strings; empty
    /// when the claim is absent. Non-string array elements are skipped.
    ///
    /// # Panics
    /// If the payload is not JSON, or `aud` is neither a string nor an array.
    pub fn audience(&self) -> &[String] {
        self.audience.get_or_init(|| match self.parsed().get("aud") {
            None => Vec::new(),
            Some(Json::String(s)) => vec![s.clone()],
            Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).map(str::to_owned).collect(),
            Some(_) => panic!("the JWT's `aud` claim is neither a string nor an array"),
        })
    }

    /// The identity these claims stand for, derived from the issuer and subject exactly as
    /// the server derives the caller's identity.
    pub fn identity(&self) -> Identity {
        Identity::from_claims(self.issuer(), self.subject())
    }

    /// The whole payload as JSON text, for reading custom claims.
    pub fn raw_payload(&self) -> &str {
        &self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_come_from_the_payload() {
        let payload = r#"{"iss":"localhost","sub":"alice","aud":"game","iat":1}"#;
        let auth = AuthCtx::from_jwt_payload(payload.into());
        assert!(!auth.is_internal() && auth.has_jwt());
        let claims = auth.jwt().unwrap();
        assert_eq!(
            (claims.issuer(), claims.subject(), claims.audience()),
            ("localhost", "alice", &["game".to_owned()][..])
        );
        assert_eq!(claims.raw_payload(), payload);
        // Vector from the server's identity derivation (SpacetimeDB's `from_claims`).
        assert_eq!(
            claims.identity().to_hex().as_str(),
            "c20035600353a2e93544d898c6ed0eac323e200c0468300f22958f8b472a265d"
        );

        let many = AuthCtx::from_jwt_payload(r#"{"iss":"i","sub":"s","aud":["a",1,"b"]}"#.into());
        assert_eq!(many.jwt().unwrap().audience(), ["a".to_owned(), "b".to_owned()]);
        let none = AuthCtx::from_jwt_payload(r#"{"iss":"i","sub":"s"}"#.into());
        assert!(none.jwt().unwrap().audience().is_empty());
    }

    #[test]
    fn internal_calls_have_no_token() {
        let auth = AuthCtx::internal();
        assert!(auth.is_internal() && !auth.has_jwt() && auth.jwt().is_none());
        let no_connection = AuthCtx::from_connection_id_opt(None);
        assert!(no_connection.is_internal() && !no_connection.has_jwt());
    }
}
