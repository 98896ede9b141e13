//! [`Serialize`], [`Deserialize`] and [`DeserializeOwned`]: SpacetimeDB's names for the
//! BSATN traits, so that modules written against it can name them in bounds and derive
//! them. Each is implemented for every type with the matching BSATN trait
//! ([`Encode`](spacetime_sats::bsatn::Encode), [`Decode`](spacetime_sats::bsatn::Decode)),
//! which is what the derives of the same names generate.

use spacetime_sats::bsatn::{Decode, Encode};

/// A type with a BSATN encoding.
pub trait Serialize: Encode {}

impl<T: Encode + ?Sized> Serialize for T {}

/// A type that can be decoded from BSATN. The lifetime is SpacetimeDB's (its decoders may
/// borrow from the input); BSATN decoding here always produces owned values.
pub trait Deserialize<'de>: Decode {}

impl<T: Decode> Deserialize<'_> for T {}

/// A type that can be decoded from BSATN without borrowing from the input.
pub trait DeserializeOwned: for<'de> Deserialize<'de> {}

impl<T: for<'de> Deserialize<'de>> DeserializeOwned for T {}
