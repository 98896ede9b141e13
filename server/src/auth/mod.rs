//! Identities and tokens (an identity is `Identity::from_claims(iss, sub)`): the server's
//! ES256 key pair, minting and verifying JWTs, trusted OpenID Connect issuers, and the HTTP
//! layer that attaches a caller to each request (minting a fresh identity for anonymous ones).

mod authenticator;
mod extract;
mod keys;
mod oidc;
mod token;

pub use authenticator::Authenticator;
pub use extract::{add_identity_headers, anon_auth_middleware, RequiredCaller, IDENTITY_HEADER, TOKEN_HEADER};
pub use keys::{JwtKeys, KeyError};
pub use oidc::{OidcConfigError, OidcIssuer, MIN_JWKS_REFETCH, OIDC_ISSUERS_ENV};
pub(crate) use token::random_subject;
pub use token::{mint, sign, verify, Caller, TokenClaims, TokenError, AUDIENCE, LOCAL_ISSUER};

#[cfg(test)]
mod tests {
    use spacetime_sats::Identity;

    /// The server's identities must be upstream's: vectors computed with
    /// `spacetimedb-lib` 2.10.1's `Identity::from_claims`.
    #[test]
    fn identities_match_upstream_vectors() {
        let cases = [
            (
                "localhost",
                "alice",
                "c20035600353a2e93544d898c6ed0eac323e200c0468300f22958f8b472a265d",
            ),
            (
                "https://auth.example",
                "user-42",
                "c2008a9d9352c45ecf8b43a5291704f9ac4384a30d4a22501812ea1b68da5cfa",
            ),
        ];
        for (iss, sub, hex) in cases {
            assert_eq!(Identity::from_claims(iss, sub).to_hex(), hex, "{iss}|{sub}");
        }
    }
}
