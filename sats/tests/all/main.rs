//! Integration tests of `spacetime-sats`, one module per concept.

mod errno;
mod proptests;
mod raw_def;
mod vectors;
