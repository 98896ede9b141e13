//! [`ModuleProgram`]: a compiled, checked and described module, ready to instantiate;
//! and the set-up sequence every new instance goes through (shared with
//! [`ModuleInstance`](crate::ModuleInstance), which re-runs it after a trap).
//!
//! Loading a module:
//! 1. compile it once into a wasmtime `Module`;
//! 2. check the exports: `memory`, `__call_reducer__` and `__describe_module__` with
//!    their exact signatures, and the optional set-up exports' signatures;
//! 3. detect the ABI version from the imports (see [`AbiVersion`]);
//! 4. resolve every import once into an `InstancePre`;
//! 5. instantiate: `_initialize` if present, every `__preinit__*` sorted by name,
//!    `__setup__` if present, then `__describe_module__` into a bytes sink;
//! 6. decode the `RawModuleDef` and validate it into a [`ModuleDef`].

use crate::abi::memory::HostTrap;
use crate::abi::{detect_abi_version, AbiVersion};
use crate::env::InstanceEnv;
use crate::environment::Environments;
use crate::error::{LoadError, ReducerError};
use crate::limits::SinkKind;
use crate::logs::{DiscardLogs, LogSink};
use crate::runtime::{HostConfig, HostRuntime, MemoryLimitExceeded};
use spacetime_sats::bsatn::from_slice;
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::RawModuleDef;
use spacetime_sats::Identity;
use std::sync::{Arc, OnceLock};
use wasmtime::{ExternType, FuncType, InstancePre, Module, Store, Trap, TypedFunc, ValType};

/// The `__call_reducer__` parameters: id, sender limbs ×4, connection id limbs ×2,
/// timestamp, args source, error sink.
pub(crate) type CallReducerParams = (u32, u64, u64, u64, u64, u64, u64, i64, u32, u32);

/// The `__call_http_handler__` parameters: handler id, sender limbs ×4, JWT source,
/// timestamp, request head source, request body source, response head sink, response
/// body sink.
pub(crate) type CallHttpHandlerParams = (u32, u64, u64, u64, u64, u32, i64, u32, u32, u32, u32);

/// The `__call_view__` parameters: view id, sender limbs ×4, args source, result sink.
pub(crate) type CallViewParams = (u32, u64, u64, u64, u64, u32, u32);

/// The `__call_view_anon__` parameters: view id, args source, result sink.
pub(crate) type CallViewAnonParams = (u32, u32, u32);

const CALL_VIEW_SIG: &str = "(i32, i64, i64, i64, i64, i32, i32) -> (i32)";
const CALL_VIEW_ANON_SIG: &str = "(i32, i32, i32) -> (i32)";
const CALL_HTTP_HANDLER_SIG_2_10: &str = "(i32, i64, i32, i32, i32, i32) -> (i32)";
const CALL_HTTP_HANDLER_SIG: &str = "(i32, i64, i64, i64, i64, i32, i64, i32, i32, i32, i32) -> (i32)";
const CALL_REDUCER_SIG: &str = "(i32, i64, i64, i64, i64, i64, i64, i64, i32, i32) -> (i32)";
const DESCRIBE_SIG: &str = "(i32) -> ()";
const NULLARY_SIG: &str = "() -> ()";
const SETUP_SIG: &str = "(i32) -> (i32)";

/// A loaded module: compiled code, its resolved imports and its validated definition.
///
/// Cheap to clone. Create instances with [`ModuleProgram::instantiate`].
#[derive(Clone)]
pub struct ModuleProgram {
    pub(crate) inner: Arc<ProgramInner>,
}

pub(crate) struct ProgramInner {
    pub(crate) runtime: HostRuntime,
    pub(crate) instance_pre: InstancePre<InstanceEnv>,
    /// `__preinit__*` exports, sorted by name.
    pub(crate) preinits: Vec<String>,
    pub(crate) has_initialize: bool,
    pub(crate) has_setup: bool,
    pub(crate) abi_version: AbiVersion,
    pub(crate) raw_def: RawModuleDef,
    pub(crate) def: ModuleDef,
    pub(crate) reducer_names: Arc<[String]>,
}

impl std::fmt::Debug for ModuleProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleProgram")
            .field("abi_version", &self.inner.abi_version)
            .field("tables", &self.inner.def.tables.len())
            .field("reducers", &self.inner.reducer_names)
            .finish_non_exhaustive()
    }
}

impl ModuleProgram {
    pub(crate) fn load(runtime: &HostRuntime, wasm: &[u8]) -> Result<Self, LoadError> {
        let checked = CheckedModule::new(runtime, wasm)?;
        let described = checked.describe(runtime)?;
        let def =
            ModuleDef::try_from(described.raw_def.clone()).map_err(|e| LoadError::InvalidDefinition(e.to_string()))?;
        let reducer_names: Arc<[String]> = def.reducers.iter().map(|r| r.name.clone()).collect();
        Ok(Self {
            inner: Arc::new(ProgramInner {
                runtime: runtime.clone(),
                instance_pre: checked.instance_pre,
                preinits: checked.preinits,
                has_initialize: checked.has_initialize,
                has_setup: checked.has_setup,
                abi_version: checked.abi_version,
                raw_def: described.raw_def,
                def,
                reducer_names,
            }),
        })
    }

    /// Whether `other` is this very program (a clone of it), not just an equal one.
    pub fn same_program(&self, other: &ModuleProgram) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The validated module definition.
    pub fn module_def(&self) -> &ModuleDef {
        &self.inner.def
    }

    /// The module definition exactly as the module described itself.
    pub fn raw_module_def(&self) -> &RawModuleDef {
        &self.inner.raw_def
    }

    /// The ABI version the module was built for.
    pub fn abi_version(&self) -> AbiVersion {
        self.inner.abi_version
    }

    /// The limits its instances run under.
    pub fn config(&self) -> &HostConfig {
        &self.inner.runtime.inner.config
    }
}

/// Compiles `wasm`, runs its set-up and describe exports, and returns its raw module
/// definition without validating it (for code generation and tests).
///
/// Uses a process-wide runtime with the default [`HostConfig`].
///
/// # Errors
/// As [`HostRuntime::load`], except that the definition is not validated.
pub fn extract_raw_module_def(wasm: &[u8]) -> Result<RawModuleDef, LoadError> {
    static RUNTIME: OnceLock<Result<HostRuntime, LoadError>> = OnceLock::new();
    let runtime = RUNTIME
        .get_or_init(|| HostRuntime::new(HostConfig::default()))
        .as_ref()
        .map_err(Clone::clone)?;
    Ok(CheckedModule::new(runtime, wasm)?.describe(runtime)?.raw_def)
}

/// A compiled module whose exports and imports have been checked.
struct CheckedModule {
    instance_pre: InstancePre<InstanceEnv>,
    preinits: Vec<String>,
    has_initialize: bool,
    has_setup: bool,
    abi_version: AbiVersion,
}

struct Described {
    raw_def: RawModuleDef,
}

impl CheckedModule {
    fn new(runtime: &HostRuntime, wasm: &[u8]) -> Result<Self, LoadError> {
        let module = Module::new(&runtime.inner.engine, wasm).map_err(|e| LoadError::Compile(e.to_string()))?;
        let mut exports = Exports::default();
        for export in module.exports() {
            exports.check(export.name(), export.ty())?;
        }
        exports.require()?;
        let abi_version = detect_abi_version(&module)?;
        let instance_pre = runtime
            .inner
            .linker
            .instantiate_pre(&module)
            .map_err(|e| LoadError::Instantiate(e.to_string()))?;
        exports.preinits.sort();
        Ok(Self {
            instance_pre,
            preinits: exports.preinits,
            has_initialize: exports.initialize,
            has_setup: exports.setup,
            abi_version,
        })
    }

    fn describe(&self, runtime: &HostRuntime) -> Result<Described, LoadError> {
        let setup = SetupPlan {
            instance_pre: &self.instance_pre,
            preinits: &self.preinits,
            has_initialize: self.has_initialize,
            has_setup: self.has_setup,
            config: &runtime.inner.config,
            environments: &runtime.inner.environments,
        };
        let warm = setup.instantiate(Identity::ZERO, Arc::new(DiscardLogs), Arc::from(Vec::new()))?;
        let raw_def =
            from_slice::<RawModuleDef>(&warm.describe_output).map_err(|e| LoadError::DescribeDecode(e.to_string()))?;
        Ok(Described { raw_def })
    }
}

/// What the export check found.
#[derive(Default)]
struct Exports {
    memory: bool,
    call_reducer: bool,
    describe: bool,
    initialize: bool,
    setup: bool,
    preinits: Vec<String>,
}

impl Exports {
    fn check(&mut self, name: &str, ty: ExternType) -> Result<(), LoadError> {
        let expect = |expected: &str| -> Result<(), LoadError> {
            let found = match &ty {
                ExternType::Func(f) => signature(f),
                ExternType::Memory(_) => "a memory".into(),
                ExternType::Global(_) => "a global".into(),
                ExternType::Table(_) => "a table".into(),
                _ => "another kind of export".into(),
            };
            if found == expected {
                Ok(())
            } else {
                Err(LoadError::ExportSignature {
                    name: name.into(),
                    expected: expected.into(),
                    found,
                })
            }
        };
        match name {
            "memory" => {
                if !matches!(ty, ExternType::Memory(_)) {
                    expect("a memory")?;
                }
                self.memory = true;
            }
            "__call_reducer__" => {
                expect(CALL_REDUCER_SIG)?;
                self.call_reducer = true;
            }
            "__call_procedure__" => expect(CALL_REDUCER_SIG)?,
            "__call_view__" => expect(CALL_VIEW_SIG)?,
            "__call_view_anon__" => expect(CALL_VIEW_ANON_SIG)?,
            // 2.14's form, or 2.10's (no sender, no JWT; such a module's handlers
            // cannot be called here, but its other exports can).
            "__call_http_handler__" => expect(CALL_HTTP_HANDLER_SIG).or_else(|_| expect(CALL_HTTP_HANDLER_SIG_2_10))?,
            "__describe_module__" => {
                expect(DESCRIBE_SIG)?;
                self.describe = true;
            }
            "_initialize" => {
                expect(NULLARY_SIG)?;
                self.initialize = true;
            }
            "__setup__" => {
                expect(SETUP_SIG)?;
                self.setup = true;
            }
            _ if name.starts_with("__preinit__") => {
                expect(NULLARY_SIG)?;
                self.preinits.push(name.into());
            }
            _ => {}
        }
        Ok(())
    }

    fn require(&self) -> Result<(), LoadError> {
        let hint = "is it a Spacetime module? Build it as a `cdylib` crate that depends on `spacetimedb` and declares at least one table or reducer";
        if !self.memory {
            return Err(LoadError::MissingExport {
                name: "memory",
                hint: "a module must export its linear memory as `memory`",
            });
        }
        if !self.describe {
            return Err(LoadError::MissingExport {
                name: "__describe_module__",
                hint,
            });
        }
        if !self.call_reducer {
            return Err(LoadError::MissingExport {
                name: "__call_reducer__",
                hint,
            });
        }
        Ok(())
    }
}

/// A function type as `(i32, i64) -> (i32)`.
fn signature(f: &FuncType) -> String {
    let name = |v: ValType| match v {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        ValType::V128 => "v128",
        ValType::Ref(_) => "ref",
    };
    let params = f.params().map(name).collect::<Vec<_>>().join(", ");
    let results = f.results().map(name).collect::<Vec<_>>().join(", ");
    format!("({params}) -> ({results})")
}

/// Everything needed to set up a new instance.
pub(crate) struct SetupPlan<'a> {
    pub(crate) instance_pre: &'a InstancePre<InstanceEnv>,
    pub(crate) preinits: &'a [String],
    pub(crate) has_initialize: bool,
    pub(crate) has_setup: bool,
    pub(crate) config: &'a HostConfig,
    pub(crate) environments: &'a Environments,
}

impl<'a> From<&'a ProgramInner> for SetupPlan<'a> {
    fn from(p: &'a ProgramInner) -> Self {
        Self {
            instance_pre: &p.instance_pre,
            preinits: &p.preinits,
            has_initialize: p.has_initialize,
            has_setup: p.has_setup,
            config: &p.runtime.inner.config,
            environments: &p.runtime.inner.environments,
        }
    }
}

/// A set-up instance: its store and the export a reducer call enters through.
pub(crate) struct Warm {
    pub(crate) store: Store<InstanceEnv>,
    pub(crate) call_reducer: TypedFunc<CallReducerParams, i32>,
    /// `__call_procedure__`, if the module exports it (same parameters; the last is the
    /// result sink).
    pub(crate) call_procedure: Option<TypedFunc<CallReducerParams, i32>>,
    /// `__call_http_handler__`, if the module exports it.
    pub(crate) call_http_handler: Option<TypedFunc<CallHttpHandlerParams, i32>>,
    /// `__call_view__`, if the module exports it.
    pub(crate) call_view: Option<TypedFunc<CallViewParams, i32>>,
    /// `__call_view_anon__`, if the module exports it.
    pub(crate) call_view_anon: Option<TypedFunc<CallViewAnonParams, i32>>,
    pub(crate) describe_output: Vec<u8>,
}

impl SetupPlan<'_> {
    /// Instantiates and runs the set-up sequence, including `__describe_module__`
    /// (Rust modules fill their dispatch tables only then).
    pub(crate) fn instantiate(
        &self,
        database_identity: Identity,
        logs: Arc<dyn LogSink>,
        reducer_names: Arc<[String]>,
    ) -> Result<Warm, LoadError> {
        let mut env = InstanceEnv::new(database_identity, logs, self.config.memory_limit, reducer_names);
        env.environments = self.environments.clone();
        let mut store = Store::new(self.instance_pre.module().engine(), env);
        store.limiter(|env| &mut env.limits);
        let ticks = self.config.budget_ticks();
        store.set_epoch_deadline(ticks);
        let instance = self
            .instance_pre
            .instantiate(&mut store)
            .map_err(|e| LoadError::Instantiate(describe_trap(&e, store.data_mut(), self.config)))?;
        store.data_mut().memory = instance.get_memory(&mut store, "memory");

        let trapped = |export: &str, e: wasmtime::Error, store: &mut Store<InstanceEnv>| LoadError::SetupTrapped {
            export: export.into(),
            message: describe_trap(&e, store.data_mut(), self.config),
        };
        let nullary = |store: &mut Store<InstanceEnv>, name: &str| -> Result<(), LoadError> {
            store.set_epoch_deadline(ticks);
            let f = instance
                .get_typed_func::<(), ()>(&mut *store, name)
                .map_err(|e| LoadError::Instantiate(e.to_string()))?;
            f.call(&mut *store, ()).map_err(|e| trapped(name, e, store))
        };
        if self.has_initialize {
            nullary(&mut store, "_initialize")?;
        }
        for name in self.preinits {
            nullary(&mut store, name)?;
        }
        if self.has_setup {
            let sink = store.data_mut().new_sink(SinkKind::SetupError);
            store.set_epoch_deadline(ticks);
            let f = instance
                .get_typed_func::<u32, i32>(&mut store, "__setup__")
                .map_err(|e| LoadError::Instantiate(e.to_string()))?;
            let code = f
                .call(&mut store, sink)
                .map_err(|e| trapped("__setup__", e, &mut store))?;
            let message = store.data_mut().take_sink(sink);
            if code != 0 {
                return Err(LoadError::SetupFailed(String::from_utf8_lossy(&message).into_owned()));
            }
        }
        let sink = store.data_mut().new_sink(SinkKind::ModuleDef);
        store.set_epoch_deadline(ticks);
        let describe = instance
            .get_typed_func::<u32, ()>(&mut store, "__describe_module__")
            .map_err(|e| LoadError::Instantiate(e.to_string()))?;
        describe
            .call(&mut store, sink)
            .map_err(|e| trapped("__describe_module__", e, &mut store))?;
        let describe_output = store.data_mut().take_sink(sink);
        store.data_mut().end_call();
        let call_reducer = instance
            .get_typed_func::<CallReducerParams, i32>(&mut store, "__call_reducer__")
            .map_err(|e| LoadError::Instantiate(e.to_string()))?;
        let call_procedure = instance
            .get_typed_func::<CallReducerParams, i32>(&mut store, "__call_procedure__")
            .ok();
        let call_http_handler = instance
            .get_typed_func::<CallHttpHandlerParams, i32>(&mut store, "__call_http_handler__")
            .ok();
        let call_view = instance
            .get_typed_func::<CallViewParams, i32>(&mut store, "__call_view__")
            .ok();
        let call_view_anon = instance
            .get_typed_func::<CallViewAnonParams, i32>(&mut store, "__call_view_anon__")
            .ok();
        Ok(Warm {
            store,
            call_reducer,
            call_procedure,
            call_http_handler,
            call_view,
            call_view_anon,
            describe_output,
        })
    }
}

/// Classifies a trap of a call into the module.
pub(crate) fn classify_trap(e: &wasmtime::Error, env: &mut InstanceEnv, config: &HostConfig) -> ReducerError {
    if let Some(oom) = e.downcast_ref::<MemoryLimitExceeded>() {
        return ReducerError::OutOfMemory(oom.to_string());
    }
    if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return ReducerError::OutOfTime {
            budget: config.reducer_time_budget,
        };
    }
    if let Some(message) = env.panic_message.take() {
        return ReducerError::Panic(message);
    }
    if let Some(host) = e.downcast_ref::<HostTrap>() {
        return ReducerError::Trap(host.to_string());
    }
    match e.downcast_ref::<Trap>() {
        Some(trap) => ReducerError::Trap(trap.to_string()),
        None => ReducerError::Trap(e.to_string()),
    }
}

/// A trap during set-up, as text.
fn describe_trap(e: &wasmtime::Error, env: &mut InstanceEnv, config: &HostConfig) -> String {
    match classify_trap(e, env, config) {
        ReducerError::Trap(message) => message,
        other => other.to_string(),
    }
}
