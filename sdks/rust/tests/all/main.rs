//! Integration tests of the SDK, through the generated bindings of the quickstart chat
//! module (those the Rust chat client commits) and a [`MockServer`] playing the server:
//! cache reference counts, primary-key updates, callback order, subscriptions, reducer
//! results, reconnect diffing, disconnects and credentials; procedure calls, one-off queries
//! and views (through the procedures module's bindings); and the behaviour vectors every SDK
//! shares (`protocol/tests/vectors/`).
//!
//! The bindings are compiled with warnings denied by codegen's own compile test; here only
//! the parts a test uses are read, so unused-item lints are silenced.

#[allow(dead_code, unused_imports)]
#[path = "../../../../examples/quickstart-chat/client-rust/src/module_bindings/mod.rs"]
mod chat;

/// The procedures module with two views: codegen's golden copy of its Rust bindings.
#[allow(dead_code, unused_imports)]
#[path = "../../../../codegen/tests/golden/rust/procedures/mod.rs"]
mod procedures;

mod cache;
mod connection;
mod credentials;
mod requests;
mod support;
mod transport;
mod vectors;
