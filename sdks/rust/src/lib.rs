//! The Spacetime Rust client SDK.
