//! Integration tests of `spacetime-sats`, one module per concept.

mod raw_def;
