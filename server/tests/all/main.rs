//! Integration tests of `spacetime-server`: a real server on `127.0.0.1:0`, real HTTP,
//! real wasm modules (built from `tests/modules/` against the crates.io `spacetimedb`).

mod call;
mod identity;
mod logs;
mod modules;
mod oidc;
mod publish;
mod snapshot;
mod sql;
mod subscribe;
mod support;
