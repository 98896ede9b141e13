//! Integration tests of `spacetime-server`: a real server on `127.0.0.1:0`, real HTTP,
//! real wasm modules.

mod identity;
mod support;
