//! BSATN, the binary encoding of SATS values.
//!
//! BSATN is not self-describing: products have no header, sums are a one-byte tag
//! followed by the payload, strings and arrays are a `u32` length followed by the
//! contents, and all integers are little-endian.
//!
//! - [`Encode`] and [`Decode`] are implemented by Rust types with a fixed SATS type
//!   (primitives, `String`, `Vec<T>`, `Option<T>`, the special types, and anything
//!   that derives `SpacetimeType`).
//! - [`value`] decodes an [`AlgebraicValue`](crate::AlgebraicValue) against an
//!   [`AlgebraicType`](crate::AlgebraicType) and encodes it back.
//!
//! Decoding validates everything (lengths, UTF-8, bool bytes, sum tags) and returns a
//! [`DecodeError`]; it never panics on malformed input.

mod meta;
mod primitives;
pub mod value;

pub use value::{decode_value, encode_value, value_to_vec};

/// Why a BSATN buffer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The buffer ended in the middle of a value.
    #[error("unexpected end of input: needed {needed} more bytes but only {remaining} remain")]
    Truncated {
        /// Bytes the decoder needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A bool was neither `0` nor `1`.
    #[error("invalid bool byte {0:#04x}: expected 0x00 or 0x01")]
    InvalidBool(u8),
    /// A sum tag was out of range for its type.
    #[error("invalid sum tag {tag} for {type_name}: it has only {num_variants} variants")]
    InvalidTag {
        /// The tag that was read.
        tag: u8,
        /// The sum type being decoded.
        type_name: &'static str,
        /// How many variants the type has.
        num_variants: usize,
    },
    /// A string was not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// Bytes remained after the value was decoded.
    #[error("{0} unexpected bytes after the end of the value")]
    TrailingBytes(usize),
    /// A type referred to a typespace slot that does not exist.
    #[error("type reference &{0} does not exist in the typespace")]
    UnresolvedRef(u32),
    /// A type nested too deeply, or referred to itself, while decoding.
    #[error("type nests more than {0} levels deep (is it recursive?)")]
    TooDeep(usize),
    /// The bytes were well-formed but violate a rule of the decoded type.
    #[error("{0}")]
    Invalid(String),
}

/// A type that has a BSATN encoding.
pub trait Encode {
    /// Appends the BSATN encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);
}

/// A type that can be decoded from BSATN.
pub trait Decode: Sized {
    /// Decodes one value from the front of `input`, advancing it past the value.
    ///
    /// # Errors
    /// Returns a [`DecodeError`] if `input` does not hold a valid encoding of `Self`.
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError>;
}

impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self, out: &mut Vec<u8>) {
        (**self).encode(out)
    }
}

/// Encodes `value` into a new buffer.
pub fn to_vec<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode(&mut out);
    out
}

/// Decodes a `T` that must fill `bytes` exactly.
///
/// # Errors
/// Returns [`DecodeError::TrailingBytes`] if bytes remain after the value, and any
/// error of `T`'s decoder.
pub fn from_slice<T: Decode>(mut bytes: &[u8]) -> Result<T, DecodeError> {
    let value = T::decode(&mut bytes)?;
    if !bytes.is_empty() {
        return Err(DecodeError::TrailingBytes(bytes.len()));
    }
    Ok(value)
}

/// Takes the next `n` bytes of `input`.
///
/// # Errors
/// Returns [`DecodeError::Truncated`] if fewer than `n` bytes remain.
pub fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], DecodeError> {
    if input.len() < n {
        return Err(DecodeError::Truncated {
            needed: n,
            remaining: input.len(),
        });
    }
    let (head, tail) = input.split_at(n);
    *input = tail;
    Ok(head)
}

/// Takes the next `N` bytes of `input` as an array.
///
/// # Errors
/// Returns [`DecodeError::Truncated`] if fewer than `N` bytes remain.
pub fn take_array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], DecodeError> {
    let bytes = take(input, N)?;
    let mut array = [0u8; N];
    array.copy_from_slice(bytes);
    Ok(array)
}

/// Reads a sum tag byte.
///
/// # Errors
/// Returns [`DecodeError::InvalidTag`] if it is not below `num_variants`.
pub fn decode_tag(input: &mut &[u8], type_name: &'static str, num_variants: usize) -> Result<u8, DecodeError> {
    let tag = u8::decode(input)?;
    if usize::from(tag) >= num_variants {
        return Err(DecodeError::InvalidTag {
            tag,
            type_name,
            num_variants,
        });
    }
    Ok(tag)
}

/// Reads a `u32` length prefix and checks that at least `len * min_elem_size` bytes
/// remain, so a corrupt length cannot make the decoder allocate gigabytes.
///
/// # Errors
/// Returns [`DecodeError::Truncated`] if the remaining input is too short.
pub fn decode_len(input: &mut &[u8], min_elem_size: usize) -> Result<usize, DecodeError> {
    let len = u32::decode(input)? as usize;
    let needed = len.saturating_mul(min_elem_size);
    if needed > input.len() {
        return Err(DecodeError::Truncated {
            needed,
            remaining: input.len(),
        });
    }
    Ok(len)
}

/// Writes a `u32` length prefix.
///
/// # Panics
/// Panics if `len` does not fit in a `u32`: BSATN cannot represent such a value, and
/// every caller holds it in memory, so this is a 4 GiB-sized programming error.
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    let len = u32::try_from(len).expect("BSATN lengths must fit in a u32");
    out.extend_from_slice(&len.to_le_bytes());
}
