//! The connection and the contexts callbacks receive. All of them expose the same
//! [`DbContext`] view of the connection (`db`, `reducers`, `procedures`, identity,
//! subscriptions); the contexts add the event that caused the callback.

use crate::builder::DbConnectionBuilder;
use crate::connection::DbContextImpl;
use crate::error::{Error, Result};
use crate::event::{Event, ReducerEvent};
use crate::module::{FromDbContextImpl, SpacetimeModule};
use crate::request::OneOffQuery;
#[cfg(doc)]
use crate::request::QueryRows;
use crate::subscription::SubscriptionBuilder;
use spacetime_sats::{ConnectionId, Identity};

/// What every connection and context offers.
pub trait DbContext {
    /// The generated `RemoteTables`: a method per table.
    type DbView;
    /// The table handles, reading the client cache.
    fn db(&self) -> &Self::DbView;
    /// The generated `RemoteReducers`: a method per reducer.
    type Reducers;
    /// The reducer calls.
    fn reducers(&self) -> &Self::Reducers;
    /// The generated `RemoteProcedures`: a method per procedure.
    type Procedures;
    /// The procedure calls.
    fn procedures(&self) -> &Self::Procedures;
    /// Whether the connection is still open (or reconnecting).
    fn is_active(&self) -> bool;
    /// Closes the connection; `on_disconnect` runs with no error.
    ///
    /// # Errors
    /// [`Error::Disconnected`] if it is already closed.
    fn disconnect(&self) -> Result<()>;
    /// The builder subscriptions start from.
    type SubscriptionBuilder;
    /// Starts a subscription.
    fn subscription_builder(&self) -> Self::SubscriptionBuilder;
    /// This client's identity.
    ///
    /// # Panics
    /// If called before the server's initial connection message (before `on_connect`);
    /// use [`DbContext::try_identity`] when that may be the case.
    fn identity(&self) -> Identity {
        self.try_identity()
            .expect("identity() called before the connection was established (before on_connect); use try_identity()")
    }
    /// This client's identity, once connected.
    fn try_identity(&self) -> Option<Identity>;
    /// This connection's id.
    ///
    /// # Panics
    /// If called before the server's initial connection message; use
    /// [`DbContext::try_connection_id`] when that may be the case.
    fn connection_id(&self) -> ConnectionId {
        self.try_connection_id().expect(
            "connection_id() called before the connection was established (before on_connect); use try_connection_id()",
        )
    }
    /// This connection's id, once connected.
    fn try_connection_id(&self) -> Option<ConnectionId>;
    /// Runs `sql` (one `SELECT`, over tables or views) once, without subscribing: the
    /// future resolves with the matching rows, raw by table; [`QueryRows::into_rows`]
    /// decodes them into a table's row type (`query(…).await?.into_rows::<Player>()`).
    /// The rows do not enter the client cache and fire no callbacks.
    ///
    /// Like every reply, the answer is processed by the connection's run methods, so
    /// something must drive the connection (`run_threaded`, `run_async`, …) meanwhile.
    fn query(&self, sql: impl Into<String>) -> OneOffQuery;
}

/// A connection to a database: built by [`DbConnection::builder`], driven by one of the
/// run methods. Cheap to clone; clones share the connection.
pub struct DbConnection<M: SpacetimeModule> {
    /// The table handles.
    pub db: M::DbView,
    /// The reducer calls.
    pub reducers: M::Reducers,
    /// The procedure calls.
    pub procedures: M::Procedures,
    imp: DbContextImpl<M>,
}

/// The context of a row callback: the change's cause is in `event`.
pub struct EventContext<M: SpacetimeModule> {
    /// Why the rows changed.
    pub event: Event<M::Reducer>,
    /// The table handles.
    pub db: M::DbView,
    /// The reducer calls.
    pub reducers: M::Reducers,
    /// The procedure calls.
    pub procedures: M::Procedures,
    imp: DbContextImpl<M>,
}

/// The context of a reducer's completion callback.
pub struct ReducerEventContext<M: SpacetimeModule> {
    /// The call and how it ended.
    pub event: ReducerEvent<M::Reducer>,
    /// The table handles.
    pub db: M::DbView,
    /// The reducer calls.
    pub reducers: M::Reducers,
    /// The procedure calls.
    pub procedures: M::Procedures,
    imp: DbContextImpl<M>,
}

/// The context of a subscription's `on_applied` and `on_ended` callbacks.
pub struct SubscriptionEventContext<M: SpacetimeModule> {
    /// The table handles.
    pub db: M::DbView,
    /// The reducer calls.
    pub reducers: M::Reducers,
    /// The procedure calls.
    pub procedures: M::Procedures,
    imp: DbContextImpl<M>,
}

/// The context of a procedure's result callback (the `_then` form of a procedure call).
pub struct ProcedureEventContext<M: SpacetimeModule> {
    /// The table handles.
    pub db: M::DbView,
    /// The reducer calls.
    pub reducers: M::Reducers,
    /// The procedure calls.
    pub procedures: M::Procedures,
    imp: DbContextImpl<M>,
}

/// The context of error and disconnect callbacks.
pub struct ErrorContext<M: SpacetimeModule> {
    /// The error, if there was one (a normal disconnect has none).
    pub event: Option<Error>,
    /// The table handles.
    pub db: M::DbView,
    /// The reducer calls.
    pub reducers: M::Reducers,
    /// The procedure calls.
    pub procedures: M::Procedures,
    imp: DbContextImpl<M>,
}

fn views<M: SpacetimeModule>(imp: &DbContextImpl<M>) -> (M::DbView, M::Reducers, M::Procedures) {
    (
        M::DbView::from_imp(imp.clone()),
        M::Reducers::from_imp(imp.clone()),
        M::Procedures::from_imp(imp.clone()),
    )
}

impl<M: SpacetimeModule> DbConnection<M> {
    /// A builder for a new connection.
    pub fn builder() -> DbConnectionBuilder<M> {
        DbConnectionBuilder::new()
    }

    pub(crate) fn new(imp: DbContextImpl<M>) -> Self {
        let (db, reducers, procedures) = views(&imp);
        Self {
            db,
            reducers,
            procedures,
            imp,
        }
    }

    /// Processes every message and queued operation that is ready, without waiting:
    /// call it once per frame of a game loop.
    ///
    /// # Errors
    /// The error that ended the connection ([`Error::Disconnected`] after a normal end).
    pub fn frame_tick(&self) -> Result<()> {
        while self.imp.advance_one_message()? {}
        Ok(())
    }

    /// Processes one ready message (after any queued operations), without waiting;
    /// returns whether there was one.
    ///
    /// # Errors
    /// As [`DbConnection::frame_tick`].
    pub fn advance_one_message(&self) -> Result<bool> {
        self.imp.advance_one_message()
    }

    /// Waits for and processes one message or queued operation.
    ///
    /// # Errors
    /// As [`DbConnection::frame_tick`].
    ///
    /// # Panics
    /// If called from inside an async task (use [`DbConnection::advance_one_message_async`]).
    pub fn advance_one_message_blocking(&self) -> Result<()> {
        self.imp.advance_one_message_blocking()
    }

    /// Waits for and processes one message or queued operation.
    ///
    /// # Errors
    /// As [`DbConnection::frame_tick`].
    pub async fn advance_one_message_async(&self) -> Result<()> {
        self.imp.advance_one_message_async().await
    }

    /// Processes messages on a new thread until the connection ends.
    pub fn run_threaded(&self) -> std::thread::JoinHandle<()> {
        let imp = self.imp.clone();
        std::thread::Builder::new()
            .name("spacetime-sdk-dispatch".into())
            .spawn(move || while imp.advance_one_message_blocking().is_ok() {})
            .expect("the OS can start a thread")
    }

    /// Processes messages until the connection ends.
    ///
    /// # Errors
    /// The error that ended the connection; a normal disconnect returns `Ok`.
    pub async fn run_async(&self) -> Result<()> {
        loop {
            match self.imp.advance_one_message_async().await {
                Ok(()) => {}
                Err(Error::Disconnected) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
}

impl<M: SpacetimeModule> Clone for DbConnection<M> {
    fn clone(&self) -> Self {
        Self::new(self.imp.clone())
    }
}

impl<M: SpacetimeModule> EventContext<M> {
    pub(crate) fn new(imp: DbContextImpl<M>, event: Event<M::Reducer>) -> Self {
        let (db, reducers, procedures) = views(&imp);
        Self {
            event,
            db,
            reducers,
            procedures,
            imp,
        }
    }
}

impl<M: SpacetimeModule> ReducerEventContext<M> {
    pub(crate) fn new(imp: DbContextImpl<M>, event: ReducerEvent<M::Reducer>) -> Self {
        let (db, reducers, procedures) = views(&imp);
        Self {
            event,
            db,
            reducers,
            procedures,
            imp,
        }
    }
}

impl<M: SpacetimeModule> SubscriptionEventContext<M> {
    pub(crate) fn new(imp: DbContextImpl<M>) -> Self {
        let (db, reducers, procedures) = views(&imp);
        Self {
            db,
            reducers,
            procedures,
            imp,
        }
    }
}

impl<M: SpacetimeModule> ProcedureEventContext<M> {
    pub(crate) fn new(imp: DbContextImpl<M>) -> Self {
        let (db, reducers, procedures) = views(&imp);
        Self {
            db,
            reducers,
            procedures,
            imp,
        }
    }
}

impl<M: SpacetimeModule> ErrorContext<M> {
    pub(crate) fn new(imp: DbContextImpl<M>, event: Option<Error>) -> Self {
        let (db, reducers, procedures) = views(&imp);
        Self {
            event,
            db,
            reducers,
            procedures,
            imp,
        }
    }
}

macro_rules! impl_db_context {
    ($($ty:ident),*) => {$(
        impl<M: SpacetimeModule> DbContext for $ty<M> {
            type DbView = M::DbView;
            fn db(&self) -> &M::DbView {
                &self.db
            }
            type Reducers = M::Reducers;
            fn reducers(&self) -> &M::Reducers {
                &self.reducers
            }
            type Procedures = M::Procedures;
            fn procedures(&self) -> &M::Procedures {
                &self.procedures
            }
            fn is_active(&self) -> bool {
                self.imp.is_active()
            }
            fn disconnect(&self) -> Result<()> {
                self.imp.disconnect()
            }
            type SubscriptionBuilder = SubscriptionBuilder<M>;
            fn subscription_builder(&self) -> SubscriptionBuilder<M> {
                SubscriptionBuilder::new(self.imp.clone())
            }
            fn try_identity(&self) -> Option<Identity> {
                self.imp.try_identity()
            }
            fn try_connection_id(&self) -> Option<ConnectionId> {
                self.imp.try_connection_id()
            }
            fn query(&self, sql: impl Into<String>) -> OneOffQuery {
                self.imp.query(sql)
            }
        }
    )*};
}

impl_db_context!(
    DbConnection,
    EventContext,
    ReducerEventContext,
    SubscriptionEventContext,
    ProcedureEventContext,
    ErrorContext
);
