//! [`ModuleInstance`]: a warm instance of a [`ModuleProgram`] serving one database,
//! and reducer calls on it: argument checks, one transaction per call, commit or
//! rollback, lifecycle reducers, and transparent replacement after a trap.

use crate::env::{CallInfo, ImmediateCall, InstanceEnv, ProcedureState};
use crate::error::{LoadError, ReducerError};
use crate::limits::SinkKind;
use crate::logs::{LogLevel, LogSink};
use crate::procedure::{ProcedureCall, ProcedureHost, ProcedureOutcome};
use crate::program::{classify_trap, CallReducerParams, ModuleProgram, SetupPlan, Warm};
use spacetime_datastore::{Datastore, MutTx, TxData};
use spacetime_sats::bsatn::value::skip_value;
use spacetime_sats::def::raw::Lifecycle;
use spacetime_sats::{ConnectionId, Identity, ProductType, ReducerId, Timestamp, Typespace};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One reducer call.
#[derive(Debug, Clone, Copy)]
pub struct ReducerCall<'a> {
    /// The reducer's position in the module definition.
    pub reducer_id: ReducerId,
    /// Who is calling.
    pub caller_identity: Identity,
    /// The caller's connection, if any (none for host-initiated calls).
    pub caller_connection_id: Option<ConnectionId>,
    /// The call's time, `ctx.timestamp` in the module.
    pub timestamp: Timestamp,
    /// BSATN of the reducer's parameters, as a product.
    pub args_bsatn: &'a [u8],
    /// The payload JSON of the caller's token, which the module reads with `get_jwt`
    /// (`ctx.sender_auth().jwt()`); `None` for host-initiated calls.
    pub caller_jwt: Option<&'a str>,
}

/// What a reducer call did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReducerOutcome {
    /// The committed changes, or why nothing was committed.
    pub result: Result<TxData, ReducerError>,
    /// How long the call took, from the argument check to the commit or rollback.
    pub duration: Duration,
}

impl ReducerOutcome {
    /// The committed changes, if the call committed.
    pub fn committed(&self) -> Option<&TxData> {
        self.result.as_ref().ok()
    }

    /// Why the call failed, if it did.
    pub fn error(&self) -> Option<&ReducerError> {
        self.result.as_ref().err()
    }
}

/// A warm instance of a module, bound to one database.
///
/// Calls run one at a time on the owner's thread; each is its own transaction on the
/// datastore passed in. After a trap the wasm instance is replaced by a fresh one
/// (set up and described again) before the call returns; otherwise it stays warm.
pub struct ModuleInstance {
    program: ModuleProgram,
    database_identity: Identity,
    logs: Arc<dyn LogSink>,
    warm: Result<Warm, LoadError>,
}

impl std::fmt::Debug for ModuleInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleInstance")
            .field("program", &self.program)
            .field("database_identity", &self.database_identity)
            .finish_non_exhaustive()
    }
}

impl ModuleProgram {
    /// Creates a warm instance serving the database `database_identity` (what the
    /// module's `identity` import returns), sending its logs to `logs`.
    ///
    /// # Errors
    /// A [`LoadError`] if instantiation or a set-up export fails.
    pub fn instantiate(
        &self,
        database_identity: Identity,
        logs: Arc<dyn LogSink>,
    ) -> Result<ModuleInstance, LoadError> {
        let warm = SetupPlan::from(&*self.inner).instantiate(
            database_identity,
            logs.clone(),
            self.inner.reducer_names.clone(),
        )?;
        Ok(ModuleInstance {
            program: self.clone(),
            database_identity,
            logs,
            warm: Ok(warm),
        })
    }
}

/// Checks that `args` is exactly the BSATN of the product `params`.
pub(crate) fn check_args(params: &ProductType, typespace: &Typespace, args: &[u8]) -> Result<(), String> {
    let mut rest = args;
    for (i, param) in params.elements.iter().enumerate() {
        skip_value(&param.algebraic_type, typespace, &mut rest).map_err(|e| match &param.name {
            Some(name) => format!("parameter `{name}`: {e}"),
            None => format!("parameter {i}: {e}"),
        })?;
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes left over after the last parameter", rest.len()));
    }
    Ok(())
}

fn describe_params(params: &ProductType) -> String {
    let names: Vec<String> = params
        .elements
        .iter()
        .enumerate()
        .map(|(i, p)| p.name.as_deref().map_or_else(|| format!("#{i}"), str::to_owned))
        .collect();
    names.join(", ")
}

/// Splits a little-endian byte array into `u64` limbs, low limb first.
pub(crate) fn limbs<const N: usize, const L: usize>(bytes: [u8; N]) -> [u64; L] {
    std::array::from_fn(|i| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("N == 8 * L")))
}

/// The parameters of `__call_reducer__` and `__call_procedure__`: the id, the caller's
/// identity and connection id as little-endian `u64` limbs (no connection is all zeros),
/// the time, the arguments source and the output sink.
fn call_params(
    id: u32,
    caller: Identity,
    connection_id: Option<ConnectionId>,
    timestamp: Timestamp,
    args: u32,
    sink: u32,
) -> CallReducerParams {
    let [s0, s1, s2, s3] = limbs::<32, 4>(caller.to_byte_array());
    let [c0, c1] = limbs::<16, 2>(connection_id.unwrap_or(ConnectionId::ZERO).as_le_byte_array());
    (
        id,
        s0,
        s1,
        s2,
        s3,
        c0,
        c1,
        timestamp.to_micros_since_unix_epoch(),
        args,
        sink,
    )
}

impl ModuleInstance {
    /// The program this is an instance of.
    pub fn program(&self) -> &ModuleProgram {
        &self.program
    }

    /// The database it serves.
    pub fn database_identity(&self) -> Identity {
        self.database_identity
    }

    /// The reducer calls the module queued with `volatile_nonatomic_schedule_immediate`
    /// since the last time this was asked, in order; the engine runs each right after
    /// the call that queued it.
    pub fn take_immediate_calls(&mut self) -> Vec<ImmediateCall> {
        match &mut self.warm {
            Ok(warm) => std::mem::take(&mut warm.store.data_mut().immediate),
            Err(_) => Vec::new(),
        }
    }

    /// Calls a reducer in a new transaction on `ds`: commits if it returns `Ok`, rolls
    /// back if it returns `Err` or traps. Bad arguments are rejected before the module
    /// runs.
    ///
    /// Any reducer can be called here, lifecycle and scheduled ones included: refusing
    /// client calls to reducers whose visibility is `Private` is the caller's job.
    pub fn call_reducer(&mut self, ds: &mut Datastore, call: ReducerCall<'_>) -> ReducerOutcome {
        self.call_reducer_then(ds, call, |_| {})
    }

    /// As [`ModuleInstance::call_reducer`], with `before_commit` run inside the
    /// reducer's transaction after it returned `Ok`, so its writes commit (or roll
    /// back) with the reducer's. The scheduler uses it to delete a one-shot row in the
    /// transaction that ran it.
    pub fn call_reducer_then(
        &mut self,
        ds: &mut Datastore,
        call: ReducerCall<'_>,
        before_commit: impl FnOnce(&mut MutTx<'_>),
    ) -> ReducerOutcome {
        let start = Instant::now();
        let result = self.check_call(&call).and_then(|()| {
            let mut tx = ds.begin_mut_tx();
            match self.run(&mut tx, &call) {
                Ok(()) => {
                    before_commit(&mut tx);
                    Ok(tx.commit())
                }
                Err(e) => {
                    tx.rollback();
                    Err(e)
                }
            }
        });
        ReducerOutcome {
            result,
            duration: start.elapsed(),
        }
    }

    fn check_call(&self, call: &ReducerCall<'_>) -> Result<(), ReducerError> {
        let def = self.program.module_def();
        let reducer = def.reducer_by_id(call.reducer_id).ok_or(ReducerError::NoSuchReducer {
            id: call.reducer_id.0,
            count: def.reducers.len(),
        })?;
        check_args(&reducer.params, &def.typespace, call.args_bsatn).map_err(|error| ReducerError::InvalidArgs {
            reducer: reducer.name.clone(),
            error,
            params: describe_params(&reducer.params),
        })
    }

    /// Runs the reducer inside `tx`, replacing the instance if it traps.
    pub(crate) fn run(&mut self, tx: &mut MutTx<'_>, call: &ReducerCall<'_>) -> Result<(), ReducerError> {
        let (warm, config) = self.warm_mut()?;
        let env = warm.store.data_mut();
        env.call = CallInfo {
            reducer: Some(call.reducer_id),
            timestamp: call.timestamp,
        };
        env.panic_message = None;
        env.caller_jwt = call
            .caller_connection_id
            .zip(call.caller_jwt)
            .map(|(connection_id, jwt)| (connection_id, jwt.into()));
        let args = env.new_source(call.args_bsatn);
        let err_sink = env.new_sink(SinkKind::ReducerError);
        warm.store.set_epoch_deadline(config.budget_ticks());
        let params = call_params(
            call.reducer_id.0,
            call.caller_identity,
            call.caller_connection_id,
            call.timestamp,
            args,
            err_sink,
        );
        let func = &warm.call_reducer;
        let returned = InstanceEnv::lend_tx(&mut warm.store, tx, |store| func.call(store, params));
        let env = warm.store.data_mut();
        let result = match returned {
            Ok(0) => Ok(()),
            Ok(1) => {
                let message = env.take_sink(err_sink);
                let error = String::from_utf8_lossy(&message).into_owned();
                env.recycle_sink(message);
                Err(ReducerError::User(error))
            }
            Ok(code) => Err(ReducerError::InvalidReturn(code)),
            Err(trap) => Err(classify_trap(&trap, env, config)),
        };
        env.end_call();
        if matches!(&result, Err(e) if e.is_trap()) {
            self.replace();
        }
        result
    }

    /// Calls a procedure outside any transaction, on this thread. `host` lends it
    /// transactions when it asks (`with_tx`); whatever they committed stays committed even
    /// if the procedure fails afterwards. A transaction still open when the procedure
    /// traps is rolled back.
    ///
    /// Like reducers, any procedure can be called here; refusing private ones to clients
    /// is the caller's job.
    pub fn call_procedure(&mut self, call: ProcedureCall<'_>, host: Box<dyn ProcedureHost>) -> ProcedureOutcome {
        let start = Instant::now();
        let mut committed = 0;
        let result = self
            .check_procedure_call(&call)
            .and_then(|()| self.run_procedure(&call, host, &mut committed));
        ProcedureOutcome {
            result,
            duration: start.elapsed(),
            committed,
        }
    }

    fn check_procedure_call(&self, call: &ProcedureCall<'_>) -> Result<(), ReducerError> {
        let def = self.program.module_def();
        let procedure = def
            .procedures
            .get(call.procedure_id as usize)
            .ok_or(ReducerError::NoSuchProcedure {
                id: call.procedure_id,
                count: def.procedures.len(),
            })?;
        check_args(&procedure.params, &def.typespace, call.args_bsatn).map_err(|error| ReducerError::InvalidArgs {
            reducer: procedure.name.clone(),
            error,
            params: describe_params(&procedure.params),
        })
    }

    fn run_procedure(
        &mut self,
        call: &ProcedureCall<'_>,
        host: Box<dyn ProcedureHost>,
        committed: &mut u32,
    ) -> Result<Vec<u8>, ReducerError> {
        self.run_outside_tx(
            call.timestamp,
            host,
            committed,
            |warm| {
                let func = warm.call_procedure.clone().ok_or_else(|| {
                    ReducerError::ProcedureUnavailable(
                        "the module does not export `__call_procedure__`; rebuild it with a SpacetimeDB 2.x library"
                            .into(),
                    )
                })?;
                let env = warm.store.data_mut();
                let args = env.new_source(call.args_bsatn);
                let sink = env.new_sink(SinkKind::ProcedureResult);
                let params = call_params(
                    call.procedure_id,
                    call.caller_identity,
                    call.caller_connection_id,
                    call.timestamp,
                    args,
                    sink,
                );
                Ok((func.call(&mut warm.store, params), sink))
            },
            |code, sink, env| match code {
                0 => Ok(env.take_sink(sink)),
                code => Err(ReducerError::InvalidReturn(code)),
            },
        )
    }

    /// Runs an export outside any transaction (a procedure or an HTTP handler): sets up
    /// what such calls may use (transactions lent by `host`, outbound HTTP, the time
    /// budget), lets `call` register its sources and sinks and call the export, and on a
    /// return hands its code and sinks to `read` before the handle tables are cleared.
    /// A transaction still open at the end is rolled back; after a trap the instance is
    /// replaced. `committed` gets how many transactions the call committed.
    pub(crate) fn run_outside_tx<S, T>(
        &mut self,
        timestamp: Timestamp,
        host: Box<dyn ProcedureHost>,
        committed: &mut u32,
        call: impl FnOnce(&mut Warm) -> Result<(wasmtime::Result<i32>, S), ReducerError>,
        read: impl FnOnce(i32, S, &mut InstanceEnv) -> Result<T, ReducerError>,
    ) -> Result<T, ReducerError> {
        if self.warm.is_err() {
            self.replace();
        }
        let egress = self
            .program
            .inner
            .runtime
            .egress()
            .map_err(|e| ReducerError::ProcedureUnavailable(format!("cannot start the HTTP client: {e}")))?;
        let config = self.program.config();
        let warm = self
            .warm
            .as_mut()
            .map_err(|e| ReducerError::InstanceUnavailable(e.to_string()))?;
        let env = warm.store.data_mut();
        env.call = CallInfo {
            reducer: None,
            timestamp,
        };
        env.panic_message = None;
        env.procedure = Some(ProcedureState {
            host,
            loan: None,
            egress,
            budget_ticks: config.budget_ticks(),
            committed: 0,
        });
        warm.store.set_epoch_deadline(config.budget_ticks());
        let returned = call(warm);
        let env = warm.store.data_mut();
        // Dropping an unfinished loan rolls its transaction back.
        let state = env.procedure.take();
        *committed = state.as_ref().map_or(0, |s| s.committed);
        drop(state);
        let result = match returned {
            Err(e) => Err(e),
            Ok((Ok(code), sinks)) => read(code, sinks, env),
            Ok((Err(trap), _)) => Err(classify_trap(&trap, env, config)),
        };
        env.end_call();
        if matches!(&result, Err(e) if e.is_trap()) {
            self.replace();
        }
        result
    }

    /// The warm instance (a fresh one first if a trap left none) and the host's limits:
    /// how every kind of call enters the module.
    pub(crate) fn warm_mut(&mut self) -> Result<(&mut Warm, &crate::runtime::HostConfig), ReducerError> {
        if self.warm.is_err() {
            self.replace();
        }
        let config = self.program.config();
        let warm = self
            .warm
            .as_mut()
            .map_err(|e| ReducerError::InstanceUnavailable(e.to_string()))?;
        Ok((warm, config))
    }

    /// Replaces the wasm instance with a freshly set-up one.
    pub(crate) fn replace(&mut self) {
        let inner = &self.program.inner;
        self.warm = SetupPlan::from(&**inner).instantiate(
            self.database_identity,
            self.logs.clone(),
            inner.reducer_names.clone(),
        );
        if let Err(e) = &self.warm {
            self.log_host(
                LogLevel::Error,
                format!("cannot replace the module instance after a trap: {e}"),
            );
        }
    }

    /// Logs a line on behalf of the host into the module's log.
    pub fn log_host(&self, level: LogLevel, message: String) {
        self.logs.log(crate::logs::ModuleLogRecord {
            level,
            ts: Timestamp::now(),
            target: Some("spacetime-host".into()),
            filename: None,
            line_number: None,
            function: None,
            message,
        });
    }

    /// Runs the lifecycle reducer for `lifecycle`, if the module has one; `None` if not.
    pub fn call_lifecycle(
        &mut self,
        ds: &mut Datastore,
        lifecycle: Lifecycle,
        caller_identity: Identity,
        caller_connection_id: Option<ConnectionId>,
        caller_jwt: Option<&str>,
        timestamp: Timestamp,
    ) -> Option<ReducerOutcome> {
        let (reducer_id, _) = self.program.module_def().lifecycle_reducer(lifecycle)?;
        Some(self.call_reducer(
            ds,
            ReducerCall {
                reducer_id,
                caller_identity,
                caller_connection_id,
                timestamp,
                args_bsatn: &[],
                caller_jwt,
            },
        ))
    }

    /// Runs the `init` reducer (on first publish, or after the database is cleared),
    /// with the owner as the sender and no connection. `None` if the module has none.
    /// If it fails, the publish should fail.
    pub fn call_init(&mut self, ds: &mut Datastore, owner: Identity, timestamp: Timestamp) -> Option<ReducerOutcome> {
        self.call_lifecycle(ds, Lifecycle::Init, owner, None, None, timestamp)
    }

    /// Runs `client_connected` for a new connection, whose token payload is `jwt`. A
    /// failure rejects the connection. `None` if the module has no such reducer (the
    /// connection is accepted).
    pub fn client_connected(
        &mut self,
        ds: &mut Datastore,
        identity: Identity,
        connection_id: ConnectionId,
        jwt: Option<&str>,
        timestamp: Timestamp,
    ) -> Option<ReducerOutcome> {
        self.call_lifecycle(ds, Lifecycle::OnConnect, identity, Some(connection_id), jwt, timestamp)
    }

    /// Runs `client_disconnected` for a closed connection, whose token payload is `jwt`
    /// when still known. A failure is only logged by the caller: it does not keep the
    /// client connected.
    pub fn client_disconnected(
        &mut self,
        ds: &mut Datastore,
        identity: Identity,
        connection_id: ConnectionId,
        jwt: Option<&str>,
        timestamp: Timestamp,
    ) -> Option<ReducerOutcome> {
        self.call_lifecycle(
            ds,
            Lifecycle::OnDisconnect,
            identity,
            Some(connection_id),
            jwt,
            timestamp,
        )
    }
}
