//! [`ProcedureContext`], what a `#[procedure]` receives, and [`TxContext`], what its
//! `with_tx` bodies receive.
//!
//! A procedure runs outside any transaction. `with_tx` asks the host for one
//! (`procedure_start_mut_tx`), runs the body with a [`TxContext`] (a [`ReducerContext`] for
//! that transaction) and commits; an `Err` from `try_with_tx` rolls back, and so does a
//! panic (it traps the module, and the host rolls back the open transaction).

use crate::context::{CtxDbRead, CtxDbWrite, CtxWithSender, CtxWithSenderAuth, CtxWithTimestamp, Local, LocalReadOnly};
use crate::env::Environment;
#[cfg(feature = "unstable")]
use crate::http::HandlerContext;
use crate::http::HttpClient;
use crate::rng::StdbRng;
use crate::{sys, AuthCtx, ReducerContext};
use core::cell::{Cell, OnceCell};
use core::ops::Deref;
use spacetime_sats::special::UuidError;
use spacetime_sats::{ConnectionId, Identity, Timestamp, Uuid};

/// What a procedure receives: who called it, when, outbound HTTP, and transactions.
#[non_exhaustive]
pub struct ProcedureContext {
    /// The database's environment values; outside `with_tx` each read is its own snapshot.
    pub env: Environment,
    sender: Identity,
    /// When the procedure started (updated by [`ProcedureContext::sleep_until`]).
    pub timestamp: Timestamp,
    connection_id: Option<ConnectionId>,
    /// Outbound HTTP requests.
    pub http: HttpClient,
    pub(crate) rng: OnceCell<StdbRng>,
    // The counter of `new_uuid_v7`, as in `ReducerContext`.
    counter_uuid: Cell<u32>,
}

impl ProcedureContext {
    pub(crate) fn new(sender: Identity, connection_id: Option<ConnectionId>, timestamp: Timestamp) -> Self {
        Self {
            env: Environment::default(),
            sender,
            timestamp,
            connection_id,
            http: HttpClient {},
            rng: OnceCell::new(),
            counter_uuid: Cell::new(0),
        }
    }

    /// The identity of the caller.
    pub fn sender(&self) -> Identity {
        self.sender
    }

    /// The connection of the caller, if any.
    pub fn connection_id(&self) -> Option<ConnectionId> {
        self.connection_id
    }

    /// The identity of this database.
    pub fn database_identity(&self) -> Identity {
        Identity::from_byte_array(sys::identity())
    }

    /// The identity of this database.
    #[deprecated(note = "use `ProcedureContext::database_identity` instead")]
    pub fn identity(&self) -> Identity {
        self.database_identity()
    }

    /// A random (version 4) [`Uuid`] from [`ProcedureContext::rng`].
    ///
    /// # Errors
    /// None in practice; the `Result` matches SpacetimeDB's signature.
    pub fn new_uuid_v4(&self) -> Result<Uuid, UuidError> {
        Ok(crate::rng::uuid_v4(self.rng()))
    }

    /// A time-ordered (version 7) [`Uuid`] from the procedure's timestamp, a counter and
    /// [`ProcedureContext::rng`].
    ///
    /// # Errors
    /// [`UuidError::BeforeUnixEpoch`] if the timestamp is before 1970.
    pub fn new_uuid_v7(&self) -> Result<Uuid, UuidError> {
        crate::rng::uuid_v7(self.rng(), &self.counter_uuid, self.timestamp)
    }

    /// Sleeps until about `timestamp`, then sets [`ProcedureContext::timestamp`] to the
    /// time it woke.
    pub fn sleep_until(&mut self, timestamp: Timestamp) {
        let woke = sys::procedure::sleep_until(timestamp.to_micros_since_unix_epoch());
        self.timestamp = Timestamp::from_micros_since_unix_epoch(woke);
    }

    /// Runs `body` in a new transaction and commits it. A panic in `body` rolls the
    /// transaction back and ends the procedure.
    ///
    /// `body` is `Fn` because, as upstream documents, a host may run it again if the commit
    /// fails; this host never does.
    pub fn with_tx<T>(&mut self, body: impl Fn(&TxContext) -> T) -> T {
        match self.try_with_tx::<T, core::convert::Infallible>(|tx| Ok(body(tx))) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// Runs `body` in a new transaction: commits on `Ok`, rolls back on `Err`.
    pub fn try_with_tx<T, E>(&mut self, body: impl Fn(&TxContext) -> Result<T, E>) -> Result<T, E> {
        let micros = sys::procedure::start_mut_tx()
            .unwrap_or_else(|e| panic!("cannot open a transaction (is another `with_tx` running?): {e}"));
        let tx = TxContext(ReducerContext::new(
            self.sender,
            self.connection_id,
            Timestamp::from_micros_since_unix_epoch(micros),
        ));
        let result = body(&tx);
        let ended = match &result {
            Ok(_) => sys::procedure::commit_mut_tx(),
            Err(_) => sys::procedure::abort_mut_tx(),
        };
        ended.unwrap_or_else(|e| panic!("ending the procedure's transaction failed: {e}"));
        result
    }
}

/// The context of a procedure's transaction: a [`ReducerContext`] (through `Deref`), so
/// `tx.db.my_table()` works as in a reducer.
pub struct TxContext(ReducerContext);

impl AsRef<ReducerContext> for TxContext {
    fn as_ref(&self) -> &ReducerContext {
        &self.0
    }
}

impl Deref for TxContext {
    type Target = ReducerContext;

    fn deref(&self) -> &ReducerContext {
        &self.0
    }
}

impl CtxDbRead for TxContext {
    fn db_read_only(&self) -> &LocalReadOnly {
        self.0.db_read_only()
    }
}

impl CtxDbWrite for TxContext {
    fn db(&self) -> &Local {
        &self.0.db
    }
}

impl CtxWithSender for TxContext {
    fn sender(&self) -> Identity {
        self.0.sender()
    }
}

impl CtxWithTimestamp for TxContext {
    fn timestamp(&self) -> Timestamp {
        self.0.timestamp
    }
}

impl CtxWithSenderAuth for TxContext {
    fn sender_auth(&self) -> &AuthCtx {
        self.0.sender_auth()
    }
}

impl CtxWithSender for ProcedureContext {
    fn sender(&self) -> Identity {
        self.sender
    }
}

impl CtxWithTimestamp for ProcedureContext {
    fn timestamp(&self) -> Timestamp {
        self.timestamp
    }
}

crate::context::ctx_with_rng! {
    ProcedureContext => ProcedureContext;
    TxContext => ReducerContext;
    #[cfg(feature = "unstable")]
    HandlerContext => HandlerContext;
}

/// Contexts that run transactions of their own: procedures and HTTP handlers.
pub trait CtxWithTxManagement {
    /// Runs `body` in a new transaction and commits it.
    fn with_tx<T>(&mut self, body: impl Fn(&TxContext) -> T) -> T;
    /// Runs `body` in a new transaction: commits on `Ok`, rolls back on `Err`.
    fn try_with_tx<T, E>(&mut self, body: impl Fn(&TxContext) -> Result<T, E>) -> Result<T, E>;
}

impl CtxWithTxManagement for ProcedureContext {
    fn with_tx<T>(&mut self, body: impl Fn(&TxContext) -> T) -> T {
        ProcedureContext::with_tx(self, body)
    }

    fn try_with_tx<T, E>(&mut self, body: impl Fn(&TxContext) -> Result<T, E>) -> Result<T, E> {
        ProcedureContext::try_with_tx(self, body)
    }
}

#[cfg(feature = "unstable")]
impl CtxWithTxManagement for HandlerContext {
    fn with_tx<T>(&mut self, body: impl Fn(&TxContext) -> T) -> T {
        HandlerContext::with_tx(self, body)
    }

    fn try_with_tx<T, E>(&mut self, body: impl Fn(&TxContext) -> Result<T, E>) -> Result<T, E> {
        HandlerContext::try_with_tx(self, body)
    }
}

/// Contexts that make outbound HTTP requests: procedures and HTTP handlers.
pub trait CtxWithHttp {
    /// The HTTP client.
    fn http(&self) -> &HttpClient;
}

impl CtxWithHttp for ProcedureContext {
    fn http(&self) -> &HttpClient {
        &self.http
    }
}

#[cfg(feature = "unstable")]
impl CtxWithHttp for HandlerContext {
    fn http(&self) -> &HttpClient {
        &self.http
    }
}
