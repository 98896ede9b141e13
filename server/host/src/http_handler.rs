//! HTTP handlers (unstable in SpacetimeDB): the host calls `__call_http_handler__` with a
//! request and reads back a response. Like a procedure, a handler runs outside any
//! transaction on the caller's thread (the engine's blocking pool) and opens its own with
//! `with_tx`; it may also make outbound HTTP requests.
//!
//! The export takes the handler's id, a sender identity (a fresh random one per request,
//! as SpacetimeDB does: route requests are anonymous), no JWT, the time, the request head
//! (BSATN `HttpRequest`) and body (raw bytes; an empty body is no source) as bytes
//! sources, and two sinks: the response head (BSATN `HttpResponse`) and the body.

use crate::error::ReducerError;
use crate::instance::{limbs, ModuleInstance};
use crate::limits::SinkKind;
use crate::procedure::ProcedureHost;
use crate::program::CallHttpHandlerParams;
use spacetime_sats::bsatn;
use spacetime_sats::http::{HttpRequest, HttpResponse};
use spacetime_sats::{Identity, Timestamp};
use std::time::{Duration, Instant};

/// One request for an HTTP handler.
#[derive(Debug, Clone, Copy)]
pub struct HttpHandlerCall<'a> {
    /// The handler's position in the module definition.
    pub handler_id: u32,
    /// The sender the handler and its transactions see.
    pub sender: Identity,
    /// The call's start time, `ctx.timestamp` in the module.
    pub timestamp: Timestamp,
    /// The request's method, URI (the full external one), version and headers.
    pub request: &'a HttpRequest,
    /// The request body.
    pub body: &'a [u8],
}

/// What a handler answered.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpHandlerResponse {
    /// Status, version and headers.
    pub head: HttpResponse,
    /// The body.
    pub body: Vec<u8>,
}

/// Why a handler gave no response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HttpHandlerError {
    /// The id is not a handler of the module.
    #[error("no such HTTP handler: the module has {count} handlers and id {id} is not one of them")]
    NoSuchHandler {
        /// The id asked for.
        id: u32,
        /// How many handlers the module has.
        count: usize,
    },
    /// The module declares handlers but does not export `__call_http_handler__`.
    #[error("the module does not export `__call_http_handler__`; build it with the `unstable` feature of the SpacetimeDB 2.x library")]
    NotExported,
    /// The handler panicked, trapped or ran out of time or memory.
    #[error("HTTP handler `{handler}` failed: {}", describe_failure(reason))]
    Failed {
        /// The handler's name.
        handler: String,
        /// What happened.
        reason: ReducerError,
    },
    /// The handler's response head is not a valid BSATN `HttpResponse`.
    #[error("HTTP handler `{handler}` returned a malformed response: {reason}")]
    MalformedResponse {
        /// The handler's name.
        handler: String,
        /// What is wrong.
        reason: String,
    },
}

/// What an HTTP handler call did.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpHandlerOutcome {
    /// The response, or why there is none. Transactions the handler committed before
    /// failing stay committed.
    pub result: Result<HttpHandlerResponse, HttpHandlerError>,
    /// How long the call took.
    pub duration: Duration,
    /// How many transactions it committed.
    pub committed: u32,
}

/// `reason` in a handler's words (the shared error speaks of reducers).
fn describe_failure(reason: &ReducerError) -> String {
    match reason {
        ReducerError::Panic(message) => format!("it panicked: {message}"),
        ReducerError::OutOfTime { budget } => format!(
            "it ran longer than the time budget of {budget:?} and was stopped; make it do less work per request"
        ),
        ReducerError::OutOfMemory(message) => format!("it ran out of memory: {message}"),
        ReducerError::Trap(message) => format!("it trapped: {message}"),
        ReducerError::InvalidReturn(code) => {
            format!("`__call_http_handler__` returned {code}; handlers always return 0")
        }
        other => other.to_string(),
    }
}

impl ModuleInstance {
    /// Calls an HTTP handler outside any transaction, on this thread; `host` lends it
    /// transactions when it asks (`with_tx`), as for a procedure.
    pub fn call_http_handler(&mut self, call: HttpHandlerCall<'_>, host: Box<dyn ProcedureHost>) -> HttpHandlerOutcome {
        let start = Instant::now();
        let mut committed = 0;
        let result = self.run_http_handler(call, host, &mut committed);
        HttpHandlerOutcome {
            result,
            duration: start.elapsed(),
            committed,
        }
    }

    fn run_http_handler(
        &mut self,
        call: HttpHandlerCall<'_>,
        host: Box<dyn ProcedureHost>,
        committed: &mut u32,
    ) -> Result<HttpHandlerResponse, HttpHandlerError> {
        let handlers = &self.program().module_def().http_handlers;
        let name = handlers
            .get(call.handler_id as usize)
            .ok_or(HttpHandlerError::NoSuchHandler {
                id: call.handler_id,
                count: handlers.len(),
            })?
            .name
            .clone();
        let head = bsatn::to_vec(call.request);
        let mut exported = true;
        let returned = self.run_outside_tx(
            call.timestamp,
            host,
            committed,
            |warm| {
                let Some(func) = warm.call_http_handler.clone() else {
                    // Reported as `NotExported` below; this error only ends the call.
                    exported = false;
                    return Err(ReducerError::ProcedureUnavailable(
                        HttpHandlerError::NotExported.to_string(),
                    ));
                };
                let env = warm.store.data_mut();
                let request = env.new_source(&head);
                let body = env.new_source(call.body);
                let head_sink = env.new_sink(SinkKind::HttpResponseHead);
                let body_sink = env.new_sink(SinkKind::HttpResponseBody);
                let [s0, s1, s2, s3] = limbs::<32, 4>(call.sender.to_byte_array());
                let params: CallHttpHandlerParams = (
                    call.handler_id,
                    s0,
                    s1,
                    s2,
                    s3,
                    0,
                    call.timestamp.to_micros_since_unix_epoch(),
                    request,
                    body,
                    head_sink,
                    body_sink,
                );
                Ok((func.call(&mut warm.store, params), (head_sink, body_sink)))
            },
            |code, (head_sink, body_sink), env| match code {
                0 => Ok((env.take_sink(head_sink), env.take_sink(body_sink))),
                code => Err(ReducerError::InvalidReturn(code)),
            },
        );
        if !exported {
            return Err(HttpHandlerError::NotExported);
        }
        let (head, body) = returned.map_err(|reason| HttpHandlerError::Failed {
            handler: name.clone(),
            reason,
        })?;
        let head = bsatn::from_slice::<HttpResponse>(&head).map_err(|e| HttpHandlerError::MalformedResponse {
            handler: name,
            reason: e.to_string(),
        })?;
        Ok(HttpHandlerResponse { head, body })
    }
}
