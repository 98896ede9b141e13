//! [`Uuid`]: a 128-bit universally unique identifier.

use crate::bsatn::{Decode, DecodeError, Encode};
use crate::{AlgebraicType, SpacetimeType, TypespaceBuilder};
use std::fmt;

/// A UUID. SATS type `{ __uuid__: U128 }`; the `u128` holds the UUID's 16 bytes in
/// big-endian order, so the hex form reads in the usual 8-4-4-4-12 layout.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Uuid(u128);

impl Uuid {
    /// The nil UUID.
    pub const NIL: Self = Self(0);

    /// The UUID with the given numeric value.
    pub const fn from_u128(value: u128) -> Self {
        Self(value)
    }

    /// The numeric value.
    pub const fn to_u128(self) -> u128 {
        self.0
    }

    /// Parses the hyphenated `8-4-4-4-12` form (case-insensitive), or 32 bare hex digits.
    pub fn parse_str(s: &str) -> Option<Self> {
        let groups: Vec<&str> = s.split('-').collect();
        let digits = match groups.as_slice() {
            [a, b, c, d, e] if [a.len(), b.len(), c.len(), d.len(), e.len()] == [8, 4, 4, 4, 12] => groups.concat(),
            [all] if all.len() == 32 => (*all).to_owned(),
            _ => return None,
        };
        super::parse_be_hex::<16>("uuid", &digits).ok().map(|b| Self(u128::from_be_bytes(b)))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = super::to_hex(&self.0.to_be_bytes());
        write!(f, "{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl Encode for Uuid {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out)
    }
}

impl Decode for Uuid {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        u128::decode(input).map(Self)
    }
}

impl SpacetimeType for Uuid {
    fn make_type<S: TypespaceBuilder>(_: &mut S) -> AlgebraicType {
        AlgebraicType::uuid()
    }
}
