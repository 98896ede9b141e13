//! Subscriptions: the connected WebSocket clients of one database, their query sets, and
//! the per-transaction updates they receive.
//!
//! # Brief overview
//! The [`SubscriptionManager`] lives on the database's actor thread, next to the
//! datastore, so a subscription's initial rows and every later delta are computed
//! between two transactions. The WebSocket side talks to it only through
//! [`ClientCommand`]s (sent to the actor) and each client's bounded outgoing queue of
//! encoded server messages (read by the connection task).
//!
//! Each distinct query is compiled once into a [`CompiledQuery`] and shared by every
//! query set that names it; per transaction its delta is computed and encoded once
//! ([`encode`]), and each client's message is assembled from those shared bytes. The
//! cost of a transaction thus grows with the number of distinct queries touched, not
//! with the number of clients.
//!
//! A client whose queue is full is disconnected: the database never waits for a socket.
//!
//! Every queued message carries the commit-log offset of the last transaction it may
//! reflect ([`Outgoing::offset`]); a transaction committed while handling a client
//! command is logged (through [`ActorCx::log`]) before its deltas are queued, so that
//! offset is known. A confirmed connection waits for it to be durable before writing
//! the message ([`crate::ws`]), so the actor thread never waits on the disk.

pub mod encode;
mod query;

pub use query::{CompiledQuery, QueryDelta, TableDelta, TxDelta};

use crate::database::log_system;
use crate::durability::DatabaseLog;
use crate::logs::ModuleLogs;
use encode::{EncodedTableUpdate, QuerySetBytes};
use spacetime_datastore::{Datastore, TxData};
use spacetime_host::{LogLevel, ModuleInstance, ReducerCall, ReducerError};
use spacetime_protocol::v2::{
    self, ClientMessage, InitialConnection, OneOffQueryResult, ProcedureResult, ProcedureStatus, QueryRows,
    ServerMessage, SingleTableRows, SubscribeApplied, SubscriptionError, UnsubscribeApplied, UnsubscribeFlags,
};
use spacetime_protocol::BsatnRowList;
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::{FunctionVisibility, TableAccess};
use spacetime_sats::{ConnectionId, Identity, TableId, TimeDuration, Timestamp};
use spacetime_sql::plan::{Plan, Projection};
use spacetime_sql::SqlAuth;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// How many messages a client may have queued before it counts as too slow and is
/// disconnected.
pub const CLIENT_QUEUE_CAPACITY: usize = 4096;

/// One queued server message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The offset of the last log record appended when the message was queued: the
    /// message may reflect every transaction up to it. `None` when nothing was logged
    /// yet, or the database has no log.
    pub offset: Option<u64>,
    /// The encoded (uncompressed) server message.
    pub body: Vec<u8>,
}

/// One connection as the WebSocket side and the actor share it: who it is, the
/// sending end of its queue (until the actor takes it), and why the server dropped it.
///
/// Only the actor's manager holds the queue's sender once the client is registered, so
/// the queue closes, and the connection task ends the connection, exactly when the
/// manager forgets the client: a client too slow to keep up, or a database that stops
/// (deleted, or replaced by `publish --delete-data`).
#[derive(Debug, Clone)]
pub struct ClientHandle {
    /// The client's identity.
    pub identity: Identity,
    /// Its connection id, unique among the database's clients.
    pub connection_id: ConnectionId,
    /// The queue's sender, taken by [`ClientCommand::Connect`].
    sender: Arc<Mutex<Option<mpsc::Sender<Outgoing>>>>,
    /// Set when the server drops the client, with the reason for the close frame.
    pub dropped: Arc<OnceLock<String>>,
}

impl ClientHandle {
    /// A handle and the receiving end of its bounded queue.
    pub fn new(identity: Identity, connection_id: ConnectionId) -> (Self, mpsc::Receiver<Outgoing>) {
        let (sender, receiver) = mpsc::channel(CLIENT_QUEUE_CAPACITY);
        let handle = Self {
            identity,
            connection_id,
            sender: Arc::new(Mutex::new(Some(sender))),
            dropped: Arc::new(OnceLock::new()),
        };
        (handle, receiver)
    }

    /// Takes the queue's sender; `None` if it was taken before.
    fn take_sender(&self) -> Option<mpsc::Sender<Outgoing>> {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The manager's side of a registered client: its queue and the reason slot.
struct Queue {
    sender: mpsc::Sender<Outgoing>,
    dropped: Arc<OnceLock<String>>,
}

impl Queue {
    /// Queues `body`, which may reflect transactions up to log offset `offset`; `false`
    /// if the client is too far behind (or gone) and must be dropped.
    fn send(&self, offset: Option<u64>, body: Vec<u8>) -> bool {
        self.push(Outgoing { offset, body })
    }

    /// Queues one message; as [`Queue::send`].
    fn push(&self, outgoing: Outgoing) -> bool {
        match self.sender.try_send(outgoing) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                let _ = self.dropped.set(format!(
                    "the client fell more than {CLIENT_QUEUE_CAPACITY} messages behind; reconnect and read faster"
                ));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// What a WebSocket connection asks of the actor.
#[derive(Debug)]
pub enum ClientCommand {
    /// Run `client_connected`; on success register the client and queue
    /// `InitialConnection` as its first message. The reply is the module's refusal.
    Connect {
        /// The new client.
        client: ClientHandle,
        /// The token to echo in `InitialConnection`.
        token: String,
        /// `Err(message)` if `client_connected` refused the client.
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// One decoded client message.
    Message {
        /// Which client sent it.
        connection_id: ConnectionId,
        /// The message.
        message: ClientMessage,
    },
    /// The socket closed: drop the client's subscriptions and run `client_disconnected`.
    Disconnect {
        /// The client's identity.
        identity: Identity,
        /// Its connection id.
        connection_id: ConnectionId,
    },
}

/// What the manager may touch on the actor thread while it handles a command.
pub struct ActorCx<'a> {
    /// The database.
    pub ds: &'a mut Datastore,
    /// The module.
    pub instance: &'a mut ModuleInstance,
    /// The database owner.
    pub owner: Identity,
    /// The module log, for failed lifecycle reducers.
    pub logs: &'a ModuleLogs,
    /// The commit log, to log a transaction before its deltas are queued; `None` on
    /// an in-memory server.
    pub log: Option<&'a mut DatabaseLog>,
}

impl ActorCx<'_> {
    /// The offset of the last record appended to the log.
    fn last_offset(&self) -> Option<u64> {
        self.log.as_deref().and_then(DatabaseLog::last_offset)
    }
}

/// A distinct query: the SQL text, plus the caller when the text uses `:sender`
/// (which makes the plan depend on who subscribed).
type QueryKey = (String, Option<Identity>);

struct SharedQuery {
    query: Arc<CompiledQuery>,
    /// How many (client, query set) entries name it.
    refs: usize,
}

struct Client {
    identity: Identity,
    queue: Queue,
    sets: BTreeMap<u32, Vec<QueryKey>>,
}

/// The caller of the transaction being broadcast, who gets a `ReducerResult` instead
/// of a `TransactionUpdate`.
struct Caller {
    connection_id: ConnectionId,
    request_id: u32,
    timestamp: Timestamp,
}

/// The clients and distinct queries of one database.
#[derive(Default)]
pub struct SubscriptionManager {
    clients: HashMap<ConnectionId, Client>,
    queries: HashMap<QueryKey, SharedQuery>,
    /// The offset of the last log record appended, tagged on every message queued.
    offset: Option<u64>,
    /// With [`SubscriptionManager::defer_sends`], the messages held until
    /// [`SubscriptionManager::flush`], in the order they were made.
    outbox: Option<Vec<(ConnectionId, Outgoing)>>,
}

impl SubscriptionManager {
    /// Holds every later message until [`SubscriptionManager::flush`] instead of queuing
    /// it at once. The actor flushes after each run of commands, so a client's messages
    /// from that run reach its queue together and wake its connection task once: a wake
    /// from the actor thread costs a syscall and often a context switch, more than the
    /// rest of a small reducer call.
    pub fn defer_sends(&mut self) {
        self.outbox.get_or_insert_with(Vec::new);
    }

    /// Queues the held messages (see [`SubscriptionManager::defer_sends`]), grouped by
    /// client, each client's in order; drops the clients whose queue is full.
    pub fn flush(&mut self) {
        let Some(outbox) = self.outbox.as_mut() else { return };
        if outbox.is_empty() {
            return;
        }
        let mut held = std::mem::take(outbox);
        // A stable sort keeps each client's messages in the order they were made.
        held.sort_by_key(|(connection_id, _)| *connection_id);
        let mut slow = Vec::new();
        for (connection_id, outgoing) in held.drain(..) {
            if slow.last() == Some(&connection_id) {
                continue;
            }
            if !self.clients.get(&connection_id).is_none_or(|c| c.queue.push(outgoing)) {
                slow.push(connection_id);
            }
        }
        // Keep the allocation for the next run.
        if let Some(outbox) = self.outbox.as_mut() {
            *outbox = held;
        }
        for connection_id in slow {
            self.drop_client(connection_id);
        }
    }

    /// Handles one command. Returns the transactions it committed (by lifecycle or
    /// reducer calls), already logged and sent to subscribers, for the caller's other
    /// hooks.
    pub fn handle(&mut self, command: ClientCommand, cx: &mut ActorCx<'_>) -> Vec<TxData> {
        self.offset = cx.last_offset();
        match command {
            ClientCommand::Connect { client, token, reply } => self.connect(client, token, reply, cx),
            ClientCommand::Disconnect {
                identity,
                connection_id,
            } => self.disconnect(identity, connection_id, cx),
            ClientCommand::Message { connection_id, message } => {
                let Some(identity) = self.clients.get(&connection_id).map(|c| c.identity) else {
                    return Vec::new();
                };
                let auth = SqlAuth {
                    caller: identity,
                    owner: cx.owner,
                };
                match message {
                    ClientMessage::Subscribe(s) => self.subscribe(connection_id, &auth, s, cx),
                    ClientMessage::Unsubscribe(u) => self.unsubscribe(connection_id, u, cx),
                    ClientMessage::OneOffQuery(q) => {
                        let result = one_off(&q.query_string, &auth, cx);
                        let message = ServerMessage::OneOffQueryResult(OneOffQueryResult {
                            request_id: q.request_id,
                            result,
                        });
                        self.send(connection_id, message.to_bytes());
                    }
                    ClientMessage::CallReducer(call) => return self.call_reducer(connection_id, &auth, call, cx),
                    ClientMessage::CallProcedure(call) => {
                        let message = ServerMessage::ProcedureResult(ProcedureResult {
                            status: ProcedureStatus::InternalError(format!(
                                "no such procedure `{}`: this server does not run procedures yet",
                                call.procedure
                            )),
                            timestamp: Timestamp::now(),
                            total_host_execution_duration: TimeDuration::from_micros(0),
                            request_id: call.request_id,
                        });
                        self.send(connection_id, message.to_bytes());
                    }
                }
                Vec::new()
            }
        }
    }

    /// Sends what a transaction committed outside any WebSocket request (an HTTP call,
    /// SQL DML, a scheduled reducer) to the clients whose query sets it changed. The
    /// caller has logged it already; `offset` is the log's last offset since.
    pub fn commit(&mut self, ds: &Datastore, tx: &TxData, offset: Option<u64>) {
        self.offset = offset;
        self.broadcast(ds, tx, None);
    }

    /// Logs a transaction committed while handling a command, before its deltas are
    /// queued, so they carry its offset.
    fn log_tx(&mut self, tx: &TxData, cx: &mut ActorCx<'_>) {
        if let Some(log) = cx.log.as_deref_mut() {
            log.append_tx(tx);
            log.after_append(cx.ds);
        }
        self.offset = cx.last_offset();
    }

    fn connect(
        &mut self,
        client: ClientHandle,
        token: String,
        reply: oneshot::Sender<Result<(), String>>,
        cx: &mut ActorCx<'_>,
    ) -> Vec<TxData> {
        let (identity, connection_id) = (client.identity, client.connection_id);
        let Some(sender) = client.take_sender() else {
            let _ = reply.send(Err("this connection was already registered".into()));
            return Vec::new();
        };
        let outcome = cx
            .instance
            .client_connected(cx.ds, identity, connection_id, Timestamp::now());
        let tx = match outcome.map(|o| o.result) {
            Some(Err(e)) => {
                log_lifecycle_failure(cx.logs, "client_connected", &e);
                let _ = reply.send(Err(e.to_string()));
                return Vec::new();
            }
            Some(Ok(tx)) => Some(tx),
            None => None,
        };
        let hello = ServerMessage::InitialConnection(InitialConnection {
            identity,
            connection_id,
            token,
        });
        let queue = Queue {
            sender,
            dropped: client.dropped,
        };
        queue.send(self.offset, hello.to_bytes());
        self.clients.insert(
            connection_id,
            Client {
                identity,
                queue,
                sets: BTreeMap::new(),
            },
        );
        let _ = reply.send(Ok(()));
        if let Some(tx) = &tx {
            self.log_tx(tx, cx);
            self.broadcast(cx.ds, tx, None);
        }
        tx.into_iter().collect()
    }

    fn disconnect(&mut self, identity: Identity, connection_id: ConnectionId, cx: &mut ActorCx<'_>) -> Vec<TxData> {
        self.drop_client(connection_id);
        let outcome = cx
            .instance
            .client_disconnected(cx.ds, identity, connection_id, Timestamp::now());
        match outcome.map(|o| o.result) {
            Some(Ok(tx)) => {
                self.log_tx(&tx, cx);
                self.broadcast(cx.ds, &tx, None);
                vec![tx]
            }
            Some(Err(e)) => {
                log_lifecycle_failure(cx.logs, "client_disconnected", &e);
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// Forgets a client and its query sets (its queue closes when the last handle goes).
    fn drop_client(&mut self, connection_id: ConnectionId) {
        if let Some(client) = self.clients.remove(&connection_id) {
            for keys in client.sets.into_values() {
                self.release(&keys);
            }
            // Held messages die with the client: a reconnect under the same connection
            // id in the same run must not receive them.
            if let Some(outbox) = self.outbox.as_mut() {
                outbox.retain(|(held, _)| *held != connection_id);
            }
        }
    }

    fn release(&mut self, keys: &[QueryKey]) {
        for key in keys {
            if let Some(shared) = self.queries.get_mut(key) {
                shared.refs -= 1;
                if shared.refs == 0 {
                    self.queries.remove(key);
                }
            }
        }
    }

    /// Queues a message for one client, dropping the client if it cannot keep up.
    fn send(&mut self, connection_id: ConnectionId, message: Vec<u8>) {
        let offset = self.offset;
        if let Some(outbox) = self.outbox.as_mut() {
            outbox.push((connection_id, Outgoing { offset, body: message }));
            return;
        }
        let ok = self
            .clients
            .get(&connection_id)
            .is_none_or(|c| c.queue.send(offset, message));
        if !ok {
            self.drop_client(connection_id);
        }
    }

    fn subscribe(&mut self, connection_id: ConnectionId, auth: &SqlAuth, s: v2::Subscribe, cx: &ActorCx<'_>) {
        let fail = |error: String| {
            ServerMessage::SubscriptionError(SubscriptionError {
                request_id: Some(s.request_id),
                query_set_id: s.query_set_id,
                error,
            })
            .to_bytes()
        };
        let live = self
            .clients
            .get(&connection_id)
            .is_some_and(|c| c.sets.contains_key(&s.query_set_id.id));
        if live {
            let error = format!(
                "query set {} is already subscribed on this connection; unsubscribe it first or use another id",
                s.query_set_id.id
            );
            return self.send(connection_id, fail(error));
        }
        if s.query_strings.is_empty() {
            return self.send(
                connection_id,
                fail("the query set is empty; send at least one `SELECT * FROM t`".into()),
            );
        }
        let mut compiled = Vec::new();
        for sql in expand_all_tables(&s.query_strings, auth, cx.instance.program().module_def()) {
            let sql = &sql;
            match self.lookup_or_compile(sql, auth, cx) {
                Ok(entry) => compiled.push(entry),
                Err(e) => return self.send(connection_id, fail(format!("{e} (in the query `{sql}`)"))),
            }
        }
        let mut tables = TableRows::default();
        for (_, query) in &compiled {
            match query.rows(cx.ds) {
                Ok(rows) => tables.add(query.table_name(), rows),
                Err(e) => return self.send(connection_id, fail(e)),
            }
        }
        let mut keys = Vec::new();
        for (key, query) in compiled {
            self.queries
                .entry(key.clone())
                .or_insert(SharedQuery { query, refs: 0 })
                .refs += 1;
            keys.push(key);
        }
        if let Some(client) = self.clients.get_mut(&connection_id) {
            client.sets.insert(s.query_set_id.id, keys);
        }
        let applied = ServerMessage::SubscribeApplied(SubscribeApplied {
            request_id: s.request_id,
            query_set_id: s.query_set_id,
            rows: tables.finish(),
        });
        self.send(connection_id, applied.to_bytes());
    }

    /// The shared compiled form of `sql` for `auth`'s caller, compiling it if no client
    /// has it yet. A shared query over a private table is reused only for the owner.
    fn lookup_or_compile(
        &self,
        sql: &str,
        auth: &SqlAuth,
        cx: &ActorCx<'_>,
    ) -> Result<(QueryKey, Arc<CompiledQuery>), String> {
        let key: QueryKey = (sql.trim().to_owned(), sql.contains(":sender").then_some(auth.caller));
        if let Some(shared) = self.queries.get(&key) {
            if !shared.query.owner_only() || auth.is_owner() {
                return Ok((key, shared.query.clone()));
            }
        }
        let query = CompiledQuery::compile(sql, auth, cx.instance.program().module_def(), cx.ds)?;
        Ok((key, Arc::new(query)))
    }

    fn unsubscribe(&mut self, connection_id: ConnectionId, u: v2::Unsubscribe, cx: &ActorCx<'_>) {
        let keys = self
            .clients
            .get_mut(&connection_id)
            .and_then(|c| c.sets.remove(&u.query_set_id.id));
        let Some(keys) = keys else {
            let error = ServerMessage::SubscriptionError(SubscriptionError {
                request_id: Some(u.request_id),
                query_set_id: u.query_set_id,
                error: format!("query set {} is not subscribed on this connection", u.query_set_id.id),
            });
            return self.send(connection_id, error.to_bytes());
        };
        let rows = match u.flags {
            UnsubscribeFlags::Default => None,
            UnsubscribeFlags::SendDroppedRows => {
                let mut tables = TableRows::default();
                for key in &keys {
                    if let Some(shared) = self.queries.get(key) {
                        // The query ran on this state before, so its tables exist.
                        tables.add(shared.query.table_name(), shared.query.rows(cx.ds).unwrap_or_default());
                    }
                }
                Some(tables.finish())
            }
        };
        self.release(&keys);
        let applied = ServerMessage::UnsubscribeApplied(UnsubscribeApplied {
            request_id: u.request_id,
            query_set_id: u.query_set_id,
            rows,
        });
        self.send(connection_id, applied.to_bytes());
    }

    fn call_reducer(
        &mut self,
        connection_id: ConnectionId,
        auth: &SqlAuth,
        call: v2::CallReducer,
        cx: &mut ActorCx<'_>,
    ) -> Vec<TxData> {
        let timestamp = Timestamp::now();
        let reply = |result: v2::ReducerOutcome| {
            ServerMessage::ReducerResult(v2::ReducerResult {
                request_id: call.request_id,
                timestamp,
                result,
            })
            .to_bytes()
        };
        let def = cx.instance.program().module_def();
        let target = match def.reducer(&call.reducer) {
            None => Err(format!("no such reducer `{}`", call.reducer)),
            Some((_, r)) if r.lifecycle.is_some() => Err(format!(
                "`{}` is a lifecycle reducer; the server calls it, clients cannot",
                call.reducer
            )),
            Some((_, r)) if matches!(r.visibility, FunctionVisibility::Private) && !auth.is_owner() => Err(format!(
                "reducer `{}` is private; only the database owner may call it",
                call.reducer
            )),
            Some((id, _)) => Ok(id),
        };
        let reducer_id = match target {
            Ok(id) => id,
            Err(e) => {
                self.send(connection_id, reply(v2::ReducerOutcome::InternalError(e)));
                return Vec::new();
            }
        };
        let outcome = cx.instance.call_reducer(
            cx.ds,
            ReducerCall {
                reducer_id,
                caller_identity: auth.caller,
                caller_connection_id: Some(connection_id),
                timestamp,
                args_bsatn: &call.args,
            },
        );
        match outcome.result {
            Ok(tx) => {
                let caller = Caller {
                    connection_id,
                    request_id: call.request_id,
                    timestamp,
                };
                self.log_tx(&tx, cx);
                self.broadcast(cx.ds, &tx, Some(caller));
                vec![tx]
            }
            Err(e) => {
                if !matches!(e, ReducerError::Panic(_)) {
                    log_system(cx.logs, LogLevel::Error, Some(&call.reducer), e.to_string());
                }
                let result = match e {
                    ReducerError::User(message) => v2::ReducerOutcome::Err(to_vec(&message)),
                    other => v2::ReducerOutcome::InternalError(other.to_string()),
                };
                self.send(connection_id, reply(result));
                Vec::new()
            }
        }
    }

    /// Sends the deltas of a committed transaction: one message per client whose query
    /// sets changed, and always a `ReducerResult` to the caller.
    ///
    /// A query set with a query that failed on this transaction is dead: its client
    /// gets a `SubscriptionError` without a request id for it first (so it can drop the
    /// set's rows), and the set receives nothing more.
    fn broadcast(&mut self, ds: &Datastore, tx: &TxData, caller: Option<Caller>) {
        let (updates, failed) = self.encode_deltas(ds, tx);
        if !failed.is_empty() {
            self.drop_failed_sets(&failed);
        }
        if updates.is_empty() {
            // No query changed: only the caller hears of the transaction, without a
            // walk over every client.
            if let Some(c) = caller {
                self.send(c.connection_id, encode::reducer_ok(c.request_id, c.timestamp, &[]));
            }
            return;
        }
        let mut slow = Vec::new();
        for (connection_id, client) in &self.clients {
            let sets: Vec<QuerySetBytes<'_>> = client
                .sets
                .iter()
                .filter_map(|(id, keys)| {
                    let tables: Vec<&EncodedTableUpdate> = keys.iter().filter_map(|k| updates.get(k)).collect();
                    (!tables.is_empty()).then_some(QuerySetBytes {
                        query_set_id: *id,
                        tables,
                    })
                })
                .collect();
            let message = match &caller {
                Some(c) if c.connection_id == *connection_id => encode::reducer_ok(c.request_id, c.timestamp, &sets),
                _ if sets.is_empty() => continue,
                _ => encode::transaction_update(&sets),
            };
            let outgoing = Outgoing {
                offset: self.offset,
                body: message,
            };
            match self.outbox.as_mut() {
                Some(outbox) => outbox.push((*connection_id, outgoing)),
                None if !client.queue.push(outgoing) => slow.push(*connection_id),
                None => {}
            }
        }
        for connection_id in slow {
            self.drop_client(connection_id);
        }
    }

    /// Ends every query set that names a failed query, telling its client why.
    fn drop_failed_sets(&mut self, failed: &HashMap<QueryKey, String>) {
        let mut dead = Vec::new();
        for (connection_id, client) in &self.clients {
            for (id, keys) in &client.sets {
                if let Some((key, error)) = keys.iter().find_map(|k| failed.get_key_value(k)) {
                    let error = format!(
                        "the query `{}` failed while evaluating a transaction, so the server ended this query set: {error}; \
                         subscribe again (the query may need changing)",
                        key.0
                    );
                    dead.push((*connection_id, *id, error));
                }
            }
        }
        for (connection_id, id, error) in dead {
            if let Some(keys) = self.clients.get_mut(&connection_id).and_then(|c| c.sets.remove(&id)) {
                self.release(&keys);
            }
            let message = ServerMessage::SubscriptionError(SubscriptionError {
                request_id: None,
                query_set_id: spacetime_protocol::QuerySetId::new(id),
                error,
            });
            self.send(connection_id, message.to_bytes());
        }
    }

    /// Each distinct query's delta for `tx`, encoded once as a `TableUpdate` (queries
    /// whose result did not change are left out), and the queries that failed, with
    /// why.
    fn encode_deltas(
        &self,
        ds: &Datastore,
        tx: &TxData,
    ) -> (HashMap<QueryKey, EncodedTableUpdate>, HashMap<QueryKey, String>) {
        let read: HashSet<TableId> = self.queries.values().flat_map(|q| q.query.reads()).collect();
        let mut delta = TxDelta::new();
        for t in tx.tables.iter().filter(|t| read.contains(&t.table_id)) {
            let decode = |rows: &[Box<[u8]>]| -> Vec<(Box<[u8]>, spacetime_sats::ProductValue)> {
                rows.iter()
                    .filter_map(|r| ds.decode_row(t.table_id, r).ok().map(|v| (r.clone(), v)))
                    .collect()
            };
            delta.insert(
                t.table_id,
                TableDelta {
                    inserts: decode(&t.inserts),
                    deletes: decode(&t.deletes),
                },
            );
        }
        let (mut out, mut failed) = (HashMap::new(), HashMap::new());
        if delta.is_empty() {
            return (out, failed);
        }
        for (key, shared) in &self.queries {
            let query = &shared.query;
            if !query.reads().any(|t| delta.contains_key(&t)) {
                continue;
            }
            match query.delta(ds, &delta) {
                Ok(d) if d.is_empty() => {}
                Ok(d) => {
                    out.insert(
                        key.clone(),
                        EncodedTableUpdate::new(query.table_name(), query.is_event(), &d),
                    );
                }
                Err(e) => {
                    log::error!("subscription query `{}` failed on a transaction: {e}", key.0);
                    failed.insert(key.clone(), e);
                }
            }
        }
        (out, failed)
    }
}

/// The queries of a `Subscribe`, with the legacy `SELECT * FROM *` replaced by one
/// `SELECT * FROM t` per table the caller may read (every table for the owner, the
/// public ones for anyone else). Tables a later module update adds are not included.
fn expand_all_tables(queries: &[String], auth: &SqlAuth, module: &ModuleDef) -> Vec<String> {
    let mut out = Vec::new();
    for sql in queries {
        let words: Vec<&str> = sql.trim().trim_end_matches(';').split_whitespace().collect();
        let all = words.len() == 4
            && words[0].eq_ignore_ascii_case("select")
            && words[1] == "*"
            && words[2].eq_ignore_ascii_case("from")
            && words[3] == "*";
        if !all {
            out.push(sql.clone());
            continue;
        }
        let readable = module
            .tables
            .iter()
            .filter(|t| auth.is_owner() || t.access == TableAccess::Public);
        out.extend(readable.map(|t| format!("SELECT * FROM {}", t.name)));
    }
    out
}

/// Rows grouped by table for `QueryRows`, one entry per table in first-seen order.
#[derive(Default)]
struct TableRows {
    tables: Vec<(String, Vec<Vec<u8>>)>,
}

impl TableRows {
    fn add(&mut self, table: &str, rows: Vec<Vec<u8>>) {
        match self.tables.iter_mut().find(|(t, _)| t == table) {
            Some((_, existing)) => existing.extend(rows),
            None => self.tables.push((table.to_owned(), rows)),
        }
    }

    fn finish(self) -> QueryRows {
        let tables = self
            .tables
            .into_iter()
            .map(|(table, rows)| SingleTableRows {
                table,
                rows: BsatnRowList::from_rows(rows),
            })
            .collect();
        QueryRows { tables }
    }
}

/// Runs a one-off `SELECT` for the caller: rows grouped under the table they come from
/// (the first table for a projection or a count).
fn one_off(sql: &str, auth: &SqlAuth, cx: &ActorCx<'_>) -> Result<QueryRows, String> {
    let plan =
        spacetime_sql::compile(sql, auth, cx.instance.program().module_def(), cx.ds).map_err(|e| e.to_string())?;
    let Plan::Select(plan) = plan else {
        return Err(
            "one-off queries are read-only: send a SELECT; run DML through a reducer or `spacetime sql`".into(),
        );
    };
    let rows = spacetime_sql::exec::select(&plan, cx.ds).map_err(|e| e.to_string())?;
    let rel = match plan.projection {
        Projection::Relation(rel) => rel,
        _ => 0,
    };
    let mut tables = TableRows::default();
    tables.add(&plan.relations[rel].table_name, rows.iter().map(to_vec).collect());
    Ok(tables.finish())
}

fn log_lifecycle_failure(logs: &ModuleLogs, reducer: &str, error: &ReducerError) {
    if !matches!(error, ReducerError::Panic(_)) {
        log_system(logs, LogLevel::Error, Some(reducer), error.to_string());
    }
}

#[cfg(test)]
mod test_db;

#[cfg(test)]
#[path = "manager_tests.rs"]
mod manager_tests;
