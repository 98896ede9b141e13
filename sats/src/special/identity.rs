//! [`Identity`]: who a client, a caller or a database is.

use super::hex::{encode, HexString};
use super::{parse_be_hex, HexError};
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

    /// The identity whose numeric value is one.
    pub const ONE: Self = Self(u256::ONE);

    /// The identity with the given numeric value.
    pub const fn from_u256(value: u256) -> Self {
        Self(value)
    }

    /// The numeric value.
    pub const fn to_u256(&self) -> u256 {
        self.0
    }

    /// From 32 little-endian bytes (the BSATN and ABI order).
    pub const fn from_byte_array(bytes: [u8; 32]) -> Self {
        let (lo, hi) = split_halves(bytes);
        Self(u256::from_words(u128::from_le_bytes(hi), u128::from_le_bytes(lo)))
    }

    /// The 32 little-endian bytes (the BSATN and ABI order).
    pub fn to_byte_array(&self) -> [u8; 32] {
        self.0.to_le_bytes()
    }

    /// From 32 big-endian bytes (the hex order).
    pub const fn from_be_byte_array(bytes: [u8; 32]) -> Self {
        let (hi, lo) = split_halves(bytes);
        Self(u256::from_words(u128::from_be_bytes(hi), u128::from_be_bytes(lo)))
    }

    /// The 32 big-endian bytes (the hex order).
    pub fn to_be_byte_array(&self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// The identity of the holder of a token with issuer `issuer` and subject `subject`,
    /// derived as SpacetimeDB derives it, so the same pair names the same identity on both:
    /// `blake3("iss|sub")` keeps its first 26 bytes, prefixed (big-endian, so the hex form
    /// starts `c200`) with `0xc2 0x00` and a 4-byte checksum, the first bytes of
    /// `blake3(0xc2 0x00 ‖ id_hash)`.
    pub fn from_claims(issuer: &str, subject: &str) -> Self {
        const PREFIX: [u8; 2] = [0xc2, 0x00];
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
        Self::from_be_byte_array(be)
    }

    /// The 64-digit lower-case big-endian hex form, without a heap allocation; it
    /// derefs to `str` and displays as the digits (`.to_string()` for a `String`).
    pub fn to_hex(&self) -> HexString<32> {
        encode(&self.to_be_byte_array())
    }

    /// The first 8 big-endian bytes, a short form for logs.
    pub fn abbreviate(&self) -> [u8; 8] {
        let be = self.to_be_byte_array();
        [be[0], be[1], be[2], be[3], be[4], be[5], be[6], be[7]]
    }

    /// The first 16 hex digits, for log lines and short displays.
    pub fn to_abbreviated_hex(&self) -> HexString<8> {
        encode(&self.abbreviate())
    }

    /// Parses the 64-digit hex form, with or without `0x`.
    ///
    /// # Errors
    /// Returns [`HexError`] unless `hex` is exactly 64 hex digits.
    pub fn from_hex(hex: impl AsRef<[u8]>) -> Result<Self, HexError> {
        parse_be_hex::<32>("identity", hex.as_ref()).map(Self::from_be_byte_array)
    }

    #[doc(hidden)]
    pub fn __dummy() -> Self {
        Self::ZERO
    }
}

/// The first and second 16 bytes of `bytes`, in a `const fn`.
const fn split_halves(bytes: [u8; 32]) -> ([u8; 16], [u8; 16]) {
    let (mut first, mut second) = ([0u8; 16], [0u8; 16]);
    let mut i = 0;
    while i < 16 {
        first[i] = bytes[i];
        second[i] = bytes[16 + i];
        i += 1;
    }
    (first, second)
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.to_hex())
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Identity").field(&self.to_hex()).finish()
    }
}

impl FromStr for Identity {
    type Err = HexError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl From<u256> for Identity {
    fn from(value: u256) -> Self {
        Self(value)
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
