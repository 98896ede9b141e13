//! Subscriptions: [`SubscriptionBuilder`] starts a query set, [`SubscriptionHandle`]
//! watches and ends it.
//!
//! A query set moves through: pending (queued, not yet sent) → sent → applied (its rows
//! are in the cache and it receives updates) → ended (unsubscribed) or errored. Calling
//! `unsubscribe` while it is still pending cancels it without a word to the server.

use crate::connection::{DbContextImpl, Mutation};
use crate::context::{ErrorContext, SubscriptionEventContext};
use crate::error::{Error, Result};
use crate::module::SpacetimeModule;
use spacetime_protocol::QuerySetId;
use std::sync::{Arc, Mutex};

pub(crate) type OnApplied<M> = Box<dyn FnOnce(&SubscriptionEventContext<M>) + Send + 'static>;
pub(crate) type OnError<M> = Box<dyn FnOnce(&ErrorContext<M>, Error) + Send + 'static>;
pub(crate) type OnEnded<M> = Box<dyn FnOnce(&SubscriptionEventContext<M>) + Send + 'static>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Pending,
    Sent,
    Applied,
    Ended,
    Errored,
}

pub(crate) struct SubState<M: SpacetimeModule> {
    pub(crate) id: QuerySetId,
    pub(crate) queries: Vec<String>,
    pub(crate) status: Status,
    pub(crate) unsubscribe_called: bool,
    pub(crate) on_applied: Option<OnApplied<M>>,
    pub(crate) on_error: Option<OnError<M>>,
    pub(crate) on_ended: Option<OnEnded<M>>,
}

/// Shared between the user's handle and the connection's subscription table.
pub(crate) type SharedSub<M> = Arc<Mutex<SubState<M>>>;

pub(crate) fn lock<M: SpacetimeModule>(sub: &SharedSub<M>) -> std::sync::MutexGuard<'_, SubState<M>> {
    // A panic in user code never runs while this lock is held, so poisoning cannot
    // leave the state half-updated; recover the guard rather than propagate.
    sub.lock().unwrap_or_else(|p| p.into_inner())
}

/// Configures and starts a subscription: `ctx.subscription_builder()`.
pub struct SubscriptionBuilder<M: SpacetimeModule> {
    imp: DbContextImpl<M>,
    on_applied: Option<OnApplied<M>>,
    on_error: Option<OnError<M>>,
}

impl<M: SpacetimeModule> SubscriptionBuilder<M> {
    pub(crate) fn new(imp: DbContextImpl<M>) -> Self {
        Self {
            imp,
            on_applied: None,
            on_error: None,
        }
    }

    /// Runs `callback` once the initial rows are in the cache (after their `on_insert`s).
    pub fn on_applied(mut self, callback: impl FnOnce(&SubscriptionEventContext<M>) + Send + 'static) -> Self {
        self.on_applied = Some(Box::new(callback));
        self
    }

    /// Runs `callback` if the server rejects the queries, or if the live subscription
    /// later fails (its rows are then removed first).
    pub fn on_error(mut self, callback: impl FnOnce(&ErrorContext<M>, Error) + Send + 'static) -> Self {
        self.on_error = Some(Box::new(callback));
        self
    }

    /// Subscribes to `queries` (SQL `SELECT`s) as one query set.
    pub fn subscribe(self, queries: impl IntoQueries) -> SubscriptionHandle<M> {
        let state = SubState {
            id: self.imp.next_query_set_id(),
            queries: queries.into_queries(),
            status: Status::Pending,
            unsubscribe_called: false,
            on_applied: self.on_applied,
            on_error: self.on_error,
            on_ended: None,
        };
        let shared = Arc::new(Mutex::new(state));
        self.imp.queue(Mutation::Subscribe(shared.clone()));
        SubscriptionHandle {
            imp: self.imp,
            state: shared,
        }
    }

    /// Subscribes to every row of every table in the bindings (`SELECT * FROM t` each).
    /// Convenient when the client can afford to replicate the whole database.
    pub fn subscribe_to_all_tables(self) -> SubscriptionHandle<M> {
        let queries: Vec<String> = M::ALL_TABLE_NAMES
            .iter()
            .map(|t| format!("SELECT * FROM {t}"))
            .collect();
        self.subscribe(queries)
    }
}

/// A started subscription.
pub struct SubscriptionHandle<M: SpacetimeModule> {
    imp: DbContextImpl<M>,
    state: SharedSub<M>,
}

impl<M: SpacetimeModule> Clone for SubscriptionHandle<M> {
    fn clone(&self) -> Self {
        Self {
            imp: self.imp.clone(),
            state: self.state.clone(),
        }
    }
}

impl<M: SpacetimeModule> SubscriptionHandle<M> {
    /// Whether the subscription is applied and not being ended.
    pub fn is_active(&self) -> bool {
        let s = lock(&self.state);
        s.status == Status::Applied && !s.unsubscribe_called
    }

    /// Whether the subscription has ended (unsubscribed or failed).
    pub fn is_ended(&self) -> bool {
        matches!(lock(&self.state).status, Status::Ended | Status::Errored)
    }

    /// The queries of the subscription.
    pub fn queries(&self) -> Vec<String> {
        lock(&self.state).queries.clone()
    }

    /// Ends the subscription; its rows leave the cache (firing `on_delete` for rows no
    /// other subscription holds).
    ///
    /// # Errors
    /// [`Error::AlreadyEnded`] or [`Error::AlreadyUnsubscribed`].
    pub fn unsubscribe(&self) -> Result<()> {
        self.end(None)
    }

    /// Like [`SubscriptionHandle::unsubscribe`], then runs `on_end` once the rows are gone.
    ///
    /// # Errors
    /// As [`SubscriptionHandle::unsubscribe`].
    pub fn unsubscribe_then(&self, on_end: impl FnOnce(&SubscriptionEventContext<M>) + Send + 'static) -> Result<()> {
        self.end(Some(Box::new(on_end)))
    }

    fn end(&self, on_end: Option<OnEnded<M>>) -> Result<()> {
        let id = {
            let mut s = lock(&self.state);
            if matches!(s.status, Status::Ended | Status::Errored) {
                return Err(Error::AlreadyEnded);
            }
            if s.unsubscribe_called {
                return Err(Error::AlreadyUnsubscribed);
            }
            s.unsubscribe_called = true;
            s.on_ended = on_end;
            s.id
        };
        self.imp.queue(Mutation::Unsubscribe(id));
        Ok(())
    }
}

/// A list of SQL queries: a `&str`, a `String`, or an array, slice or `Vec` of them.
pub trait IntoQueries {
    /// The queries.
    fn into_queries(self) -> Vec<String>;
}

impl IntoQueries for &str {
    fn into_queries(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl IntoQueries for String {
    fn into_queries(self) -> Vec<String> {
        vec![self]
    }
}

impl<T: Into<String>> IntoQueries for Vec<T> {
    fn into_queries(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<T: Into<String>, const N: usize> IntoQueries for [T; N] {
    fn into_queries(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<T: Clone + Into<String>> IntoQueries for &[T] {
    fn into_queries(self) -> Vec<String> {
        self.iter().cloned().map(Into::into).collect()
    }
}
