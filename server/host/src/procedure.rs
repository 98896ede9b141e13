//! Procedures: calls that run outside any transaction, on the caller's thread (the
//! engine's blocking pool), and open their own transactions with `with_tx`.
//!
//! # Lending a transaction across threads
//! The datastore belongs to the database's actor. When a procedure asks for a transaction
//! (`procedure_start_mut_tx`), the host asks its [`ProcedureHost`] for one; the engine's
//! actor begins a `MutTx` and calls [`lend_tx`], which hands a [`TxLoan`] to the
//! procedure's thread and blocks until the loan comes back with a [`TxEnd`] (or is
//! dropped, which aborts). While it blocks the actor serves nothing else, exactly as while
//! a reducer runs, so the procedure's thread has the transaction to itself; the actor then
//! commits through its one commit funnel, or rolls back.

use crate::error::ReducerError;
use spacetime_datastore::MutTx;
use spacetime_sats::{ConnectionId, Identity, Timestamp};
use std::ptr::NonNull;
use std::sync::mpsc;
use std::time::Duration;

/// One procedure call.
#[derive(Debug, Clone, Copy)]
pub struct ProcedureCall<'a> {
    /// The procedure's position in the module definition.
    pub procedure_id: u32,
    /// Who is calling.
    pub caller_identity: Identity,
    /// The caller's connection, if any.
    pub caller_connection_id: Option<ConnectionId>,
    /// The call's start time, `ctx.timestamp` in the module.
    pub timestamp: Timestamp,
    /// BSATN of the procedure's parameters, as a product.
    pub args_bsatn: &'a [u8],
}

/// What a procedure call did.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureOutcome {
    /// The BSATN of the returned value, or why there is none. Transactions the
    /// procedure committed before failing stay committed.
    pub result: Result<Vec<u8>, ReducerError>,
    /// How long the call took.
    pub duration: Duration,
    /// How many transactions it committed.
    pub committed: u32,
}

/// How a lent transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxEnd {
    /// Commit it.
    Commit,
    /// Roll it back.
    Abort,
}

/// A transaction lent by the actor to a procedure's thread; see the module docs.
///
/// Dropping it without [`TxLoan::finish`] aborts the transaction.
pub struct TxLoan {
    tx: NonNull<MutTx<'static>>,
    timestamp: Timestamp,
    done: mpsc::SyncSender<TxEnd>,
}

// SAFETY: the pointee is only reached through `&mut TxLoan`, and the lender (`lend_tx`)
// does not touch the transaction until the loan is finished or dropped.
unsafe impl Send for TxLoan {}

impl std::fmt::Debug for TxLoan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxLoan").field("timestamp", &self.timestamp).finish()
    }
}

impl TxLoan {
    /// The transaction's time.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// The transaction.
    pub(crate) fn tx(&mut self) -> &mut MutTx<'static> {
        // SAFETY: `lend_tx` keeps the transaction alive and untouched while the loan
        // exists, and `&mut self` makes this the only reference.
        unsafe { self.tx.as_mut() }
    }

    /// Gives the transaction back, to be committed or rolled back.
    pub fn finish(self, end: TxEnd) {
        // The lender may have stopped waiting only if its thread died; nothing to do then.
        let _ = self.done.send(end);
    }
}

/// Lends `tx` (whose time is `timestamp`) through `hand_over`, which delivers the loan to
/// the procedure's thread, then waits until the loan is finished or dropped, wherever it
/// went. Returns how the borrower ended it (`Abort` if it was dropped, for instance
/// because it could not be delivered).
///
/// A borrower that keeps the loan forever blocks this call forever; the host's time budget
/// bounds how long a procedure's wasm code may hold it.
pub fn lend_tx(tx: &mut MutTx<'_>, timestamp: Timestamp, hand_over: impl FnOnce(TxLoan)) -> TxEnd {
    let (done, ended) = mpsc::sync_channel(1);
    // Only the lifetime is erased: this function does not return while the loan exists.
    let loan = TxLoan {
        tx: NonNull::from(tx).cast::<MutTx<'static>>(),
        timestamp,
        done,
    };
    hand_over(loan);
    // The loan holds the only sender: this returns once it is finished or dropped.
    ended.recv().unwrap_or(TxEnd::Abort)
}

/// What a running procedure asks of the engine.
pub trait ProcedureHost: Send {
    /// Blocks until the database lends a transaction (see [`lend_tx`]); `None` if it
    /// cannot (the database stopped).
    fn begin_tx(&mut self) -> Option<TxLoan>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacetime_datastore::Datastore;

    /// Lends a transaction to another thread, which ends the loan with `borrow`.
    fn lend_to_thread(borrow: impl FnOnce(TxLoan) + Send + 'static) -> TxEnd {
        let mut ds = Datastore::new();
        let mut tx = ds.begin_mut_tx();
        let (send, receive) = mpsc::channel::<TxLoan>();
        let borrower = std::thread::spawn(move || {
            if let Ok(loan) = receive.recv() {
                borrow(loan);
            }
        });
        let end = lend_tx(&mut tx, Timestamp::UNIX_EPOCH, |loan| {
            send.send(loan).expect("the borrower waits");
        });
        borrower.join().expect("the borrower thread");
        end
    }

    #[test]
    fn the_borrower_decides_how_the_transaction_ends() {
        assert_eq!(lend_to_thread(|loan| loan.finish(TxEnd::Commit)), TxEnd::Commit);
        assert_eq!(lend_to_thread(|loan| loan.finish(TxEnd::Abort)), TxEnd::Abort);
    }

    #[test]
    fn a_dropped_loan_aborts() {
        assert_eq!(
            lend_to_thread(|mut loan| {
                let _ = loan.tx();
                drop(loan);
            }),
            TxEnd::Abort
        );
    }

    #[test]
    fn an_undelivered_loan_aborts_at_once() {
        let mut ds = Datastore::new();
        let mut tx = ds.begin_mut_tx();
        assert_eq!(lend_tx(&mut tx, Timestamp::UNIX_EPOCH, drop), TxEnd::Abort);
    }
}
