//! The special types: products and sums with a fixed meaning across Spacetime.
//!
//! Each is a single-field product with a magic field name (see
//! [`algebraic_type`](crate::algebraic_type)), except [`ScheduleAt`], which is a sum.
//! Their SATS types are inline (never a typespace `Ref`), as in SpacetimeDB.

mod connection_id;
mod identity;
mod schedule_at;
mod time;
mod uuid;

pub use connection_id::ConnectionId;
pub use identity::Identity;
pub use schedule_at::ScheduleAt;
pub use time::{TimeDuration, Timestamp};
pub use uuid::Uuid;

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
pub(crate) fn parse_be_hex<const N: usize>(what: &'static str, input: &str) -> Result<[u8; N], HexError> {
    let err = || HexError { what, digits: N * 2, input: input.to_owned() };
    let digits = input.strip_prefix("0x").or_else(|| input.strip_prefix("0X")).unwrap_or(input);
    if digits.len() != N * 2 || !digits.is_ascii() {
        return Err(err());
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| err())?;
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
