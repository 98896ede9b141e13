//! [`Event`]: why a callback runs. Row callbacks get an `EventContext` whose `event` says
//! what caused the change.

use crate::error::{Error, InternalError};
use spacetime_sats::Timestamp;

/// The cause of a change to the client cache.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event<R> {
    /// A reducer this client called committed; the rows are its changes.
    Reducer(ReducerEvent<R>),
    /// A subscription was applied; the rows are its initial rows.
    SubscribeApplied,
    /// A subscription ended; the rows are the ones it alone held.
    UnsubscribeApplied,
    /// The connection ended.
    Disconnected,
    /// A live subscription failed; the rows are the ones it alone held.
    SubscribeError(Error),
    /// Another client's transaction (or a scheduled reducer) changed these rows. The v2
    /// protocol does not say which reducer it was.
    Transaction,
}

/// A reducer call of this client and how it ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReducerEvent<R> {
    /// When the reducer started (the time of the call if the result never arrived).
    pub timestamp: Timestamp,
    /// How it ended.
    pub status: Status,
    /// Which reducer, with its arguments (the generated `Reducer` enum).
    pub reducer: R,
}

/// How a reducer call ended.
#[derive(Debug, Clone)]
pub enum Status {
    /// It committed.
    Committed,
    /// It returned an error (its message); nothing was committed.
    Err(String),
    /// It panicked, did not run, or its result was lost with the connection.
    Panic(InternalError),
}
