//! [`HostRuntime`]: the one wasmtime [`Engine`] of the process, its epoch ticker, and
//! the one [`Linker`] holding every `spacetime_10.x` import, plus [`HostConfig`], the
//! limits every module instance runs under.
//!
//! Runaway reducers are stopped by epoch interruption, not fuel: a ticker thread bumps
//! the engine's epoch every [`EPOCH_TICK`], and each call sets a deadline a whole
//! number of ticks ahead, which costs the guest one load and compare per loop header.

use crate::abi;
use crate::egress::Egress;
use crate::env::InstanceEnv;
use crate::environment::Environments;
use crate::error::LoadError;
use crate::program::ModuleProgram;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use wasmtime::{Config, Engine, Linker, OptLevel, ResourceLimiter};

/// How often the epoch ticker advances the engine's epoch: the granularity of the
/// reducer time budget.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits every module instance runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// How long one call into a module (a reducer, or the set-up and describe calls
    /// of a new instance) may run before it is stopped with a trap.
    ///
    /// The default is 10 seconds. Reducers of one database run one at a time, so this
    /// is also the longest a runaway reducer can stall its database; it is generous
    /// because an `init` reducer may legitimately seed a lot of data. The budget is
    /// measured in wall-clock time and rounded up to whole [`EPOCH_TICK`]s.
    pub reducer_time_budget: Duration,
    /// The most linear memory one instance may have, in bytes. A `memory.grow` past
    /// it traps the call with an out-of-memory failure instead of returning -1, so
    /// the caller learns why. The default is 512 MiB: rows live in the host, so a
    /// module's own memory is scratch space and rarely needs more than a few MiB.
    pub memory_limit: usize,
    /// Whether procedures' outbound HTTP may reach loopback, private, link-local and
    /// other non-public addresses (`spacetime start --allow-private-http`). Off by
    /// default, so a module cannot probe the server's own network.
    pub allow_private_http: bool,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            reducer_time_budget: Duration::from_secs(10),
            memory_limit: 512 << 20,
            allow_private_http: false,
        }
    }
}

impl HostConfig {
    /// The epoch deadline for one call: the budget in whole ticks, rounded up, plus
    /// one, because the tick in progress when the deadline is set may end at once and
    /// a call must never be stopped before its full budget has passed.
    pub(crate) fn budget_ticks(&self) -> u64 {
        let tick = EPOCH_TICK.as_nanos();
        (self.reducer_time_budget.as_nanos().div_ceil(tick) as u64).max(1) + 1
    }
}

/// The module host of a process: compile modules with [`HostRuntime::load`].
///
/// Cheap to clone (an `Arc`); create one per process and share it, because the
/// engine and its epoch ticker are process-wide.
#[derive(Clone)]
pub struct HostRuntime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<InstanceEnv>,
    pub(crate) config: HostConfig,
    /// Procedures' outbound HTTP client, built on first use (it starts a thread).
    pub(crate) egress: OnceLock<Result<Arc<Egress>, String>>,
    /// Every database's environment values (`env_get`).
    pub(crate) environments: Environments,
}

impl std::fmt::Debug for HostRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostRuntime")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl HostRuntime {
    /// Creates the engine, links every import, and starts the epoch ticker thread
    /// (which ends by itself once the last clone of the runtime is dropped).
    ///
    /// # Errors
    /// Fails if wasmtime cannot be configured on this platform or the ticker thread
    /// cannot be spawned.
    pub fn new(config: HostConfig) -> Result<Self, LoadError> {
        let mut wasm_config = Config::new();
        wasm_config.epoch_interruption(true);
        // Debug builds (the test suites) compile every module with an unoptimised
        // Cranelift, which halves the time a module takes to compile; the guest code
        // is then slower, which no test measures.
        let opt_level = if cfg!(debug_assertions) {
            OptLevel::None
        } else {
            OptLevel::Speed
        };
        wasm_config.cranelift_opt_level(opt_level);
        let engine = Engine::new(&wasm_config).map_err(|e| LoadError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        abi::link_imports(&mut linker).map_err(|e| LoadError::Engine(format!("cannot link the host imports: {e}")))?;
        start_epoch_ticker(&engine)?;
        Ok(Self {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                config,
                egress: OnceLock::new(),
                environments: Environments::default(),
            }),
        })
    }

    /// The limits instances of this runtime run under.
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// The environment values of the databases this runtime serves: set them here, and
    /// modules read them with `env_get`.
    pub fn environments(&self) -> &Environments {
        &self.inner.environments
    }

    /// The outbound HTTP client of procedures.
    pub(crate) fn egress(&self) -> Result<Arc<Egress>, String> {
        self.inner
            .egress
            .get_or_init(|| Egress::new(self.inner.config.allow_private_http).map(Arc::new))
            .clone()
    }

    /// Compiles and checks a module, runs its set-up exports and reads its definition.
    ///
    /// See [`ModuleProgram`] for the steps.
    ///
    /// # Errors
    /// Returns a [`LoadError`] naming what is wrong with the module and how to fix it.
    pub fn load(&self, wasm: &[u8]) -> Result<ModuleProgram, LoadError> {
        ModuleProgram::load(self, wasm)
    }
}

/// Advances the epoch of `engine` every [`EPOCH_TICK`] until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) -> Result<(), LoadError> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("spacetime-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .map(drop)
        .map_err(|e| LoadError::Engine(format!("cannot start the epoch ticker thread: {e}")))
}

/// The guest-memory limit of one instance.
#[derive(Debug)]
pub(crate) struct GuestLimits {
    pub(crate) memory_limit: usize,
}

/// The error a denied `memory.grow` traps with, so the call reports out-of-memory.
#[derive(Debug, thiserror::Error)]
#[error("the module tried to grow its memory to {desired} bytes, past the limit of {limit} bytes")]
pub(crate) struct MemoryLimitExceeded {
    pub(crate) desired: usize,
    pub(crate) limit: usize,
}

/// Most table elements an instance may have; Rust modules use a few hundred.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl ResourceLimiter for GuestLimits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                desired,
                limit: self.memory_limit,
            }));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
