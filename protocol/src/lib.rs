//! The client side of Spacetime's real-time layer on the wire: the WebSocket protocol
//! messages a client and a server exchange, as plain Rust types with their BSATN codec.
//!
//! # Brief overview
//! - [`v2`] holds every message: [`v2::ClientMessage`] (client → server) and
//!   [`v2::ServerMessage`] (server → client). The BSATN tag of each enum variant is its
//!   index, exactly as in SpacetimeDB 2.x.
//! - [`common`] holds the pieces both directions share: [`QuerySetId`], the packed row list
//!   [`BsatnRowList`] and the [`Compression`] choice.
//! - [`v3`] is a framing change only: one WebSocket payload carries one or more v2
//!   messages back to back.
//! - [`compression`] is the envelope of server payloads: a tag byte (none, brotli, gzip)
//!   followed by the body.
//!
//! A client offers [`v2::BIN_PROTOCOL`] (or [`v3::BIN_PROTOCOL`]) as the
//! `Sec-WebSocket-Protocol`, sends each [`v2::ClientMessage`] as a raw BSATN binary frame,
//! and reads each server frame with [`compression::decompress`] then [`v2::ServerMessage`]'s
//! decoder.
//!
//! **Architecture invariant:** this crate does no I/O; the server's WebSocket endpoint and
//! the client SDKs own the sockets.
#![deny(missing_docs)]

#[macro_use]
mod codec;
pub mod common;
pub mod compression;
pub mod splice;
pub mod v2;
pub mod v3;

pub use common::{BsatnRowList, Compression, QuerySetId, RowSizeHint};
pub use spacetime_sats::bsatn::{Decode, DecodeError, Encode};

/// Why a WebSocket payload could not be turned into messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A payload was empty where at least a tag byte or one message was required.
    #[error("empty WebSocket payload: a server message starts with a compression tag byte and a v3 frame holds at least one message")]
    EmptyPayload,
    /// The compression tag byte was not one of the known values.
    #[error("unknown compression tag {0:#04x}: expected 0 (none), 1 (brotli) or 2 (gzip)")]
    UnknownCompression(u8),
    /// The compressed body could not be decompressed.
    #[error("cannot decompress a {algorithm} server message: {message}")]
    Decompress {
        /// `"brotli"` or `"gzip"`.
        algorithm: &'static str,
        /// What the decompressor reported.
        message: String,
    },
    /// The body was not a valid BSATN message.
    #[error("malformed message: {0}")]
    Decode(#[from] DecodeError),
}
