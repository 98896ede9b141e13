//! The module definition.
//!
//! - `raw`: the wire form a module's `__describe_module__` writes (`RawModuleDef`,
//!   with the V10 sections and the legacy V9 layout), with its BSATN codec.
//! - `model`: the validated, immutable [`ModuleDef`](model::ModuleDef) that the
//!   server, SQL, subscriptions and codegen share. Built from the raw form by
//!   `TryFrom`, collecting every problem before failing.

pub(crate) mod codec;
pub mod model;
pub mod raw;
pub mod raw_v9;
pub mod validate;
