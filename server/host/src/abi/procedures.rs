//! The `spacetime_10.3` procedure imports: opening, committing and aborting a
//! procedure's transaction, sleeping, and outbound HTTP. Outside a procedure (in a
//! reducer, or during set-up) the transaction calls return `WOULD_BLOCK_TRANSACTION` or
//! `TRANSACTION_NOT_ANONYMOUS` as upstream's do.
//!
//! The blocking ones (waiting for a transaction, sleeping, HTTP) restore the call's epoch
//! deadline afterwards: time spent waiting on the host is not the module's to account for.

use super::memory::{with_env, AbiError, AbiResult, HostTrap};
use crate::env::{InstanceEnv, ProcedureState};
use crate::procedure::TxEnd;
use spacetime_sats::bsatn::{from_slice, to_vec};
use spacetime_sats::http::HttpRequest;
use spacetime_sats::{Errno, Timestamp};
use wasmtime::{AsContextMut, Caller};

type Cx<'a> = Caller<'a, InstanceEnv>;

/// Gives a call that waited on the host its full time budget back.
fn restore_deadline(cx: &mut Cx<'_>) {
    if let Some(ticks) = cx.data().procedure.as_ref().map(|p| p.budget_ticks) {
        cx.as_context_mut().set_epoch_deadline(ticks);
    }
}

/// The running procedure's state, or `errno` outside a procedure.
fn procedure(env: &mut InstanceEnv, errno: Errno) -> AbiResult<&mut ProcedureState> {
    env.procedure.as_mut().ok_or(AbiError::Errno(errno))
}

/// Opens a transaction for the running procedure (blocking until the database lends
/// one) and writes its timestamp, in microseconds since the Unix epoch, to `out` (`i64`).
///
/// # Traps
/// If `out` is out of bounds, or the database stopped.
///
/// # Errors
/// `WOULD_BLOCK_TRANSACTION` if a transaction is already open or this is not a procedure.
pub(crate) fn procedure_start_mut_tx(mut cx: Cx<'_>, out: u32) -> wasmtime::Result<u32> {
    const IMPORT: &str = "procedure_start_mut_tx";
    let result = with_env(&mut cx, IMPORT, |mut mem, env| {
        let state = procedure(env, Errno::WOULD_BLOCK_TRANSACTION)?;
        if state.loan.is_some() {
            return Err(AbiError::Errno(Errno::WOULD_BLOCK_TRANSACTION));
        }
        let loan = state.host.begin_tx().ok_or(HostTrap::Failed {
            import: IMPORT,
            message: "the database stopped while the procedure waited for a transaction".into(),
        })?;
        let timestamp = loan.timestamp();
        state.loan = Some(loan);
        env.call.timestamp = timestamp;
        mem.write_u64("out", out, timestamp.to_micros_since_unix_epoch() as u64)?;
        Ok(0)
    });
    restore_deadline(&mut cx);
    result
}

/// Ends the procedure's open transaction with `end`.
fn end_tx(cx: &mut Cx<'_>, import: &'static str, end: TxEnd) -> wasmtime::Result<u32> {
    with_env(cx, import, |_, env| {
        let state = procedure(env, Errno::TRANSACTION_NOT_ANONYMOUS)?;
        let loan = state
            .loan
            .take()
            .ok_or(AbiError::Errno(Errno::TRANSACTION_NOT_ANONYMOUS))?;
        if end == TxEnd::Commit {
            state.committed += 1;
        }
        loan.finish(end);
        Ok(0)
    })
}

/// Commits the procedure's open transaction.
///
/// # Errors
/// `TRANSACTION_NOT_ANONYMOUS` if none is open.
pub(crate) fn procedure_commit_mut_tx(mut cx: Cx<'_>) -> wasmtime::Result<u32> {
    end_tx(&mut cx, "procedure_commit_mut_tx", TxEnd::Commit)
}

/// Rolls back the procedure's open transaction.
///
/// # Errors
/// `TRANSACTION_NOT_ANONYMOUS` if none is open.
pub(crate) fn procedure_abort_mut_tx(mut cx: Cx<'_>) -> wasmtime::Result<u32> {
    end_tx(&mut cx, "procedure_abort_mut_tx", TxEnd::Abort)
}

/// Sleeps until `wake_micros` (microseconds since the Unix epoch) and returns the time
/// it woke.
///
/// # Traps
/// Outside a procedure, or with a transaction open (it would hold the database).
pub(crate) fn procedure_sleep_until(mut cx: Cx<'_>, wake_micros: i64) -> wasmtime::Result<i64> {
    const IMPORT: &str = "procedure_sleep_until";
    let result = with_env(&mut cx, IMPORT, |_, env| {
        let open = env.procedure.as_ref().map(|p| p.loan.is_some());
        if open != Some(false) {
            return Err(AbiError::Trap(HostTrap::Failed {
                import: IMPORT,
                message: "only a procedure outside `with_tx` may sleep".into(),
            }));
        }
        let wait =
            Timestamp::from_micros_since_unix_epoch(wake_micros).time_duration_since_saturating(Timestamp::now());
        if wait.to_micros() > 0 {
            std::thread::sleep(std::time::Duration::from_micros(wait.to_micros().unsigned_abs()));
        }
        Ok(Timestamp::now().to_micros_since_unix_epoch())
    });
    restore_deadline(&mut cx);
    result
}

/// Sends the HTTP request whose BSATN `HttpRequest` is `req_ptr[..req_len]` with body
/// `body_ptr[..body_len]` and waits for the response. On success `out` (two `u32`s)
/// receives a source holding the BSATN `HttpResponse` and a source holding the body (0
/// when empty); on failure `out[0]` receives a source holding the BSATN error text.
///
/// # Traps
/// If a pointer is out of bounds.
///
/// # Errors
/// `WOULD_BLOCK_TRANSACTION` inside a transaction or outside a procedure,
/// `BSATN_DECODE_ERROR` for a malformed request, `HTTP_ERROR` when the request failed
/// (refused by the address guard, timed out, body too large, …).
pub(crate) fn procedure_http_request(
    mut cx: Cx<'_>,
    req_ptr: u32,
    req_len: u32,
    body_ptr: u32,
    body_len: u32,
    out: u32,
) -> wasmtime::Result<u32> {
    let result = with_env(&mut cx, "procedure_http_request", |mut mem, env| {
        mem.bytes("out", out, 8)?;
        let request = from_slice::<HttpRequest>(mem.bytes("the request", req_ptr, req_len)?)
            .map_err(|_| AbiError::Errno(Errno::BSATN_DECODE_ERROR))?;
        let body = mem.bytes("the body", body_ptr, body_len)?.to_vec();
        let state = procedure(env, Errno::WOULD_BLOCK_TRANSACTION)?;
        if state.loan.is_some() {
            return Err(AbiError::Errno(Errno::WOULD_BLOCK_TRANSACTION));
        }
        let egress = state.egress.clone();
        match egress.send(&request, body) {
            Ok((head, body)) => {
                let head = env.new_source(&to_vec(&head));
                let body = env.new_source(&body);
                mem.write_u32("out", out, head)?;
                mem.write_u32("out", out + 4, body)?;
                Ok(0)
            }
            Err(e) => {
                let error = env.new_source(&to_vec(&e.to_string()));
                mem.write_u32("out", out, error)?;
                Ok(u32::from(Errno::HTTP_ERROR.code()))
            }
        }
    });
    restore_deadline(&mut cx);
    result
}
