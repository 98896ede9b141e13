//! [`ConnectionId`]: one connection of a client to a database.

use super::hex::{encode, HexString};
use super::{parse_be_hex, HexError};
use crate::bsatn::{Decode, DecodeError, Encode};
use crate::{AlgebraicType, SpacetimeType, TypespaceBuilder};
use std::fmt;
use std::net::Ipv6Addr;

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
    pub const fn to_u128(&self) -> u128 {
        self.0
    }

    /// From 16 little-endian bytes (the BSATN and ABI order).
    pub const fn from_le_byte_array(bytes: [u8; 16]) -> Self {
        Self(u128::from_le_bytes(bytes))
    }

    /// From 16 big-endian bytes (the hex order).
    pub const fn from_be_byte_array(bytes: [u8; 16]) -> Self {
        Self(u128::from_be_bytes(bytes))
    }

    /// The 16 little-endian bytes (the BSATN and ABI order).
    pub const fn as_le_byte_array(&self) -> [u8; 16] {
        self.0.to_le_bytes()
    }

    /// The 16 big-endian bytes (the hex order).
    pub const fn as_be_byte_array(&self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// From exactly 16 big-endian bytes.
    ///
    /// # Panics
    /// If `slice` is not 16 bytes long.
    pub fn from_be_slice(slice: impl AsRef<[u8]>) -> Self {
        let slice = slice.as_ref();
        let bytes: [u8; 16] = slice
            .try_into()
            .unwrap_or_else(|_| panic!("a connection id is 16 bytes, but the slice has {}", slice.len()));
        Self::from_be_byte_array(bytes)
    }

    /// `None` for the zero id, which the ABI uses to mean no connection.
    pub fn none_if_zero(self) -> Option<Self> {
        (self != Self::ZERO).then_some(self)
    }

    /// The 32-digit lower-case big-endian hex form, without a heap allocation; it
    /// derefs to `str` and displays as the digits (`.to_string()` for a `String`).
    pub fn to_hex(self) -> HexString<16> {
        encode(&self.as_be_byte_array())
    }

    /// The first 8 big-endian bytes, a short form for logs.
    pub fn abbreviate(&self) -> [u8; 8] {
        let be = self.as_be_byte_array();
        [be[0], be[1], be[2], be[3], be[4], be[5], be[6], be[7]]
    }

    /// The first 16 hex digits, for log lines and short displays.
    pub fn to_abbreviated_hex(self) -> HexString<8> {
        encode(&self.abbreviate())
    }

    /// The id as an IPv6 address, the form some logs use.
    pub fn to_ipv6(self) -> Ipv6Addr {
        Ipv6Addr::from(self.0)
    }

    /// The IPv6 form as text.
    pub fn to_ipv6_string(self) -> String {
        self.to_ipv6().to_string()
    }

    /// Parses the 32-digit hex form, with or without `0x`.
    ///
    /// # Errors
    /// Returns [`HexError`] unless `hex` is exactly 32 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, HexError> {
        parse_be_hex::<16>("connection id", hex.as_bytes()).map(Self::from_be_byte_array)
    }
}

impl From<u128> for ConnectionId {
    fn from(value: u128) -> Self {
        Self(value)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.to_hex())
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ConnectionId").field(&format_args!("{self}")).finish()
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
