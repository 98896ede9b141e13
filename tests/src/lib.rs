//! The end-to-end test harness: builds modules (with our bindings or with the crates.io
//! `spacetimedb` 2.10.1 crate), starts real `spacetime start` server processes on
//! loopback, and drives them through the real `spacetime` CLI and raw HTTP.
#![deny(missing_docs)]

pub mod cli;
pub mod etcd;
pub mod modules;
pub mod netns;
pub mod power;
pub mod proxy;
pub mod server;
pub mod wait;
