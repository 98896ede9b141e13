//! Identities derived from a token's issuer and subject.
//!
//! The derivation is SpacetimeDB's, so that the same `(iss, sub)` pair names the same
//! identity on both systems: `blake3("iss|sub")` keeps its first 26 bytes, and these
//! are prefixed (big-endian, so the hex form starts `c200`) with `0xc2 0x00` and a
//! 4-byte checksum, the first bytes of `blake3(0xc2 0x00 ‖ id_hash)`.

use spacetime_sats::Identity;

/// The two fixed leading bytes of every derived identity.
const PREFIX: [u8; 2] = [0xc2, 0x00];

/// The identity of the holder of a token with issuer `issuer` and subject `subject`.
pub fn identity_from_claims(issuer: &str, subject: &str) -> Identity {
    let first = blake3::hash(format!("{issuer}|{subject}").as_bytes());
    let id_hash = &first.as_bytes()[..26];

    let mut checksum_input = [0u8; 28];
    checksum_input[..2].copy_from_slice(&PREFIX);
    checksum_input[2..].copy_from_slice(id_hash);
    let checksum = blake3::hash(&checksum_input);

    let mut be = [0u8; 32];
    be[..2].copy_from_slice(&PREFIX);
    be[2..6].copy_from_slice(&checksum.as_bytes()[..4]);
    be[6..].copy_from_slice(id_hash);
    Identity::from_be_byte_array(be)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_identities_print_with_the_c200_prefix_and_differ_by_subject() {
        let a = identity_from_claims("localhost", "alice");
        let b = identity_from_claims("localhost", "bob");
        assert!(a.to_hex().starts_with("c200"), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, identity_from_claims("localhost", "alice"));
    }

    /// Vectors computed with `spacetimedb-lib` 2.10.1's `Identity::from_claims`.
    #[test]
    fn matches_upstream_vectors() {
        let cases = [
            ("localhost", "alice", "c20035600353a2e93544d898c6ed0eac323e200c0468300f22958f8b472a265d"),
            ("https://auth.example", "user-42", "c2008a9d9352c45ecf8b43a5291704f9ac4384a30d4a22501812ea1b68da5cfa"),
        ];
        for (iss, sub, hex) in cases {
            assert_eq!(identity_from_claims(iss, sub).to_hex(), hex, "{iss}|{sub}");
        }
    }
}
