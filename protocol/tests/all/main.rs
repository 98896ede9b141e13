//! Integration tests of the protocol crate: byte-exact agreement with SpacetimeDB 2.10.1,
//! round trips, framing and the compression envelope.

mod compression;
mod roundtrip;
mod vectors;
