//! [`Uuid`]: a 128-bit universally unique identifier, and the v4 and v7 constructions a
//! module uses to mint them from its deterministic random numbers.

use super::Timestamp;
use crate::bsatn::{Decode, DecodeError, Encode};
use crate::{AlgebraicType, SpacetimeType, TypespaceBuilder};
use std::cell::Cell;
use std::fmt;

/// A UUID. SATS type `{ __uuid__: U128 }`; the `u128` holds the UUID's 16 bytes in
/// big-endian order, so the hex form reads in the usual 8-4-4-4-12 layout.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Uuid(u128);

/// The UUID versions [`Uuid::get_version`] recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Version {
    /// The nil UUID, all zeros.
    Nil = 0,
    /// Random (version 4).
    V4 = 4,
    /// Time-ordered with a counter and random bits (version 7).
    V7 = 7,
    /// The max UUID, all ones.
    Max = 0xff,
}

/// Why a UUID could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UuidError {
    /// The text is not a UUID.
    #[error("invalid UUID {input:?}: expected 32 hex digits, as in 01020304-0506-0708-090a-0b0c0d0e0f10")]
    Parse {
        /// The rejected text.
        input: String,
    },
    /// A version 7 UUID needs a time after the Unix epoch.
    #[error("cannot make a version 7 UUID for {timestamp}, which is before the Unix epoch")]
    BeforeUnixEpoch {
        /// The rejected time.
        timestamp: Timestamp,
    },
}

impl Uuid {
    /// The nil UUID.
    pub const NIL: Self = Self(0);

    /// The max UUID, all bits set.
    pub const MAX: Self = Self(u128::MAX);

    /// The UUID with the given numeric value.
    pub const fn from_u128(value: u128) -> Self {
        Self(value)
    }

    /// The numeric value.
    pub const fn as_u128(&self) -> u128 {
        self.0
    }

    /// The numeric value; the same as [`Uuid::as_u128`].
    pub const fn to_u128(self) -> u128 {
        self.0
    }

    /// A version 4 UUID from 16 random bytes: the version and RFC 4122 variant bits are
    /// set, the other 122 bits are the random ones.
    pub fn from_random_bytes_v4(random_bytes: [u8; 16]) -> Self {
        Self(u128::from_be_bytes(with_version_and_variant(random_bytes, 4)))
    }

    /// A version 7 UUID: 48 bits of Unix milliseconds from `now`, the 31-bit `counter`
    /// (which is then advanced, wrapping), and 31 bits of `random_bytes`. UUIDs made in one
    /// reducer call at the same timestamp sort in the order they were made.
    ///
    /// # Errors
    /// [`UuidError::BeforeUnixEpoch`] if `now` is before 1970.
    pub fn from_counter_v7(counter: &Cell<u32>, now: Timestamp, random_bytes: &[u8; 4]) -> Result<Self, UuidError> {
        let since_epoch = now
            .to_duration_since_unix_epoch()
            .map_err(|_| UuidError::BeforeUnixEpoch { timestamp: now })?;
        let count = counter.get();
        counter.set(count.wrapping_add(1) & 0x7fff_ffff);
        let millis = (since_epoch.as_millis() as u64) & 0xffff_ffff_ffff;
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
        // The counter's 31 bits go around the version (byte 6) and variant (byte 8) bits.
        bytes[7] = (count >> 23) as u8;
        bytes[9] = (count >> 15) as u8;
        bytes[10] = (count >> 7) as u8;
        bytes[11] = ((count & 0x7f) << 1) as u8;
        bytes[12] = random_bytes[0] & 0x7f;
        bytes[13..].copy_from_slice(&random_bytes[1..]);
        Ok(Self(u128::from_be_bytes(with_version_and_variant(bytes, 7))))
    }

    /// The version, if it is one of [`Version`]'s.
    pub fn get_version(&self) -> Option<Version> {
        match (self.0 >> 76) & 0xf {
            0 if *self == Self::NIL => Some(Version::Nil),
            4 => Some(Version::V4),
            7 => Some(Version::V7),
            0xf if *self == Self::MAX => Some(Version::Max),
            _ => None,
        }
    }

    /// Parses the hyphenated `8-4-4-4-12` form (case-insensitive), 32 bare hex digits, or
    /// either inside `{…}` or after `urn:uuid:`.
    ///
    /// # Errors
    /// [`UuidError::Parse`] for anything else.
    pub fn parse_str(s: &str) -> Result<Self, UuidError> {
        let err = || UuidError::Parse { input: s.to_owned() };
        let inner = s
            .strip_prefix("urn:uuid:")
            .or_else(|| s.strip_prefix('{').and_then(|b| b.strip_suffix('}')))
            .unwrap_or(s);
        let groups: Vec<&str> = inner.split('-').collect();
        let digits = match groups.as_slice() {
            [a, b, c, d, e] if [a.len(), b.len(), c.len(), d.len(), e.len()] == [8, 4, 4, 4, 12] => groups.concat(),
            [all] if all.len() == 32 => (*all).to_owned(),
            _ => return Err(err()),
        };
        super::parse_be_hex::<16>("uuid", digits.as_bytes())
            .map(|b| Self(u128::from_be_bytes(b)))
            .map_err(|_| err())
    }
}

/// Sets the version nibble (byte 6) and the RFC 4122 variant bits (byte 8).
fn with_version_and_variant(mut bytes: [u8; 16], version: u8) -> [u8; 16] {
    bytes[6] = (bytes[6] & 0x0f) | (version << 4);
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = super::to_hex(&self.0.to_be_bytes());
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

// The derived form of SpacetimeDB's type, so module logs read the same.
impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uuid").field("__uuid__", &self.0).finish()
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

#[cfg(test)]
mod tests {
    use super::*;

    // Values computed with spacetimedb-sats 2.10.1 (`from_random_bytes_v4`,
    // `from_counter_v7`) for the same inputs.
    #[test]
    fn v4_and_v7_bits() {
        let v4 = Uuid::from_random_bytes_v4([0xff; 16]);
        assert_eq!(v4.to_string(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(v4.get_version(), Some(Version::V4));
        assert_eq!(
            Uuid::from_random_bytes_v4([0; 16]).to_string(),
            "00000000-0000-4000-8000-000000000000"
        );

        let counter = Cell::new(0x7fff_fffe);
        let now = Timestamp::from_micros_since_unix_epoch(1_686_000_000_123_456);
        let first = Uuid::from_counter_v7(&counter, now, &[0xff, 0xee, 0xdd, 0xcc]).unwrap();
        assert_eq!(first.to_string(), "01888d6e-5c7b-70ff-80ff-fffc7feeddcc");
        assert_eq!(first.get_version(), Some(Version::V7));
        let second = Uuid::from_counter_v7(&counter, now, &[0, 0, 0, 0]).unwrap();
        assert_eq!(second.to_string(), "01888d6e-5c7b-70ff-80ff-fffe00000000");
        assert_eq!(counter.get(), 0, "the counter wraps at 31 bits");
        assert!(first < second);
        let before = Timestamp::from_micros_since_unix_epoch(-1);
        assert_eq!(
            Uuid::from_counter_v7(&counter, before, &[0; 4]),
            Err(UuidError::BeforeUnixEpoch { timestamp: before })
        );
    }

    #[test]
    fn versions_and_parsing() {
        assert_eq!(
            (Uuid::NIL.get_version(), Uuid::MAX.get_version()),
            (Some(Version::Nil), Some(Version::Max))
        );
        assert_eq!(Uuid::from_u128(1).get_version(), None);
        let u = Uuid::from_u128(0x0102030405060708090a0b0c0d0e0f10);
        for text in [
            "01020304-0506-0708-090a-0b0c0d0e0f10",
            "0102030405060708090A0B0C0D0E0F10",
            "{01020304-0506-0708-090a-0b0c0d0e0f10}",
            "urn:uuid:01020304-0506-0708-090a-0b0c0d0e0f10",
        ] {
            assert_eq!(Uuid::parse_str(text), Ok(u), "{text}");
        }
        for text in [
            "",
            "0102030405060708090a0b0c0d0e0f1",
            "01020304-0506-0708-090a0b0c0d0e0f10",
            "+1020304-0506-0708-090a-0b0c0d0e0f10",
        ] {
            assert_eq!(
                Uuid::parse_str(text),
                Err(UuidError::Parse { input: text.into() }),
                "{text}"
            );
        }
        assert_eq!(format!("{:?}", Uuid::from_u128(7)), "Uuid { __uuid__: 7 }");
        assert_eq!(u.as_u128(), u.to_u128());
    }
}
