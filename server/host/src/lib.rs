//! Runs Spacetime modules in wasmtime and links the `spacetime_10.x` ABI.
//!
//! # Brief overview
//! - [`HostRuntime`] (one per process) owns the wasmtime `Engine` with epoch
//!   interruption, the epoch ticker, and one `Linker` holding every
//!   `spacetime_10.0` … `10.6` import; [`HostConfig`] sets the time budget and memory
//!   limit of every call.
//! - [`HostRuntime::load`] compiles and checks a module, runs its set-up exports and
//!   `__describe_module__`, and validates the definition into a [`ModuleProgram`];
//!   [`extract_raw_module_def`] does the same without validation, for codegen.
//! - [`ModuleProgram::instantiate`] creates a warm [`ModuleInstance`] for a database;
//!   [`ModuleInstance::call_reducer`] runs one reducer as one transaction on a
//!   [`Datastore`](spacetime_datastore::Datastore) and returns a [`ReducerOutcome`].
//!   Lifecycle reducers build on it; scheduling is the engine's (it only calls
//!   reducers here).
//! - [`ModuleInstance::call_procedure`] runs a procedure outside any transaction on the
//!   caller's thread; its `with_tx` transactions are lent by the engine through a
//!   [`ProcedureHost`] and [`lend_tx`]. Its outbound HTTP has a timeout, a response cap
//!   and an address guard ([`HostConfig::allow_private_http`]).
//! - [`ModuleInstance::call_http_handler`] runs an HTTP handler (unstable upstream) the
//!   same way, with the request as bytes sources and the response read from two sinks.
//! - Module logs go to a [`LogSink`] as [`ModuleLogRecord`]s.
//! - What a module makes the host hold is capped (see [`MAX_MODULE_DEF_BYTES`],
//!   [`MAX_ERROR_MESSAGE_BYTES`], [`MAX_LOG_RECORD_BYTES`]).
//!
//! The import shims live in `abi/imports.rs`; every one decodes guest pointers, calls
//! the lent transaction, and returns through one converter that maps failures to an
//! errno or a trap as `shared/reference/module-api.md` §2 specifies.
#![deny(missing_docs)]
#![warn(clippy::print_stdout, clippy::dbg_macro)]

mod abi;
mod egress;
mod env;
mod environment;
mod error;
mod http_handler;
mod instance;
mod limits;
mod logs;
mod procedure;
mod program;
mod runtime;
mod view;
mod view_reads;

pub use abi::{errno, AbiVersion, ABI_MAJOR, ABI_MINOR, IMPORTS};
pub use egress::{MAX_HTTP_RESPONSE_BYTES, MAX_HTTP_TIMEOUT};
pub use env::{ImmediateCall, MAX_IMMEDIATE_CALLS};
pub use environment::{EnvironmentValues, Environments};
pub use error::{FunctionKind, LoadError, ReducerError};
pub use http_handler::{HttpHandlerCall, HttpHandlerError, HttpHandlerOutcome, HttpHandlerResponse};
pub use instance::{ModuleInstance, ReducerCall, ReducerOutcome};
pub use limits::{
    MAX_ERROR_MESSAGE_BYTES, MAX_HTTP_HANDLER_HEAD_BYTES, MAX_HTTP_HANDLER_RESPONSE_BYTES, MAX_LOG_RECORD_BYTES,
    MAX_MODULE_DEF_BYTES, MAX_PROCEDURE_RESULT_BYTES, MAX_VIEW_RESULT_BYTES,
};
pub use logs::{CollectLogs, DiscardLogs, LogLevel, LogSink, ModuleLogRecord};
pub use procedure::{lend_tx, ProcedureCall, ProcedureHost, ProcedureOutcome, TxEnd, TxLoan};
pub use program::{extract_raw_module_def, ModuleProgram};
pub use runtime::{HostConfig, HostRuntime, EPOCH_TICK};
pub use view::{ViewError, ViewOutcome};
pub use view_reads::{ChangedRows, TableReads, ViewReads, MAX_KEYS_PER_TABLE};

/// The server moves instances into its per-database actor threads and shares
/// programs between them; keep these types thread-safe.
const _: () = {
    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync>() {}
    #[allow(dead_code)]
    fn check() {
        assert_send::<ModuleInstance>();
        assert_send_sync::<ModuleProgram>();
        assert_send_sync::<HostRuntime>();
    }
};
