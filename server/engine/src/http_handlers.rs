//! Module HTTP handlers (unstable in SpacetimeDB) and immediate reducer calls.
//!
//! A handler runs like a procedure: off the actor, on tokio's blocking pool, in a pooled
//! instance, outside any transaction; its `with_tx` borrows transactions from the actor
//! ([`crate::requests::Request::ProcedureTx`]), which commits them through the funnel.
//! Each request gets a fresh random sender identity, as upstream: route requests are
//! anonymous.
//!
//! `volatile_nonatomic_schedule_immediate` queues reducer calls in the instance; the
//! engine takes them after every call and sends each to the actor as a
//! [`Request::Immediate`], so it runs after the requests already queued, in a
//! transaction of its own, as the database.

use crate::actor::Actor;
use crate::database::Database;
use crate::error::ActorGone;
use crate::module_logs::log_system;
use crate::procedures::{ActorTxs, ProcedureRunner};
use crate::requests::Request;
use spacetime_host::{
    HttpHandlerCall, HttpHandlerOutcome, ImmediateCall, LogLevel, ModuleInstance, ModuleProgram, ReducerCall,
};
use spacetime_sats::http::HttpRequest;
use spacetime_sats::{Identity, Timestamp};

/// The most HTTP handler calls of one database that run at once; later requests wait
/// for a slot. Route requests are anonymous, so without a bound a flood of slow ones
/// would take a blocking thread and a module instance each.
pub const MAX_RUNNING_HTTP_HANDLERS: usize = 32;

impl ProcedureRunner {
    /// Runs handler `handler_id` of `program` for `request` (head and body) on this
    /// thread, which must be allowed to block.
    pub(crate) fn run_http_handler_here(
        &self,
        program: &ModuleProgram,
        handler_id: u32,
        request: &HttpRequest,
        body: &[u8],
    ) -> HttpHandlerOutcome {
        self.with_instance(program, |instance, requests| {
            instance.call_http_handler(
                HttpHandlerCall {
                    handler_id,
                    sender: random_identity(),
                    timestamp: Timestamp::now(),
                    request,
                    body,
                },
                Box::new(ActorTxs { requests }),
            )
        })
        .unwrap_or_else(|e| HttpHandlerOutcome {
            result: Err(spacetime_host::HttpHandlerError::Failed {
                handler: program
                    .module_def()
                    .http_handlers
                    .get(handler_id as usize)
                    .map_or_else(|| format!("#{handler_id}"), |h| h.name.clone()),
                reason: spacetime_host::ReducerError::InstanceUnavailable(e.to_string()),
            }),
            duration: std::time::Duration::ZERO,
            committed: 0,
        })
    }
}

/// A fresh random identity: the sender of one route request.
fn random_identity() -> Identity {
    use rand_core::RngCore;
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    Identity::from_byte_array(bytes)
}

/// Sends each call `instance` queued with `volatile_nonatomic_schedule_immediate` to the
/// actor through `send`.
pub(crate) fn forward_immediate_calls(instance: &mut ModuleInstance, send: impl Fn(Request)) {
    for call in instance.take_immediate_calls() {
        send(Request::Immediate(call));
    }
}

impl Database {
    /// Calls HTTP handler `handler_id` (see `ModuleDef::match_http_route`) with `request`
    /// (the full external URI, method, version, headers) and `body`, on the blocking pool:
    /// the database keeps serving while it runs. Returns once the transactions it
    /// committed are durable. At most [`MAX_RUNNING_HTTP_HANDLERS`] run at once; a call
    /// waits for a slot. A handler that ran and failed is an `Ok` outcome with an error
    /// result.
    ///
    /// # Errors
    /// [`ActorGone`] if the database stopped.
    pub async fn call_http_handler(
        &self,
        handler_id: u32,
        request: HttpRequest,
        body: Vec<u8>,
    ) -> Result<HttpHandlerOutcome, ActorGone> {
        let runner = self.procedure_runner();
        // Waits for a slot (see `MAX_RUNNING_HTTP_HANDLERS`); the semaphore is never closed.
        let _slot = runner
            .http_handler_slots()
            .acquire_owned()
            .await
            .map_err(|_| self.gone())?;
        let program = self.program();
        let outcome =
            tokio::task::spawn_blocking(move || runner.run_http_handler_here(&program, handler_id, &request, &body))
                .await
                .map_err(|_| self.gone())?;
        if outcome.committed > 0 {
            self.barrier().await?;
        }
        Ok(outcome)
    }
}

impl Actor {
    /// Runs a reducer call queued with `volatile_nonatomic_schedule_immediate`: in a
    /// transaction of its own, as the database, with no connection. A failure is logged.
    pub(crate) fn run_immediate(&mut self, call: ImmediateCall) {
        let now = Timestamp::now();
        let program = self.instance.program().clone();
        let Some((reducer_id, _)) = program.module_def().reducer(&call.reducer) else {
            // The module changed since the call was queued.
            let message = format!(
                "immediate call of reducer `{}` dropped: the module has no such reducer",
                call.reducer
            );
            log_system(&self.module_logs, LogLevel::Error, Some(&call.reducer), message);
            return;
        };
        let outcome = self.instance.call_reducer(
            &mut self.db.datastore,
            ReducerCall {
                reducer_id,
                caller_identity: self.instance.database_identity(),
                caller_connection_id: None,
                timestamp: now,
                args_bsatn: &call.args,
                caller_jwt: None,
            },
        );
        crate::metrics::reducer_called(&self.db.metrics_label, &call.reducer, &outcome);
        match &outcome.result {
            Ok(tx) => self.db.commit(tx, now, None),
            Err(e) => {
                let message = format!("immediate call of reducer `{}` failed: {e}", call.reducer);
                log_system(&self.module_logs, LogLevel::Error, Some(&call.reducer), message);
            }
        }
    }

    /// Queues, behind the requests already waiting, the reducer calls the last call
    /// queued with `volatile_nonatomic_schedule_immediate`.
    pub(crate) fn forward_immediate_calls(&mut self) {
        if let Some(runner) = &self.procedures {
            forward_immediate_calls(&mut self.instance, |request| runner.send(request));
        }
    }
}
