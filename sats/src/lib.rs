//! The Spacetime algebraic type system (SATS).
//!
//! Every layer of Spacetime speaks these types: modules describe their tables and
//! reducers with them, the server stores rows as their BSATN encoding, and the
//! client SDKs and code generators read the same module definition.
//!
//! # Brief overview
//! - [`AlgebraicType`] describes the shape of a value: primitives, strings, arrays,
//!   products (structs), sums (enums) and references into a [`Typespace`].
//! - [`AlgebraicValue`] is a dynamically typed value of some [`AlgebraicType`].
//! - [`bsatn`] is the binary encoding: the [`bsatn::Encode`] and [`bsatn::Decode`]
//!   traits for Rust types, and type-directed decoding of [`AlgebraicValue`]s.
//! - [`json`] (feature `json`) is SATS-JSON, the JSON form used by the HTTP API.
//! - [`special`] holds the types with a fixed meaning: [`Identity`], [`ConnectionId`],
//!   [`Timestamp`], [`TimeDuration`], [`ScheduleAt`] and [`Uuid`].
//! - [`def`] is the module definition: the raw wire form (`RawModuleDef`) and the
//!   validated model every other layer uses.
//! - [`errno`] is the module ABI's table of error codes ([`Errno`]), shared by the host,
//!   the datastore and the module bindings.
//!
//! **Architecture invariant:** this crate depends on no other crate of the project.
#![deny(missing_docs)]

pub mod algebraic_type;
pub mod algebraic_value;
pub mod bsatn;
pub mod def;
pub mod errno;
pub mod http;
pub mod ids;
#[cfg(feature = "json")]
pub mod json;
pub mod special;
pub mod typespace;

pub use algebraic_type::{
    AlgebraicType, AlgebraicTypeRef, ArrayType, ProductType, ProductTypeElement, SumType, SumTypeVariant,
};
pub use algebraic_value::{AlgebraicValue, ArrayValue, ProductValue, SumValue, F32, F64};
pub use errno::Errno;
pub use ethnum::{i256, u256};
pub use ids::{ColId, IndexId, ReducerId, SequenceId, TableId};
pub use special::{ConnectionId, Identity, ScheduleAt, TimeDuration, Timestamp, Uuid};
pub use typespace::{SpacetimeType, Typespace, TypespaceBuilder, TypespaceCollector};
