//! The integration tests of the bindings, run natively: module definitions built by the
//! macros, BSATN of derived types, reducer argument decoding, index argument encoding, the
//! table API and the exports against an in-memory host, and the macro diagnostics.

mod abi;
mod args;
mod derive;
mod describe;
mod host;
mod ranges;
mod surface;
mod ui;
