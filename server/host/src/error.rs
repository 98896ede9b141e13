//! The host's error types: [`LoadError`] (a module cannot be loaded or instantiated)
//! and [`ReducerError`] (why a reducer call did not commit). Both name what went wrong
//! with the module or the call and, where there is one, the fix.

use crate::abi::{AbiVersion, ABI_MAJOR, ABI_MINOR};
use std::time::Duration;

/// Why a module could not be loaded, described or instantiated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// wasmtime could not be set up (not a problem with the module).
    #[error("cannot start the WebAssembly engine: {0}")]
    Engine(String),
    /// The bytes are not a WebAssembly module wasmtime can compile.
    #[error("the module is not valid WebAssembly: {0}; build it with `cargo build --release --target wasm32-unknown-unknown` (or `spacetime build`)")]
    Compile(String),
    /// A required export is missing.
    #[error("the module does not export `{name}`; {hint}")]
    MissingExport {
        /// The export's name.
        name: &'static str,
        /// How to get it.
        hint: &'static str,
    },
    /// An export has the wrong kind or signature.
    #[error("the module's export `{name}` has the wrong type: expected {expected}, found {found}; rebuild it against a 2.x `spacetimedb` crate")]
    ExportSignature {
        /// The export's name.
        name: String,
        /// What the host requires.
        expected: String,
        /// What the module has.
        found: String,
    },
    /// An import the host does not provide.
    #[error("the module imports `{name}` from `{module}`, which the host does not provide: {reason}")]
    BadImport {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// Why it cannot be linked.
        reason: String,
    },
    /// The module imports from two ABI major versions.
    #[error("the module imports from ABI {first} and ABI {second}: one module must use one major version; rebuild it against a single `spacetimedb` crate")]
    MixedAbiMajors {
        /// One version it imports.
        first: AbiVersion,
        /// Another, with a different major.
        second: AbiVersion,
    },
    /// The module imports nothing from the host, so it cannot be a Spacetime module.
    #[error("the module imports no `spacetime_{ABI_MAJOR}.x` functions, so it is not a Spacetime module; build it against the `spacetimedb` crate")]
    NoAbiImports,
    /// The module needs a newer (or another major) ABI than the host implements.
    #[error("the module needs ABI {0}, but this host implements ABI {ABI_MAJOR}.0 to {ABI_MAJOR}.{ABI_MINOR}; build it against an older `spacetimedb` crate (2.x) or upgrade the server")]
    UnsupportedAbi(AbiVersion),
    /// wasmtime refused to instantiate the module.
    #[error("cannot instantiate the module: {0}")]
    Instantiate(String),
    /// A set-up export (`_initialize`, `__preinit__*`, `__setup__`, `__describe_module__`) trapped.
    #[error("the module's `{export}` failed while setting up an instance: {message}")]
    SetupTrapped {
        /// The export that was running.
        export: String,
        /// The panic message or trap.
        message: String,
    },
    /// `__setup__` returned an error.
    #[error("the module's `__setup__` reported an error: {0}")]
    SetupFailed(String),
    /// `__describe_module__` wrote bytes that are not a `RawModuleDef`.
    #[error("the module's `__describe_module__` wrote an undecodable module definition ({0}); was it built against a 2.x `spacetimedb` crate?")]
    DescribeDecode(String),
    /// The module definition does not validate.
    #[error("the module definition is invalid: {0}")]
    InvalidDefinition(String),
}

/// Why a reducer call did not commit. Every failure rolls the call's transaction back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReducerError {
    /// The reducer id is not in the module's definition.
    #[error("no such reducer: the module has {count} reducers and id {id} is not one of them")]
    NoSuchReducer {
        /// The id asked for.
        id: u32,
        /// How many reducers the module has.
        count: usize,
    },
    /// The arguments are not BSATN of the reducer's parameters; the module never ran.
    #[error("invalid arguments for reducer `{reducer}`: {error}; the arguments must be the BSATN of ({params})")]
    InvalidArgs {
        /// The reducer's name.
        reducer: String,
        /// What is wrong with them.
        error: String,
        /// The parameter list, for the message.
        params: String,
    },
    /// The reducer returned `Err(message)`.
    #[error("{0}")]
    User(String),
    /// The reducer panicked.
    #[error("the reducer panicked: {0}")]
    Panic(String),
    /// The reducer ran past the host's time budget and was stopped.
    #[error("the reducer ran longer than the time budget of {budget:?} and was stopped; make it do less work per call (split it, or use a scheduled reducer)")]
    OutOfTime {
        /// The budget it exceeded.
        budget: Duration,
    },
    /// The reducer tried to use more memory than the host allows.
    #[error("the reducer ran out of memory: {0}")]
    OutOfMemory(String),
    /// The reducer trapped for another reason (an invalid host call, `unreachable`, a
    /// stack overflow, …).
    #[error("the reducer trapped: {0}")]
    Trap(String),
    /// `__call_reducer__` returned a code other than 0 (ok) or 1 (error).
    #[error("the module's `__call_reducer__` returned {0}, which is neither 0 (ok) nor 1 (error)")]
    InvalidReturn(i32),
    /// The procedure id is not in the module's definition.
    #[error("no such procedure: the module has {count} procedures and id {id} is not one of them")]
    NoSuchProcedure {
        /// The id asked for.
        id: u32,
        /// How many procedures the module has.
        count: usize,
    },
    /// The module declares procedures but does not export `__call_procedure__`, or the
    /// host cannot make outbound HTTP requests.
    #[error("the procedure cannot run: {0}")]
    ProcedureUnavailable(String),
    /// The instance trapped earlier and a replacement could not be created.
    #[error("the module instance could not be replaced after a trap: {0}")]
    InstanceUnavailable(String),
}

/// The kind of module function a [`ReducerError`] came from. The error type is shared by
/// reducers, procedures and HTTP handlers; its `Display` speaks of reducers, so messages
/// about the others go through [`ReducerError::describe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// A reducer (what `Display` says).
    Reducer,
    /// A procedure.
    Procedure,
    /// An HTTP handler.
    HttpHandler,
}

impl FunctionKind {
    /// The function kind as a user reads it.
    fn noun(self) -> &'static str {
        match self {
            Self::Reducer => "reducer",
            Self::Procedure => "procedure",
            Self::HttpHandler => "HTTP handler",
        }
    }
}

impl ReducerError {
    /// The failure in words about the `kind` of function that failed: "the procedure
    /// panicked: …" rather than "the reducer panicked: …".
    pub fn describe(&self, kind: FunctionKind) -> String {
        let noun = kind.noun();
        match self {
            Self::Panic(message) => format!("the {noun} panicked: {message}"),
            Self::OutOfTime { budget } => format!(
                "the {noun} ran longer than the time budget of {budget:?} and was stopped; make it do less work per call"
            ),
            Self::OutOfMemory(message) => format!("the {noun} ran out of memory: {message}"),
            Self::Trap(message) => format!("the {noun} trapped: {message}"),
            other => other.to_string(),
        }
    }

    /// Whether this failure trapped the instance (so it was replaced).
    pub fn is_trap(&self) -> bool {
        matches!(
            self,
            Self::Panic(_) | Self::OutOfTime { .. } | Self::OutOfMemory(_) | Self::Trap(_)
        )
    }
}
