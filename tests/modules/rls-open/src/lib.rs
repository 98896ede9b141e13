//! The `rls` module's schema and reducers without its filters (upstream's
//! `rls-no-filter`): publishing `rls` over it adds row-level security to a running
//! database.

#[path = "../../rls/src/tables.rs"]
mod tables;
pub use tables::*;
