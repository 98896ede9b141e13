//! The connection's engine: [`DbContextImpl`], shared by the connection, every context and
//! every handle.
//!
//! Two queues feed it. The transport (a tokio task owning the socket, or a
//! [`MockServer`](crate::mock::MockServer)) pushes decoded server messages and connection
//! events; application calls (register a callback, subscribe, call a reducer) push
//! [`Mutation`]s instead of touching the state directly, because they are often made from
//! inside callbacks, which run while the state is in use. The run methods apply queued
//! mutations first, then one message: they update the cache, then run callbacks with no
//! cache lock held, so callbacks can read the cache and queue more work.
//!
//! While a dropped connection is being re-established, requests (subscribe, unsubscribe,
//! reducer calls) wait; after the server's initial message every live query set is
//! resubscribed into a fresh cache, and once all have answered the fresh cache replaces
//! the old one and only the differences fire callbacks.

use crate::cache::{AnyDiff, ClientCache, Row};
use crate::callbacks::Callbacks;
use crate::context::{
    DbConnection, ErrorContext, EventContext, ProcedureEventContext, ReducerEventContext, SubscriptionEventContext,
};
use crate::error::{Error, InternalError, Result};
use crate::event::{Event, ReducerEvent, Status};
use crate::module::{Reducer, SpacetimeModule};
use crate::request::{self, OneOffQuery, ProcedureCall, QueryRows, Reply};
use crate::subscription::{lock, OnApplied, OnEnded, SharedSub, Status as SubStatus};
use crate::table::TableHandle;
use crate::transport::{RuntimeHandle, TransportEvent, TransportLink, Work};
use bytes::Bytes;
use spacetime_protocol::v2::{self, ClientMessage, ServerMessage};
use spacetime_protocol::QuerySetId;
use spacetime_sats::bsatn::{self, Decode};
use spacetime_sats::{ConnectionId, Identity, Timestamp};
use std::cell::Cell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc::{error::TryRecvError, UnboundedReceiver, UnboundedSender};

pub(crate) type OnConnect<M> = Box<dyn FnOnce(&DbConnection<M>, Identity, &str) + Send + 'static>;
pub(crate) type OnConnectError<M> = Box<dyn FnOnce(&ErrorContext<M>, Error) + Send + 'static>;
pub(crate) type OnDisconnect<M> = Box<dyn FnOnce(&ErrorContext<M>, Option<Error>) + Send + 'static>;
pub(crate) type OnReconnect<M> = Box<dyn FnMut(&DbConnection<M>, Identity, &str) + Send + 'static>;
pub(crate) type ReducerCallback<M> =
    Box<dyn FnOnce(&ReducerEventContext<M>, Result<Result<(), String>, InternalError>) + Send + 'static>;

/// A change to the registered row callbacks.
pub(crate) type CallbackChange<M> = Box<dyn FnOnce(&mut Callbacks<M>) + Send>;

/// An operation queued by application code, applied by the run methods.
pub(crate) enum Mutation<M: SpacetimeModule> {
    Callbacks(CallbackChange<M>),
    Subscribe(SharedSub<M>),
    Unsubscribe(QuerySetId),
    CallReducer {
        reducer: M::Reducer,
        callback: Option<ReducerCallback<M>>,
    },
    CallProcedure(PendingProcedure<M>, Vec<u8>),
    OneOffQuery {
        sql: String,
        reply: Reply<M, QueryRows>,
    },
    Disconnect,
}

/// A procedure call waiting for its result.
pub(crate) struct PendingProcedure<M: SpacetimeModule> {
    procedure: &'static str,
    reply: Reply<M, Bytes>,
}

/// The connection callbacks given to the builder.
pub(crate) struct ConnectionCallbacks<M: SpacetimeModule> {
    pub(crate) on_connect: Option<OnConnect<M>>,
    pub(crate) on_connect_error: Option<OnConnectError<M>>,
    pub(crate) on_disconnect: Option<OnDisconnect<M>>,
    pub(crate) on_reconnect: Option<OnReconnect<M>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    /// Waiting for the server's first message.
    Connecting,
    Connected,
    /// The socket dropped; the transport is trying again.
    Reconnecting,
    Ended,
}

/// A resubscription in progress after a reconnect.
struct Resync<M: SpacetimeModule> {
    cache: ClientCache<M>,
    awaiting: HashSet<QuerySetId>,
    newly_applied: Vec<OnApplied<M>>,
    ended: Vec<OnEnded<M>>,
}

struct PendingCall<M: SpacetimeModule> {
    reducer: M::Reducer,
    callback: Option<ReducerCallback<M>>,
}

/// State touched only by whoever is processing messages.
struct Dispatch<M: SpacetimeModule> {
    lifecycle: Lifecycle,
    callbacks: Callbacks<M>,
    connection: ConnectionCallbacks<M>,
    subscriptions: HashMap<QuerySetId, SharedSub<M>>,
    calls: HashMap<u32, PendingCall<M>>,
    procedures: HashMap<u32, PendingProcedure<M>>,
    queries: HashMap<u32, Reply<M, QueryRows>>,
    outgoing: Option<UnboundedSender<ClientMessage>>,
    next_request_id: u32,
    resync: Option<Resync<M>>,
    deferred: VecDeque<Mutation<M>>,
}

struct Inner<M: SpacetimeModule> {
    cache: Mutex<ClientCache<M>>,
    dispatch: Mutex<Dispatch<M>>,
    mutations: Mutex<VecDeque<Mutation<M>>>,
    work_tx: UnboundedSender<Work>,
    work_rx: tokio::sync::Mutex<UnboundedReceiver<Work>>,
    identity: Mutex<Option<Identity>>,
    connection_id: Mutex<Option<ConnectionId>>,
    active: AtomicBool,
    next_query_set_id: AtomicU32,
    link: Arc<TransportLink>,
    /// The runtime the transport runs on, when the connection owns it.
    runtime: Mutex<Option<RuntimeHandle>>,
}

/// The shared engine behind a connection and its contexts. Cheap to clone.
pub struct DbContextImpl<M: SpacetimeModule> {
    inner: Arc<Inner<M>>,
}

impl<M: SpacetimeModule> Clone for DbContextImpl<M> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// Locks a mutex whose holder never panics midway (user callbacks never run under these
/// locks), so a poisoned lock still holds consistent state.
fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

thread_local! {
    static DISPATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as running callbacks, so a callback that tries to drive the
/// connection gets an error instead of a deadlock.
struct DispatchGuard;

impl DispatchGuard {
    fn enter() -> Result<Self> {
        if DISPATCHING.with(|d| d.replace(true)) {
            return Err(Error::Internal(InternalError::new(
                "a connection's run methods cannot be called from inside one of its callbacks",
            )));
        }
        Ok(Self)
    }
}

impl Drop for DispatchGuard {
    fn drop(&mut self) {
        DISPATCHING.with(|d| d.set(false));
    }
}

impl<M: SpacetimeModule> DbContextImpl<M> {
    pub(crate) fn new(
        callbacks: ConnectionCallbacks<M>,
        outgoing: UnboundedSender<ClientMessage>,
        work: (UnboundedSender<Work>, UnboundedReceiver<Work>),
        link: Arc<TransportLink>,
    ) -> Self {
        let dispatch = Dispatch {
            lifecycle: Lifecycle::Connecting,
            callbacks: Callbacks::default(),
            connection: callbacks,
            subscriptions: HashMap::new(),
            calls: HashMap::new(),
            procedures: HashMap::new(),
            queries: HashMap::new(),
            outgoing: Some(outgoing),
            next_request_id: 1,
            resync: None,
            deferred: VecDeque::new(),
        };
        let inner = Inner {
            cache: Mutex::new(ClientCache::new()),
            dispatch: Mutex::new(dispatch),
            mutations: Mutex::new(VecDeque::new()),
            work_tx: work.0,
            work_rx: tokio::sync::Mutex::new(work.1),
            identity: Mutex::new(None),
            connection_id: Mutex::new(None),
            active: AtomicBool::new(true),
            next_query_set_id: AtomicU32::new(1),
            link,
            runtime: Mutex::new(None),
        };
        Self { inner: Arc::new(inner) }
    }

    pub(crate) fn keep_runtime(&self, runtime: RuntimeHandle) {
        *locked(&self.inner.runtime) = Some(runtime);
    }

    pub(crate) fn queue(&self, mutation: Mutation<M>) {
        locked(&self.inner.mutations).push_back(mutation);
        // Wakes a run method blocked waiting for messages; if nobody waits, the wake is
        // processed as a no-op later.
        let _ = self.inner.work_tx.send(Work::Wake);
    }

    pub(crate) fn next_query_set_id(&self) -> QuerySetId {
        QuerySetId::new(self.inner.next_query_set_id.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn is_active(&self) -> bool {
        self.inner.active.load(Ordering::Acquire)
    }

    pub(crate) fn disconnect(&self) -> Result<()> {
        if !self.inner.active.swap(false, Ordering::AcqRel) {
            return Err(Error::Disconnected);
        }
        self.queue(Mutation::Disconnect);
        Ok(())
    }

    pub(crate) fn try_identity(&self) -> Option<Identity> {
        *locked(&self.inner.identity)
    }

    pub(crate) fn try_connection_id(&self) -> Option<ConnectionId> {
        *locked(&self.inner.connection_id)
    }

    /// A handle on the table `name`, whose rows are `R`.
    pub fn get_table<R: Row>(&self, name: &'static str) -> TableHandle<M, R> {
        TableHandle::new(self.clone(), name)
    }

    /// Runs `read` on the client cache (table handles read through this).
    pub(crate) fn read_cache<T>(&self, read: impl FnOnce(&ClientCache<M>) -> T) -> T {
        read(&locked(&self.inner.cache))
    }

    /// Calls a reducer without a completion callback.
    ///
    /// # Errors
    /// [`Error::Disconnected`] if the connection has ended.
    pub fn call_reducer(&self, reducer: impl Into<M::Reducer>) -> Result<()> {
        self.call(reducer.into(), None)
    }

    /// Calls a reducer; `callback` runs when its result arrives, after the row callbacks
    /// of its transaction.
    ///
    /// # Errors
    /// [`Error::Disconnected`] if the connection has ended.
    pub fn call_reducer_then(
        &self,
        reducer: impl Into<M::Reducer>,
        callback: impl FnOnce(&ReducerEventContext<M>, Result<Result<(), String>, InternalError>) + Send + 'static,
    ) -> Result<()> {
        self.call(reducer.into(), Some(Box::new(callback)))
    }

    /// Calls the procedure `procedure` with `args` (the BSATN of its argument product);
    /// the future resolves with its return value decoded as `T`.
    pub fn call_procedure<T: Decode>(&self, procedure: &'static str, args: Vec<u8>) -> ProcedureCall<T> {
        if !self.is_active() {
            return ProcedureCall::failed(procedure, Error::Disconnected);
        }
        let (reply, rx) = request::channel();
        self.queue(Mutation::CallProcedure(PendingProcedure { procedure, reply }, args));
        ProcedureCall::waiting(procedure, rx)
    }

    /// Calls the procedure `procedure` with `args`; `callback` runs with its return value
    /// decoded as `T`, or the error, when the result arrives or the connection ends.
    ///
    /// # Errors
    /// [`Error::Disconnected`] if the connection has ended.
    pub fn call_procedure_then<T: Decode + Send + 'static>(
        &self,
        procedure: &'static str,
        args: Vec<u8>,
        callback: impl FnOnce(&ProcedureEventContext<M>, Result<T>) + Send + 'static,
    ) -> Result<()> {
        if !self.is_active() {
            return Err(Error::Disconnected);
        }
        let reply: Reply<M, Bytes> = Box::new(move |imp, outcome| {
            let value = outcome.and_then(|bytes| request::decode_return(procedure, &bytes));
            callback(&ProcedureEventContext::new(imp.clone()), value);
        });
        self.queue(Mutation::CallProcedure(PendingProcedure { procedure, reply }, args));
        Ok(())
    }

    /// Runs `sql` (one `SELECT`) once against the database, without subscribing; the
    /// future resolves with the matching rows.
    pub fn query(&self, sql: impl Into<String>) -> OneOffQuery {
        if !self.is_active() {
            return OneOffQuery::failed(Error::Disconnected);
        }
        let (reply, rx) = request::channel();
        self.queue(Mutation::OneOffQuery { sql: sql.into(), reply });
        OneOffQuery::waiting(rx)
    }

    fn call(&self, reducer: M::Reducer, callback: Option<ReducerCallback<M>>) -> Result<()> {
        if !self.is_active() {
            return Err(Error::Disconnected);
        }
        self.queue(Mutation::CallReducer { reducer, callback });
        Ok(())
    }

    pub(crate) fn advance_one_message(&self) -> Result<bool> {
        let _guard = DispatchGuard::enter()?;
        // Another thread is already driving the connection: nothing to do here.
        let Ok(mut rx) = self.inner.work_rx.try_lock() else {
            return Ok(false);
        };
        let mut d = locked(&self.inner.dispatch);
        self.apply_mutations(&mut d)?;
        let work = match rx.try_recv() {
            Ok(work) => work,
            Err(TryRecvError::Empty) => return Ok(false),
            Err(TryRecvError::Disconnected) => return Err(self.end_connection(&mut d, None)),
        };
        self.handle_work(&mut d, work)?;
        self.apply_mutations(&mut d)?;
        Ok(true)
    }

    pub(crate) fn advance_one_message_blocking(&self) -> Result<()> {
        let _guard = DispatchGuard::enter()?;
        let mut rx = self.inner.work_rx.blocking_lock();
        self.apply_mutations(&mut locked(&self.inner.dispatch))?;
        let work = rx.blocking_recv();
        self.finish_advance(work)
    }

    pub(crate) async fn advance_one_message_async(&self) -> Result<()> {
        let mut rx = self.inner.work_rx.lock().await;
        {
            let _guard = DispatchGuard::enter()?;
            self.apply_mutations(&mut locked(&self.inner.dispatch))?;
        }
        let work = rx.recv().await;
        let _guard = DispatchGuard::enter()?;
        self.finish_advance(work)
    }

    fn finish_advance(&self, work: Option<Work>) -> Result<()> {
        let mut d = locked(&self.inner.dispatch);
        match work {
            Some(work) => self.handle_work(&mut d, work)?,
            None => return Err(self.end_connection(&mut d, None)),
        }
        self.apply_mutations(&mut d)
    }

    fn apply_mutations(&self, d: &mut Dispatch<M>) -> Result<()> {
        loop {
            if d.lifecycle == Lifecycle::Ended && !self.is_active() && locked(&self.inner.mutations).is_empty() {
                return Err(Error::Disconnected);
            }
            let Some(mutation) = locked(&self.inner.mutations).pop_front() else {
                return Ok(());
            };
            self.apply_mutation(d, mutation);
        }
    }

    fn apply_mutation(&self, d: &mut Dispatch<M>, mutation: Mutation<M>) {
        let requests_wait = d.resync.is_some() || d.lifecycle == Lifecycle::Reconnecting;
        match mutation {
            Mutation::Callbacks(f) => f(&mut d.callbacks),
            Mutation::Disconnect => match d.lifecycle {
                // Cancelling before the server answered is not a connection error.
                Lifecycle::Connecting => self.stop(d),
                Lifecycle::Connected | Lifecycle::Reconnecting => {
                    self.end_connection(d, None);
                }
                Lifecycle::Ended => {}
            },
            m @ (Mutation::Subscribe(_)
            | Mutation::Unsubscribe(_)
            | Mutation::CallReducer { .. }
            | Mutation::CallProcedure(..)
            | Mutation::OneOffQuery { .. })
                if requests_wait =>
            {
                d.deferred.push_back(m)
            }
            Mutation::CallProcedure(pending, args) => {
                if d.lifecycle == Lifecycle::Ended {
                    (pending.reply)(self, Err(Error::Disconnected));
                    return;
                }
                let request_id = d.request_id();
                d.send(ClientMessage::CallProcedure(v2::CallProcedure {
                    request_id,
                    flags: v2::CallFlags::Default,
                    procedure: pending.procedure.to_owned(),
                    args,
                }));
                d.procedures.insert(request_id, pending);
            }
            Mutation::OneOffQuery { sql, reply } => {
                if d.lifecycle == Lifecycle::Ended {
                    reply(self, Err(Error::Disconnected));
                    return;
                }
                let request_id = d.request_id();
                d.send(ClientMessage::OneOffQuery(v2::OneOffQuery {
                    request_id,
                    query_string: sql,
                }));
                d.queries.insert(request_id, reply);
            }
            Mutation::Subscribe(sub) => {
                let mut s = lock(&sub);
                let id = s.id;
                if d.lifecycle == Lifecycle::Ended {
                    s.status = SubStatus::Errored;
                    return;
                }
                if !s.unsubscribe_called {
                    s.status = SubStatus::Sent;
                    let request_id = d.request_id();
                    d.send(ClientMessage::Subscribe(v2::Subscribe {
                        request_id,
                        query_set_id: id,
                        query_strings: s.queries.clone(),
                    }));
                }
                drop(s);
                d.subscriptions.insert(id, sub);
            }
            Mutation::Unsubscribe(id) => {
                let Some(sub) = d.subscriptions.get(&id).cloned() else {
                    return;
                };
                let mut s = lock(&sub);
                match s.status {
                    SubStatus::Pending => {
                        // Cancelled before it was sent: end it here.
                        s.status = SubStatus::Ended;
                        let on_ended = s.on_ended.take();
                        drop(s);
                        d.subscriptions.remove(&id);
                        if let Some(cb) = on_ended {
                            cb(&SubscriptionEventContext::new(self.clone()));
                        }
                    }
                    SubStatus::Ended | SubStatus::Errored => {
                        d.subscriptions.remove(&id);
                    }
                    SubStatus::Sent | SubStatus::Applied => {
                        drop(s);
                        let request_id = d.request_id();
                        d.send(ClientMessage::Unsubscribe(v2::Unsubscribe {
                            request_id,
                            query_set_id: id,
                            flags: v2::UnsubscribeFlags::SendDroppedRows,
                        }));
                    }
                }
            }
            Mutation::CallReducer { reducer, callback } => {
                if d.lifecycle == Lifecycle::Ended {
                    let error = InternalError::new("the connection ended before the reducer call was sent");
                    self.fail_call(PendingCall { reducer, callback }, error);
                    return;
                }
                let request_id = d.request_id();
                d.send(ClientMessage::CallReducer(v2::CallReducer {
                    request_id,
                    flags: v2::CallFlags::Default,
                    reducer: reducer.reducer_name().to_owned(),
                    args: reducer.args_bsatn(),
                }));
                d.calls.insert(request_id, PendingCall { reducer, callback });
            }
        }
    }

    fn handle_work(&self, d: &mut Dispatch<M>, work: Work) -> Result<()> {
        match work {
            Work::Wake => Ok(()),
            Work::Transport(TransportEvent::Message(message)) => {
                if d.lifecycle == Lifecycle::Ended {
                    return Ok(());
                }
                self.handle_message(d, message)
                    .map_err(|e| self.end_connection(d, Some(Error::Internal(e))))
            }
            Work::Transport(TransportEvent::Reconnected(outgoing)) => {
                if d.lifecycle != Lifecycle::Ended {
                    d.outgoing = Some(outgoing);
                }
                Ok(())
            }
            Work::Transport(TransportEvent::Closed { error, will_retry }) => match (d.lifecycle, will_retry) {
                (Lifecycle::Ended, _) => Ok(()),
                (Lifecycle::Connected, true) => {
                    self.begin_reconnect(d, error);
                    Ok(())
                }
                (Lifecycle::Reconnecting, true) => Ok(()),
                _ => Err(self.end_connection(d, error)),
            },
        }
    }

    fn handle_message(&self, d: &mut Dispatch<M>, message: ServerMessage) -> Result<(), InternalError> {
        match message {
            ServerMessage::InitialConnection(ic) => self.on_initial_connection(d, ic)?,
            ServerMessage::SubscribeApplied(applied) => {
                let qs = applied.query_set_id;
                if let Some(resync) = d.resync.as_mut().filter(|r| r.awaiting.contains(&qs)) {
                    let changes = resync.cache.changes_of_applied(qs, &applied.rows)?;
                    resync.cache.apply(changes)?;
                    resync.awaiting.remove(&qs);
                    if let Some(cb) = d.subscriptions.get(&qs).and_then(|sub| mark_applied(sub)) {
                        resync.newly_applied.push(cb);
                    }
                    if resync.awaiting.is_empty() {
                        self.finish_resync(d);
                    }
                    return Ok(());
                }
                let diffs = {
                    let mut cache = locked(&self.inner.cache);
                    let changes = cache.changes_of_applied(qs, &applied.rows)?;
                    cache.apply(changes)?
                };
                self.run_row_callbacks(d, diffs, Event::SubscribeApplied);
                match d.subscriptions.get(&qs) {
                    Some(sub) => {
                        if let Some(cb) = mark_applied(sub) {
                            cb(&SubscriptionEventContext::new(self.clone()));
                        }
                    }
                    None => log::warn!("the server applied query set {} that this client does not know", qs.id),
                }
            }
            ServerMessage::UnsubscribeApplied(unsub) => {
                let diffs = {
                    let mut cache = locked(&self.inner.cache);
                    let changes = cache.changes_of_removed(unsub.query_set_id);
                    cache.apply(changes)?
                };
                self.run_row_callbacks(d, diffs, Event::UnsubscribeApplied);
                if let Some(sub) = d.subscriptions.remove(&unsub.query_set_id) {
                    let on_ended = {
                        let mut s = lock(&sub);
                        s.status = SubStatus::Ended;
                        s.on_ended.take()
                    };
                    if let Some(cb) = on_ended {
                        cb(&SubscriptionEventContext::new(self.clone()));
                    }
                }
            }
            ServerMessage::SubscriptionError(failed) => {
                let qs = failed.query_set_id;
                let error = Error::SubscriptionError { error: failed.error };
                let in_resync = d.resync.as_mut().is_some_and(|r| r.awaiting.remove(&qs));
                if !in_resync {
                    // A live set that failed holds rows no one else may; drop them.
                    let diffs = {
                        let mut cache = locked(&self.inner.cache);
                        let changes = cache.changes_of_removed(qs);
                        cache.apply(changes)?
                    };
                    self.run_row_callbacks(d, diffs, Event::SubscribeError(error.clone()));
                }
                if let Some(sub) = d.subscriptions.remove(&qs) {
                    let on_error = {
                        let mut s = lock(&sub);
                        s.status = SubStatus::Errored;
                        s.on_error.take()
                    };
                    match on_error {
                        Some(cb) => cb(&ErrorContext::new(self.clone(), Some(error.clone())), error),
                        None => log::warn!("subscription {} failed and has no on_error callback: {error}", qs.id),
                    }
                }
                if in_resync && d.resync.as_ref().is_some_and(|r| r.awaiting.is_empty()) {
                    self.finish_resync(d);
                }
            }
            ServerMessage::TransactionUpdate(update) => {
                if let Some(resync) = d.resync.as_mut() {
                    let changes = resync.cache.changes_of_update(&update)?;
                    resync.cache.apply(changes)?;
                    return Ok(());
                }
                let diffs = {
                    let mut cache = locked(&self.inner.cache);
                    let changes = cache.changes_of_update(&update)?;
                    cache.apply(changes)?
                };
                self.run_row_callbacks(d, diffs, Event::Transaction);
            }
            ServerMessage::ReducerResult(result) => self.on_reducer_result(d, result)?,
            ServerMessage::ProcedureResult(result) => match d.procedures.remove(&result.request_id) {
                Some(pending) => {
                    let outcome = match result.status {
                        v2::ProcedureStatus::Returned(bytes) => Ok(Bytes::from(bytes)),
                        v2::ProcedureStatus::InternalError(message) => Err(Error::ProcedureFailed {
                            procedure: pending.procedure.to_owned(),
                            message,
                        }),
                    };
                    (pending.reply)(self, outcome);
                }
                None => log::warn!("procedure result for unknown request {}", result.request_id),
            },
            ServerMessage::OneOffQueryResult(result) => match d.queries.remove(&result.request_id) {
                Some(reply) => {
                    let outcome = match result.result {
                        Ok(rows) => Ok(QueryRows::from_wire(rows)),
                        Err(message) => Err(Error::QueryFailed { message }),
                    };
                    reply(self, outcome);
                }
                None => log::warn!("one-off query result for unknown request {}", result.request_id),
            },
        }
        Ok(())
    }

    fn on_initial_connection(&self, d: &mut Dispatch<M>, ic: v2::InitialConnection) -> Result<(), InternalError> {
        {
            let mut identity = locked(&self.inner.identity);
            if identity.is_some_and(|known| known != ic.identity) {
                log::warn!(
                    "the server assigned a different identity after reconnecting: {}",
                    ic.identity
                );
            }
            *identity = Some(ic.identity);
        }
        *locked(&self.inner.connection_id) = Some(ic.connection_id);
        self.inner.link.set_token(ic.token.clone());
        match d.lifecycle {
            Lifecycle::Connecting => {
                d.lifecycle = Lifecycle::Connected;
                if let Some(cb) = d.connection.on_connect.take() {
                    cb(&DbConnection::new(self.clone()), ic.identity, &ic.token);
                }
            }
            Lifecycle::Reconnecting => {
                d.lifecycle = Lifecycle::Connected;
                self.begin_resync(d);
            }
            Lifecycle::Connected | Lifecycle::Ended => {
                log::warn!("ignoring an unexpected second initial connection message")
            }
        }
        Ok(())
    }

    fn on_reducer_result(&self, d: &mut Dispatch<M>, result: v2::ReducerResult) -> Result<(), InternalError> {
        let call = d.calls.remove(&result.request_id);
        if call.is_none() {
            log::warn!("reducer result for unknown request {}", result.request_id);
        }
        let (status, outcome, update) = match result.result {
            v2::ReducerOutcome::Ok(ok) => (Status::Committed, Ok(Ok(())), Some(ok.transaction_update)),
            v2::ReducerOutcome::OkEmpty => (Status::Committed, Ok(Ok(())), None),
            v2::ReducerOutcome::Err(bytes) => {
                let message = bsatn::from_slice::<String>(&bytes).unwrap_or_else(|_| {
                    format!(
                        "the reducer failed with an error value that is not a string ({} bytes of BSATN)",
                        bytes.len()
                    )
                });
                (Status::Err(message.clone()), Ok(Err(message)), None)
            }
            v2::ReducerOutcome::InternalError(message) => {
                let error = InternalError::new(message);
                (Status::Panic(error.clone()), Err(error), None)
            }
        };
        if let Some(update) = update {
            let diffs = {
                let mut cache = locked(&self.inner.cache);
                let changes = cache.changes_of_update(&update)?;
                cache.apply(changes)?
            };
            let event = match &call {
                Some(call) => Event::Reducer(ReducerEvent {
                    timestamp: result.timestamp,
                    status: status.clone(),
                    reducer: call.reducer.clone(),
                }),
                None => Event::Transaction,
            };
            self.run_row_callbacks(d, diffs, event);
        }
        if let Some(PendingCall {
            reducer,
            callback: Some(cb),
        }) = call
        {
            let ctx = ReducerEventContext::new(
                self.clone(),
                ReducerEvent {
                    timestamp: result.timestamp,
                    status,
                    reducer,
                },
            );
            cb(&ctx, outcome);
        }
        Ok(())
    }

    fn run_row_callbacks(&self, d: &mut Dispatch<M>, diffs: Vec<Box<dyn AnyDiff<M>>>, event: Event<M::Reducer>) {
        if diffs.is_empty() {
            return;
        }
        let ctx = EventContext::new(self.clone(), event);
        for diff in diffs {
            diff.invoke(&ctx, &mut d.callbacks);
        }
    }

    fn fail_call(&self, call: PendingCall<M>, error: InternalError) {
        if let Some(cb) = call.callback {
            let event = ReducerEvent {
                timestamp: Timestamp::now(),
                status: Status::Panic(error.clone()),
                reducer: call.reducer,
            };
            cb(&ReducerEventContext::new(self.clone(), event), Err(error));
        }
    }

    fn fail_calls(&self, d: &mut Dispatch<M>, message: &str) {
        let mut calls: Vec<(u32, PendingCall<M>)> = d.calls.drain().collect();
        calls.sort_by_key(|(id, _)| *id);
        for (_, call) in calls {
            self.fail_call(call, InternalError::new(message));
        }
    }

    /// Fails every procedure call and one-off query still waiting, in request order,
    /// because the connection `ended` (else it dropped and is being re-established).
    fn fail_requests(&self, d: &mut Dispatch<M>, ended: bool) {
        let how = if ended { "ended" } else { "was lost" };
        let mut procedures: Vec<(u32, PendingProcedure<M>)> = d.procedures.drain().collect();
        procedures.sort_by_key(|(id, _)| *id);
        for (_, pending) in procedures {
            let message = format!(
                "the connection {how} before procedure `{}` returned; it may or may not have run",
                pending.procedure
            );
            (pending.reply)(self, Err(Error::Internal(InternalError::new(message))));
        }
        let mut queries: Vec<(u32, Reply<M, QueryRows>)> = d.queries.drain().collect();
        queries.sort_by_key(|(id, _)| *id);
        for (_, reply) in queries {
            let message = format!("the connection {how} before the one-off query was answered");
            reply(self, Err(Error::Internal(InternalError::new(message))));
        }
    }

    fn begin_reconnect(&self, d: &mut Dispatch<M>, error: Option<Error>) {
        match &error {
            Some(e) => log::warn!("connection lost ({e}); reconnecting"),
            None => log::warn!("connection lost; reconnecting"),
        }
        d.lifecycle = Lifecycle::Reconnecting;
        d.outgoing = None;
        d.resync = None;
        self.fail_calls(
            d,
            "the connection was lost before the reducer's result arrived; it may or may not have run",
        );
        self.fail_requests(d, false);
    }

    fn begin_resync(&self, d: &mut Dispatch<M>) {
        let mut resync = Resync {
            cache: ClientCache::new(),
            awaiting: HashSet::new(),
            newly_applied: Vec::new(),
            ended: Vec::new(),
        };
        let mut ids: Vec<QuerySetId> = d.subscriptions.keys().copied().collect();
        ids.sort();
        for id in ids {
            let sub = d.subscriptions[&id].clone();
            let mut s = lock(&sub);
            match (s.status, s.unsubscribe_called) {
                (SubStatus::Sent | SubStatus::Applied, false) => {
                    let request_id = d.request_id();
                    d.send(ClientMessage::Subscribe(v2::Subscribe {
                        request_id,
                        query_set_id: id,
                        query_strings: s.queries.clone(),
                    }));
                    resync.awaiting.insert(id);
                }
                (SubStatus::Sent | SubStatus::Applied, true) => {
                    // Its unsubscribe died with the old connection; the new one never had it.
                    s.status = SubStatus::Ended;
                    resync.ended.extend(s.on_ended.take());
                    drop(s);
                    d.subscriptions.remove(&id);
                }
                _ => {}
            }
        }
        let done = resync.awaiting.is_empty();
        d.resync = Some(resync);
        if done {
            self.finish_resync(d);
        }
    }

    fn finish_resync(&self, d: &mut Dispatch<M>) {
        let Some(resync) = d.resync.take() else { return };
        let diffs = {
            let mut cache = locked(&self.inner.cache);
            let diffs = cache.diff_to(&resync.cache);
            *cache = resync.cache;
            diffs
        };
        self.run_row_callbacks(d, diffs, Event::SubscribeApplied);
        for cb in resync.newly_applied {
            cb(&SubscriptionEventContext::new(self.clone()));
        }
        for cb in resync.ended {
            cb(&SubscriptionEventContext::new(self.clone()));
        }
        if let (Some(cb), Some(identity)) = (d.connection.on_reconnect.as_mut(), self.try_identity()) {
            let token = self.inner.link.token().unwrap_or_default();
            cb(&DbConnection::new(self.clone()), identity, &token);
        }
        for mutation in std::mem::take(&mut d.deferred) {
            self.apply_mutation(d, mutation);
        }
    }

    /// Stops the transport and marks the connection ended, without callbacks.
    fn stop(&self, d: &mut Dispatch<M>) {
        d.lifecycle = Lifecycle::Ended;
        d.outgoing = None;
        d.resync = None;
        self.inner.active.store(false, Ordering::Release);
        self.inner.link.shut_down();
    }

    /// Ends the connection, runs the connect-error or disconnect callback, and returns the
    /// error the run methods report.
    fn end_connection(&self, d: &mut Dispatch<M>, error: Option<Error>) -> Error {
        let was = d.lifecycle;
        if was == Lifecycle::Ended {
            return error.unwrap_or(Error::Disconnected);
        }
        self.stop(d);
        self.fail_calls(
            d,
            "the connection ended before the reducer's result arrived; it may or may not have run",
        );
        self.fail_requests(d, true);
        // Requests made while reconnecting were never sent: with the connection ended,
        // applying them fails each with its own error.
        for mutation in std::mem::take(&mut d.deferred) {
            self.apply_mutation(d, mutation);
        }
        match was {
            Lifecycle::Connecting => {
                let error = error.clone().unwrap_or_else(|| Error::FailedToConnect {
                    source: InternalError::new("the connection closed before the server's initial connection message"),
                });
                match d.connection.on_connect_error.take() {
                    Some(cb) => cb(&ErrorContext::new(self.clone(), Some(error.clone())), error),
                    None => log::error!("failed to connect: {error}"),
                }
            }
            Lifecycle::Connected | Lifecycle::Reconnecting => {
                if let Some(cb) = d.connection.on_disconnect.take() {
                    cb(&ErrorContext::new(self.clone(), error.clone()), error.clone());
                }
            }
            Lifecycle::Ended => {}
        }
        error.unwrap_or(Error::Disconnected)
    }
}

/// Records that `sub` was applied and returns its `on_applied` callback to run, unless the
/// application already asked to unsubscribe.
fn mark_applied<M: SpacetimeModule>(sub: &SharedSub<M>) -> Option<OnApplied<M>> {
    let mut s = lock(sub);
    if s.status != SubStatus::Sent {
        return None;
    }
    s.status = SubStatus::Applied;
    if s.unsubscribe_called {
        None
    } else {
        s.on_applied.take()
    }
}

impl<M: SpacetimeModule> Dispatch<M> {
    fn request_id(&mut self) -> u32 {
        let id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        id
    }

    fn send(&mut self, message: ClientMessage) {
        match &self.outgoing {
            Some(tx) if tx.send(message).is_ok() => {}
            _ => log::warn!("dropping a message to the server: the connection is closed"),
        }
    }
}
