//! Identities and tokens: deriving an identity from `(iss, sub)`, the server's ES256 key
//! pair, minting and verifying JWTs, and the HTTP layer that attaches a caller to each
//! request (minting a fresh identity for anonymous ones).

mod extract;
mod identity;
mod keys;
mod token;

pub use extract::{add_identity_headers, anon_auth_middleware, RequiredCaller, IDENTITY_HEADER, TOKEN_HEADER};
pub use identity::identity_from_claims;
pub use keys::{JwtKeys, KeyError};
pub(crate) use token::random_subject;
pub use token::{mint, sign, verify, Caller, TokenClaims, TokenError, AUDIENCE, LOCAL_ISSUER};
