//! `spacetimedb::sats`: the type system crate, plus the modules SpacetimeDB's `sats` has at
//! other paths ([`hex`](crate::sats::hex), [`uuid`](crate::sats::uuid)) and its
//! [`bsatn`](crate::sats::bsatn) signatures where they differ.

pub use spacetime_sats::*;

/// Allocation-free hex forms: [`hex::HexString`], returned by `Identity::to_hex` and
/// `ConnectionId::to_hex`.
pub mod hex {
    pub use spacetime_sats::special::{encode_hex as encode, HexString};
}

/// [`Uuid`] and its [`Version`](uuid::Version)s.
pub mod uuid {
    pub use spacetime_sats::special::{Uuid, UuidError, UuidVersion as Version};
}

/// BSATN, the binary encoding of rows and arguments, with SpacetimeDB's signatures: its
/// [`to_vec`](bsatn::to_vec) returns a `Result`.
pub mod bsatn {
    pub use spacetime_sats::bsatn::*;
    use std::fmt;

    /// Why encoding failed. Encoding into a `Vec` cannot fail, so this has no values; it
    /// exists for the signature of [`to_vec`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum EncodeError {}

    impl fmt::Display for EncodeError {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            match *self {}
        }
    }

    impl std::error::Error for EncodeError {}

    /// The BSATN encoding of `value`.
    ///
    /// # Errors
    /// Never; the `Result` is SpacetimeDB's signature.
    pub fn to_vec<T: Encode + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
        Ok(spacetime_sats::bsatn::to_vec(value))
    }
}
