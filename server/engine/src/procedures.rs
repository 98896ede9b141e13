//! Procedures: run off the actor, on tokio's blocking pool, each in a module instance of
//! its own (pooled), so the database keeps serving while one waits on HTTP or sleeps.
//!
//! A procedure's `with_tx` asks the actor for a transaction ([`Request::ProcedureTx`]);
//! the actor lends it with [`spacetime_host::lend_tx`] and, once the procedure commits,
//! ends it in the commit funnel like any other transaction. A WebSocket caller's
//! `ProcedureResult` goes back through the actor ([`Request::ProcedureDone`]), after the
//! procedure's commits, so the caller sees their updates first.

use crate::actor::Actor;
use crate::error::CallRefused;
use crate::module_logs::{log_system, LogForwarder, ModuleLogs};
use crate::requests::Request;
use crate::schedule::ScheduledCall;
use spacetime_host::{
    lend_tx, FunctionKind, LogLevel, ModuleInstance, ModuleProgram, ProcedureCall, ProcedureHost, ProcedureOutcome,
    ReducerError, TxEnd, TxLoan,
};
use spacetime_protocol::v2::{CallProcedure, ProcedureResult, ProcedureStatus, ServerMessage};
use spacetime_sats::def::model::{ModuleDef, ProcedureDef};
use spacetime_sats::def::raw::FunctionVisibility;
use spacetime_sats::{ConnectionId, Identity, TimeDuration, Timestamp};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// How many idle procedure instances a database keeps warm.
const MAX_IDLE_INSTANCES: usize = 4;

/// A procedure call, owned, to move to the blocking pool.
#[derive(Debug, Clone)]
pub(crate) struct OwnedProcedureCall {
    pub(crate) procedure_id: u32,
    pub(crate) caller: Identity,
    pub(crate) connection_id: Option<ConnectionId>,
    pub(crate) args: Vec<u8>,
}

/// Runs a database's procedures: the way to its actor and a pool of idle instances.
#[derive(Clone)]
pub(crate) struct ProcedureRunner {
    inner: Arc<RunnerInner>,
}

struct RunnerInner {
    identity: Identity,
    requests: mpsc::Sender<Request>,
    logs: Arc<ModuleLogs>,
    idle: Mutex<Vec<ModuleInstance>>,
    runtime: tokio::runtime::Handle,
    /// Bounds the HTTP handler calls running at once (they are anonymous requests).
    http_handler_slots: Arc<tokio::sync::Semaphore>,
}

impl ProcedureRunner {
    /// A runner for database `identity`, whose actor reads `requests`. Must be created
    /// inside the tokio runtime whose blocking pool runs the procedures.
    pub(crate) fn new(identity: Identity, requests: mpsc::Sender<Request>, logs: Arc<ModuleLogs>) -> Self {
        Self {
            inner: Arc::new(RunnerInner {
                identity,
                requests,
                logs,
                idle: Mutex::new(Vec::new()),
                http_handler_slots: Arc::new(tokio::sync::Semaphore::new(
                    crate::http_handlers::MAX_RUNNING_HTTP_HANDLERS,
                )),
                runtime: tokio::runtime::Handle::current(),
            }),
        }
    }

    /// Runs `call` of `program` on this thread (which must be allowed to block).
    pub(crate) fn run_here(&self, program: &ModuleProgram, call: &OwnedProcedureCall) -> ProcedureOutcome {
        self.with_instance(program, |instance, requests| {
            instance.call_procedure(
                ProcedureCall {
                    procedure_id: call.procedure_id,
                    caller_identity: call.caller,
                    caller_connection_id: call.connection_id,
                    timestamp: Timestamp::now(),
                    args_bsatn: &call.args,
                },
                Box::new(ActorTxs { requests }),
            )
        })
        .unwrap_or_else(|e| ProcedureOutcome {
            result: Err(ReducerError::InstanceUnavailable(e.to_string())),
            duration: Duration::ZERO,
            committed: 0,
        })
    }

    /// Runs `run` on an idle (or new) instance of `program`, with the way to the actor,
    /// then forwards the reducer calls it queued with `volatile_nonatomic_schedule_immediate`
    /// to the actor and puts the instance back.
    ///
    /// # Errors
    /// If no instance could be created.
    pub(crate) fn with_instance<T>(
        &self,
        program: &ModuleProgram,
        run: impl FnOnce(&mut ModuleInstance, mpsc::Sender<Request>) -> T,
    ) -> Result<T, spacetime_host::LoadError> {
        let mut instance = self.checkout(program)?;
        let result = run(&mut instance, self.inner.requests.clone());
        crate::http_handlers::forward_immediate_calls(&mut instance, |request| self.send(request));
        self.give_back(instance);
        Ok(result)
    }

    /// Runs `call` on the blocking pool and hands the outcome to `done` there.
    pub(crate) fn spawn(
        &self,
        program: ModuleProgram,
        call: OwnedProcedureCall,
        done: impl FnOnce(ProcedureOutcome) + Send + 'static,
    ) {
        let runner = self.clone();
        self.inner
            .runtime
            .spawn_blocking(move || done(runner.run_here(&program, &call)));
    }

    /// The permits for HTTP handler calls: one per call running.
    pub(crate) fn http_handler_slots(&self) -> Arc<tokio::sync::Semaphore> {
        self.inner.http_handler_slots.clone()
    }

    /// Sends `request` to the actor (nothing happens if it is gone).
    pub(crate) fn send(&self, request: Request) {
        let _ = self.inner.requests.send(request);
    }

    /// An idle instance of `program`, or a new one. Instances of an older program are
    /// dropped.
    fn checkout(&self, program: &ModuleProgram) -> Result<ModuleInstance, spacetime_host::LoadError> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(instance) = idle.pop() {
            if instance.program().same_program(program) {
                return Ok(instance);
            }
        }
        drop(idle);
        program.instantiate(self.inner.identity, Arc::new(LogForwarder(self.inner.logs.clone())))
    }

    fn give_back(&self, instance: ModuleInstance) {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE_INSTANCES {
            idle.push(instance);
        }
    }
}

/// Asks the actor for transactions, from a procedure's (or HTTP handler's) thread.
pub(crate) struct ActorTxs {
    pub(crate) requests: mpsc::Sender<Request>,
}

impl ProcedureHost for ActorTxs {
    fn begin_tx(&mut self) -> Option<TxLoan> {
        let (reply, loan) = oneshot::channel();
        self.requests.send(Request::ProcedureTx { reply }).ok()?;
        loan.blocking_recv().ok()
    }
}

/// The procedure `name` of `module` (its id and definition) if a client that `is_owner`
/// (or not) may call it: private (scheduled) procedures are the owner's only.
///
/// # Errors
/// [`CallRefused`] saying why not.
pub(crate) fn admit_procedure<'m>(
    module: &'m ModuleDef,
    name: &str,
    is_owner: bool,
) -> Result<(u32, &'m ProcedureDef), CallRefused> {
    let Some((id, procedure)) = module.procedure(name) else {
        let mut callable: Vec<String> = module
            .reducers
            .iter()
            .filter(|r| r.lifecycle.is_none())
            .map(|r| r.name.clone())
            .collect();
        callable.extend(module.procedures.iter().map(|p| p.name.clone()));
        return Err(CallRefused::NoSuchReducer {
            name: name.to_owned(),
            callable,
        });
    };
    if matches!(procedure.visibility, FunctionVisibility::Private) && !is_owner {
        return Err(CallRefused::Private { name: name.to_owned() });
    }
    Ok((id, procedure))
}

impl Actor {
    /// Starts a due scheduled procedure on the blocking pool, as the database with no
    /// connection; a one-shot row's deletion commits first. A failure is logged.
    pub(crate) fn run_scheduled_procedure(&mut self, call: ScheduledCall, now: Timestamp) {
        let name = self.db.scheduler.function_of(&call).unwrap_or("?").to_owned();
        let Some((procedure_id, args, deleted)) = self.db.scheduler.take_procedure(&mut self.db.datastore, call, now)
        else {
            return;
        };
        if let Some(tx) = deleted {
            self.db.commit(&tx, now, None);
        }
        let Some(runner) = self.procedures.clone() else { return };
        let owned = OwnedProcedureCall {
            procedure_id,
            caller: self.instance.database_identity(),
            connection_id: None,
            args,
        };
        let logs = self.module_logs.clone();
        runner.spawn(self.instance.program().clone(), owned, move |outcome| {
            if let Err(e) = outcome.result {
                log_system(
                    &logs,
                    LogLevel::Error,
                    Some(&name),
                    format!(
                        "scheduled procedure `{name}` failed: {}",
                        e.describe(FunctionKind::Procedure)
                    ),
                );
            }
        });
    }

    /// A WebSocket client's procedure call: admitted here, run on the blocking pool; its
    /// `ProcedureResult` comes back through the actor after the procedure's commits.
    pub(crate) fn client_call_procedure(&mut self, connection_id: ConnectionId, caller: Identity, call: CallProcedure) {
        let timestamp = Timestamp::now();
        let program = self.instance.program().clone();
        let reply = move |status: ProcedureStatus, duration: Duration| {
            ServerMessage::ProcedureResult(ProcedureResult {
                status,
                timestamp,
                total_host_execution_duration: TimeDuration::from_micros(
                    duration.as_micros().min(i64::MAX as u128) as i64
                ),
                request_id: call.request_id,
            })
        };
        let admitted = match self.not_leader() {
            Some(refusal) => Err(refusal.to_string()),
            None => {
                admit_procedure(program.module_def(), &call.procedure, caller == self.owner).map_err(|e| e.to_string())
            }
        };
        let (procedure_id, runner) = match (admitted, &self.procedures) {
            (Ok((id, _)), Some(runner)) => (id, runner.clone()),
            (Err(e), _) => {
                let message = reply(ProcedureStatus::InternalError(e), Duration::ZERO);
                let offset = self.db.last_offset();
                self.db.subscriptions.send(connection_id, message.to_bytes(), offset);
                return;
            }
            (Ok(_), None) => return,
        };
        let owned = OwnedProcedureCall {
            procedure_id,
            caller,
            connection_id: Some(connection_id),
            args: call.args.clone(),
        };
        let back = runner.clone();
        runner.spawn(program, owned, move |outcome| {
            let status = match outcome.result {
                Ok(bytes) => ProcedureStatus::Returned(bytes),
                Err(e) => ProcedureStatus::InternalError(e.describe(FunctionKind::Procedure)),
            };
            let message = reply(status, outcome.duration);
            // The database may have stopped meanwhile; the client is gone with it.
            back.send(Request::ProcedureDone { connection_id, message });
        });
    }

    /// Lends a transaction to a procedure and waits for it; a commit ends in the funnel.
    pub(crate) fn lend_procedure_tx(&mut self, reply: oneshot::Sender<TxLoan>) {
        let timestamp = Timestamp::now();
        let mut tx = self.db.datastore.begin_mut_tx();
        let end = lend_tx(&mut tx, timestamp, |loan| {
            // If the procedure stopped waiting, the loan comes back and is dropped: abort.
            let _ = reply.send(loan);
        });
        match end {
            TxEnd::Commit => {
                let data = tx.commit();
                self.db.commit(&data, timestamp, None);
            }
            TxEnd::Abort => tx.rollback(),
        }
    }
}
