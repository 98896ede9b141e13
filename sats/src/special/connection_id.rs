//! [`ConnectionId`]: one connection of a client to a database.

use super::{parse_be_hex, to_hex, HexError};
use crate::bsatn::{Decode, DecodeError, Encode};
use crate::{AlgebraicType, SpacetimeType, TypespaceBuilder};
use std::fmt;

/// A 128-bit connection id. SATS type `{ __connection_id__: U128 }`.
///
/// Zero means "no connection" at the ABI (for example for scheduled reducers).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConnectionId(u128);

impl ConnectionId {
    /// The zero connection id, meaning none.
    pub const ZERO: Self = Self(0);

    /// The connection id with the given numeric value.
    pub const fn from_u128(value: u128) -> Self {
        Self(value)
    }

    /// The numeric value.
    pub const fn to_u128(self) -> u128 {
        self.0
    }

    /// From 16 little-endian bytes (the BSATN and ABI order).
    pub fn from_le_byte_array(bytes: [u8; 16]) -> Self {
        Self(u128::from_le_bytes(bytes))
    }

    /// The 16 little-endian bytes (the BSATN and ABI order).
    pub fn to_le_byte_array(self) -> [u8; 16] {
        self.0.to_le_bytes()
    }

    /// `None` for the zero id, which the ABI uses to mean no connection.
    pub fn none_if_zero(self) -> Option<Self> {
        (self != Self::ZERO).then_some(self)
    }

    /// The 32-digit lower-case big-endian hex form.
    pub fn to_hex(self) -> String {
        to_hex(&self.0.to_be_bytes())
    }

    /// Parses the 32-digit hex form, with or without `0x`.
    ///
    /// # Errors
    /// Returns [`HexError`] unless `hex` is exactly 32 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, HexError> {
        parse_be_hex::<16>("connection id", hex).map(|b| Self(u128::from_be_bytes(b)))
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionId({})", self.to_hex())
    }
}

impl Encode for ConnectionId {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out)
    }
}

impl Decode for ConnectionId {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        u128::decode(input).map(Self)
    }
}

impl SpacetimeType for ConnectionId {
    fn make_type<S: TypespaceBuilder>(_: &mut S) -> AlgebraicType {
        AlgebraicType::connection_id()
    }
}
