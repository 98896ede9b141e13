//! The special types: products and sums with a fixed meaning across Spacetime.
//!
//! Each is a single-field product with a magic field name (see
//! [`algebraic_type`](crate::algebraic_type)), except [`ScheduleAt`], which is a sum.
//! Their SATS types are inline (never a typespace `Ref`), as in SpacetimeDB.

mod connection_id;
mod hex;
mod identity;
mod schedule_at;
mod time;
mod uuid;

pub use connection_id::ConnectionId;
pub use hex::{encode as encode_hex, HexString};
pub use identity::Identity;
pub use schedule_at::ScheduleAt;
pub use time::{Rfc3339Error, TimeDuration, Timestamp, TimestampRangeError};
pub use uuid::{Uuid, UuidError, Version as UuidVersion};

/// Why a hex string could not be parsed into a special type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} hex {input:?}: expected {digits} hex digits, optionally prefixed with 0x")]
pub struct HexError {
    /// The type being parsed.
    pub what: &'static str,
    /// The digits that type needs.
    pub digits: usize,
    /// The rejected input.
    pub input: String,
}

/// Parses exactly `N` bytes from big-endian hex, accepting an optional `0x` prefix.
pub(crate) fn parse_be_hex<const N: usize>(what: &'static str, input: &[u8]) -> Result<[u8; N], HexError> {
    let err = || HexError {
        what,
        digits: N * 2,
        input: String::from_utf8_lossy(input).into_owned(),
    };
    let digits = input
        .strip_prefix(b"0x")
        .or_else(|| input.strip_prefix(b"0X"))
        .unwrap_or(input);
    if digits.len() != N * 2 {
        return Err(err());
    }
    let nibble = |d: u8| (d as char).to_digit(16).map(|v| v as u8);
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (nibble(pair[0]).ok_or_else(err)? << 4) | nibble(pair[1]).ok_or_else(err)?;
    }
    Ok(out)
}

/// Lower-case hex of `bytes`, in the order given.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bsatn::to_vec;
    use crate::u256;

    // Hex forms and BSATN bytes printed by SpacetimeDB 2.10.1 for the same values.
    #[test]
    fn hex_forms_match_upstream() {
        let id = Identity::from_u256(u256::from_words(
            0x0102030405060708090a0b0c0d0e0f10,
            0x1112131415161718191a1b1c1d1e1f20,
        ));
        assert_eq!(
            id.to_hex(),
            "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
        );
        assert_eq!(
            to_hex(&to_vec(&id)),
            "201f1e1d1c1b1a191817161514131211100f0e0d0c0b0a090807060504030201"
        );
        let c = ConnectionId::from_u128(0x0102030405060708090a0b0c0d0e0f10);
        assert_eq!(
            (c.to_hex().as_str(), c.to_string().as_str()),
            ("0102030405060708090a0b0c0d0e0f10", "0102030405060708090a0b0c0d0e0f10")
        );
        assert_eq!(to_hex(&to_vec(&c)), "100f0e0d0c0b0a090807060504030201");
        let u = Uuid::from_u128(0x0102030405060708090a0b0c0d0e0f10);
        assert_eq!(u.to_string(), "01020304-0506-0708-090a-0b0c0d0e0f10");
        assert_eq!(to_hex(&to_vec(&u)), "100f0e0d0c0b0a090807060504030201");
        assert_eq!(Uuid::parse_str("01020304-0506-0708-090A-0B0C0D0E0F10"), Ok(u));
        assert_eq!(Identity::from_hex(format!("0x{}", id.to_hex())), Ok(id));
        assert_eq!(Identity::from_hex(id.to_hex()), Ok(id));
        assert!(Identity::from_hex(format!("+{}", &id.to_hex()[1..])).is_err());
        assert_eq!(format!("{id:?}"), format!("Identity({id})"));
        assert_eq!(id.to_abbreviated_hex(), "0102030405060708");
        assert_eq!(id.abbreviate(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(Identity::from_byte_array(id.to_byte_array()), id);
        assert_eq!(format!("{:?}", c), "ConnectionId(0102030405060708090a0b0c0d0e0f10)");
        assert_eq!(ConnectionId::from_be_slice(c.as_be_byte_array()), c);
        assert_eq!(ConnectionId::from_le_byte_array(c.as_le_byte_array()), c);
        assert_eq!(c.to_abbreviated_hex(), "0102030405060708");
        assert_eq!(c.to_ipv6_string(), "102:304:506:708:90a:b0c:d0e:f10");
    }
}
