//! [`HexString`]: the lower-case hex form of a fixed number of bytes, built without a heap
//! allocation, as returned by `Identity::to_hex` and `ConnectionId::to_hex`.

use std::fmt;
use std::ops::Deref;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The lower-case hex digits of `N` bytes (`2 * N` characters). It dereferences to `str`
/// and displays as its digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HexString<const N: usize> {
    digits: [[u8; 2]; N],
}

/// The hex form of `bytes`, in the order given.
pub fn encode<const N: usize>(bytes: &[u8; N]) -> HexString<N> {
    HexString {
        digits: bytes.map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]]),
    }
}

impl<const N: usize> HexString<N> {
    /// The digits as a string slice.
    pub fn as_str(&self) -> &str {
        // Every byte is one of `DIGITS`, which are ASCII.
        std::str::from_utf8(self.as_bytes()).expect("hex digits are ASCII")
    }

    /// The digits as ASCII bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.digits.as_flattened()
    }
}

impl<const N: usize> Deref for HexString<N> {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> AsRef<str> for HexString<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> AsRef<[u8]> for HexString<N> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl<const N: usize> From<HexString<N>> for String {
    fn from(hex: HexString<N>) -> String {
        hex.as_str().to_owned()
    }
}

impl<const N: usize> From<&HexString<N>> for String {
    fn from(hex: &HexString<N>) -> String {
        hex.as_str().to_owned()
    }
}

impl<const N: usize> fmt::Display for HexString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for HexString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

// Comparisons with text, so that callers can check a hex form without converting it.
macro_rules! eq_text {
    ($($text:ty),*) => {$(
        impl<const N: usize> PartialEq<$text> for HexString<N> {
            fn eq(&self, other: &$text) -> bool {
                self.as_str() == AsRef::<str>::as_ref(other)
            }
        }
        impl<const N: usize> PartialEq<HexString<N>> for $text {
            fn eq(&self, other: &HexString<N>) -> bool {
                AsRef::<str>::as_ref(self) == other.as_str()
            }
        }
    )*};
}

eq_text!(str, &str, String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_pad_and_compare() {
        let hex = encode(&[0x00, 0xab, 0x7f]);
        assert_eq!(hex.as_str(), "00ab7f");
        assert_eq!(format!("[{hex:>8}]"), "[  00ab7f]");
        assert_eq!(format!("{hex:?}"), "00ab7f");
        let owned = String::from("00ab7f");
        assert_eq!(hex, "00ab7f");
        assert_eq!(owned, hex);
        assert_eq!(hex, owned);
        assert!(hex.starts_with("00a"));
        assert_eq!(String::from(hex).len(), 6);
    }
}
