//! [`Identity`]: who a client, a caller or a database is.

use super::{parse_be_hex, to_hex, HexError};
use crate::bsatn::{take_array, Decode, DecodeError, Encode};
use crate::{u256, AlgebraicType, SpacetimeType, TypespaceBuilder};
use std::fmt;
use std::str::FromStr;

/// A 256-bit identity. SATS type `{ __identity__: U256 }`.
///
/// BSATN and the module ABI carry it as 32 little-endian bytes; its hex form (as
/// printed by the CLI and used in URLs) is big-endian, so identities minted by the
/// server print as `c200…`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Identity(u256);

impl Identity {
    /// The all-zero identity.
    pub const ZERO: Self = Self(u256::ZERO);

    /// The identity with the given numeric value.
    pub const fn from_u256(value: u256) -> Self {
        Self(value)
    }

    /// The numeric value.
    pub const fn to_u256(self) -> u256 {
        self.0
    }

    /// From 32 little-endian bytes (the BSATN and ABI order).
    pub fn from_byte_array(bytes: [u8; 32]) -> Self {
        Self(u256::from_le_bytes(bytes))
    }

    /// The 32 little-endian bytes (the BSATN and ABI order).
    pub fn to_byte_array(self) -> [u8; 32] {
        self.0.to_le_bytes()
    }

    /// From 32 big-endian bytes (the hex order).
    pub fn from_be_byte_array(bytes: [u8; 32]) -> Self {
        Self(u256::from_be_bytes(bytes))
    }

    /// The 32 big-endian bytes (the hex order).
    pub fn to_be_byte_array(self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// The 64-digit lower-case big-endian hex form.
    pub fn to_hex(self) -> String {
        to_hex(&self.to_be_byte_array())
    }

    /// Parses the 64-digit hex form, with or without `0x`.
    ///
    /// # Errors
    /// Returns [`HexError`] unless `hex` is exactly 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, HexError> {
        parse_be_hex::<32>("identity", hex).map(Self::from_be_byte_array)
    }

    /// The first 16 hex digits, for log lines and short displays.
    pub fn abbreviate(self) -> String {
        self.to_hex()[..16].to_owned()
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.to_hex())
    }
}

impl FromStr for Identity {
    type Err = HexError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl Encode for Identity {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_byte_array());
    }
}

impl Decode for Identity {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        take_array(input).map(Self::from_byte_array)
    }
}

impl SpacetimeType for Identity {
    fn make_type<S: TypespaceBuilder>(_: &mut S) -> AlgebraicType {
        AlgebraicType::identity()
    }
}
