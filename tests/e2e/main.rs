//! End-to-end tests: real `spacetime start` servers, the real CLI, real modules. One
//! module per concern; each test that publishes a module runs it twice, built with our
//! bindings and with the crates.io `spacetimedb` 2.10.1 crate.

mod cli_basics;
