//! Subscriptions: the connected WebSocket clients of one database, their query sets, and
//! the per-transaction updates they receive.
//!
//! # Brief overview
//! The [`SubscriptionManager`] lives on the database's actor thread, next to the
//! datastore, so a subscription's initial rows and every later delta are computed
//! between two transactions. It is handed the datastore (`&Datastore`) and the
//! commit-log offset each message may reflect; it never runs module code or writes
//! the log: the actor's request handlers and its commit funnel call it.
//!
//! Each distinct query is compiled once into a [`CompiledQuery`] and shared by every
//! query set that names it; per transaction its delta is computed and encoded once
//! ([`spacetime_protocol::splice`]), and each client's message is assembled from those
//! shared bytes. The cost of a transaction thus grows with the number of distinct
//! queries touched, not with the number of clients.
//!
//! A client whose queue is full (by messages or by bytes, see [`client`]) is
//! disconnected: the database never waits for a socket.
//!
//! A `Subscribe` is bounded: at most [`MAX_QUERIES_PER_SUBSCRIBE`] queries (identical
//! ones are evaluated once), at most [`MAX_QUERY_SETS_PER_CLIENT`] live query sets per
//! connection, and at most [`MAX_INITIAL_ROWS_BYTES`] of initial rows. Evaluation stops
//! at the first limit it crosses, so one request holds the actor for a bounded time.
//!
//! Every queued message carries the commit-log offset of the last transaction it may
//! reflect ([`Outgoing::offset`]). A confirmed connection waits for it to be durable
//! before writing the message (the edge's WebSocket loop), so the actor thread never
//! waits on the disk.

mod client;
mod query;
mod rows;
mod update;

pub use client::{ClientHandle, DropReason, Outgoing, Queue, CLIENT_BYTE_BUDGET, CLIENT_QUEUE_CAPACITY};
pub use query::{CompiledQuery, QueryDelta, QueryError, TableDelta, TxDelta};
pub use rows::TableRows;

use spacetime_datastore::{Datastore, TxData};
use spacetime_protocol::splice::{self, EncodedTableUpdate, QuerySetBytes};
use spacetime_protocol::v2::{
    self, InitialConnection, ServerMessage, SubscribeApplied, SubscriptionError, UnsubscribeApplied, UnsubscribeFlags,
};
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::TableAccess;
use spacetime_sats::{ConnectionId, Identity, TableId, Timestamp};
use spacetime_sql::{Catalog, SqlAuth, SqlError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// How many query strings one `Subscribe` may carry. Each is parsed and checked on
/// the actor thread, so the count bounds the work one request can ask for.
pub const MAX_QUERIES_PER_SUBSCRIBE: usize = 1000;

/// How many query sets one connection may have live at once.
pub const MAX_QUERY_SETS_PER_CLIENT: usize = 1000;

/// How many bytes of rows the `SubscribeApplied` (or `UnsubscribeApplied`) of one
/// request may carry. Evaluation stops once it is crossed.
pub const MAX_INITIAL_ROWS_BYTES: usize = 64 * 1024 * 1024;

/// A distinct query: the SQL text, plus the caller when the result depends on who
/// subscribed (`:sender`, or row-level security; see [`query_key`]).
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

/// The caller of the transaction being published, who gets a `ReducerResult` instead
/// of a `TransactionUpdate`.
#[derive(Debug, Clone, Copy)]
pub struct ReducerCaller {
    /// The calling connection.
    pub connection_id: ConnectionId,
    /// The request id of its `CallReducer`.
    pub request_id: u32,
    /// The call's timestamp.
    pub timestamp: Timestamp,
}

/// The clients and distinct queries of one database.
#[derive(Default)]
pub struct SubscriptionManager {
    clients: HashMap<ConnectionId, Client>,
    queries: HashMap<QueryKey, SharedQuery>,
    /// The offset given with the current call, tagged on every message it queues.
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
            self.drop_slow(connection_id);
        }
    }

    /// Forgets a client whose queue refused a message, logging why.
    fn drop_slow(&mut self, connection_id: ConnectionId) {
        if let Some(client) = self.clients.get(&connection_id) {
            log::warn!(
                "dropped client {connection_id} ({}): {}",
                client.identity,
                client.queue.reason()
            );
        }
        self.remove_client(connection_id);
    }

    /// Registers a client whose connection was accepted, with `queue` (from
    /// [`ClientHandle::take_queue`]), and queues its `InitialConnection` carrying
    /// `token`. `offset` is the log's last offset.
    pub fn add_client(
        &mut self,
        identity: Identity,
        connection_id: ConnectionId,
        queue: Queue,
        token: String,
        offset: Option<u64>,
    ) {
        let hello = ServerMessage::InitialConnection(InitialConnection {
            identity,
            connection_id,
            token,
        });
        queue.push(Outgoing {
            offset,
            body: hello.to_bytes(),
        });
        self.clients.insert(
            connection_id,
            Client {
                identity,
                queue,
                sets: BTreeMap::new(),
            },
        );
    }

    /// Every registered client, as `(identity, connection id)`.
    pub fn connected(&self) -> impl Iterator<Item = (Identity, ConnectionId)> + '_ {
        self.clients.iter().map(|(c, client)| (client.identity, *c))
    }

    /// The identity of a registered client.
    pub fn identity_of(&self, connection_id: ConnectionId) -> Option<Identity> {
        self.clients.get(&connection_id).map(|c| c.identity)
    }

    /// The ids of a client's live query sets, in order.
    pub fn query_set_ids(&self, connection_id: ConnectionId) -> Vec<u32> {
        self.clients
            .get(&connection_id)
            .map(|c| c.sets.keys().copied().collect())
            .unwrap_or_default()
    }

    /// How many clients are connected, and how many query sets they hold in all.
    pub fn counts(&self) -> (usize, usize) {
        (self.clients.len(), self.clients.values().map(|c| c.sets.len()).sum())
    }

    /// How many distinct queries the clients' query sets hold.
    pub fn distinct_queries(&self) -> usize {
        self.queries.len()
    }

    /// Every table a live query reads: a view's backing table outside this set has no
    /// subscriber (see the engine's view lifecycle).
    pub fn tables_read(&self) -> HashSet<TableId> {
        self.queries.values().flat_map(|q| q.query.reads()).collect()
    }

    /// Forgets a client and its query sets (its queue closes when the last handle goes).
    pub fn remove_client(&mut self, connection_id: ConnectionId) {
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

    /// Ends the registered client with `connection_id` because a newer connection of
    /// the same identity takes its id: its connection closes saying so, and its end
    /// counts as handled (the caller runs `client_disconnected` for it now).
    pub fn replace_client(&mut self, connection_id: ConnectionId) {
        if let Some(client) = self.clients.get(&connection_id) {
            client.queue.drop_client(DropReason::Replaced);
            client.queue.end();
        }
        self.remove_client(connection_id);
    }

    /// Handles the end of `handle`'s connection: forgets it if it is the registered
    /// client with its id (not a newer connection that replaced it). `false` if its end
    /// was handled before, so `client_disconnected` must not run again.
    pub fn end_connection(&mut self, handle: &ClientHandle) -> bool {
        if !handle.end() {
            return false;
        }
        let registered = self
            .clients
            .get(&handle.connection_id)
            .is_some_and(|c| handle.owns(&c.queue));
        if registered {
            self.remove_client(handle.connection_id);
        }
        true
    }

    /// Queues a message for one client (which may reflect transactions up to log
    /// offset `offset`), dropping the client if it cannot keep up.
    pub fn send(&mut self, connection_id: ConnectionId, message: Vec<u8>, offset: Option<u64>) {
        self.offset = offset;
        self.queue_message(connection_id, message);
    }

    /// Queues a message with the current call's offset.
    fn queue_message(&mut self, connection_id: ConnectionId, message: Vec<u8>) {
        let outgoing = Outgoing {
            offset: self.offset,
            body: message,
        };
        if let Some(outbox) = self.outbox.as_mut() {
            outbox.push((connection_id, outgoing));
            return;
        }
        let ok = self.clients.get(&connection_id).is_none_or(|c| c.queue.push(outgoing));
        if !ok {
            self.drop_slow(connection_id);
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

    /// Starts query set `s` of a client: compiles its queries against `module` (each
    /// distinct query once per database), queues `SubscribeApplied` with the initial
    /// rows from `ds`, or a `SubscriptionError` saying why not.
    pub fn subscribe(
        &mut self,
        connection_id: ConnectionId,
        auth: &SqlAuth,
        s: v2::Subscribe,
        catalog: Catalog<'_>,
        ds: &Datastore,
        offset: Option<u64>,
    ) {
        self.offset = offset;
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
            return self.queue_message(connection_id, fail(error));
        }
        if s.query_strings.is_empty() {
            return self.queue_message(
                connection_id,
                fail("the query set is empty; send at least one `SELECT * FROM t`".into()),
            );
        }
        if let Err(error) = self.check_subscribe_limits(connection_id, &s) {
            return self.queue_message(connection_id, fail(error));
        }
        let mut compiled: Vec<(QueryKey, Arc<CompiledQuery>)> = Vec::new();
        for sql in expand_all_tables(&s.query_strings, auth, catalog.module) {
            // Identical queries in one set are evaluated (and counted) once.
            let key = query_key(&sql, auth, catalog);
            if compiled.iter().any(|(k, _)| *k == key) {
                continue;
            }
            match self.lookup_or_compile(key, &sql, auth, catalog, ds) {
                Ok(entry) => compiled.push(entry),
                Err(e) => return self.queue_message(connection_id, fail(format!("{e} (in the query `{sql}`)"))),
            }
        }
        let mut tables = TableRows::default();
        for (_, query) in &compiled {
            // Each query may fill what the earlier ones left of the budget, and its scan
            // stops there: a huge table costs the budget, not its size.
            let budget = MAX_INITIAL_ROWS_BYTES - tables.bytes();
            match query.rows_within(ds, budget) {
                Ok(rows) => tables.add(query.table_name(), rows),
                Err(QueryError::Sql(SqlError::ResultTooLarge { .. })) => {
                    let error = format!(
                        "the initial rows of this query set exceed {} MiB (the limit per Subscribe, {} bytes); \
                         subscribe to fewer rows, e.g. with a WHERE clause, or split the queries over several sets",
                        MAX_INITIAL_ROWS_BYTES >> 20,
                        MAX_INITIAL_ROWS_BYTES
                    );
                    return self.queue_message(connection_id, fail(error));
                }
                Err(e) => return self.queue_message(connection_id, fail(e.to_string())),
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
        self.queue_message(connection_id, applied.to_bytes());
    }

    /// Why a `Subscribe` may not start, if it would cross a limit: too many queries
    /// in it, or too many query sets live on the connection.
    fn check_subscribe_limits(&self, connection_id: ConnectionId, s: &v2::Subscribe) -> Result<(), String> {
        if s.query_strings.len() > MAX_QUERIES_PER_SUBSCRIBE {
            return Err(format!(
                "this Subscribe has {} queries, over the limit of {MAX_QUERIES_PER_SUBSCRIBE} per Subscribe; \
                 send fewer queries (repeated ones count each time) or split them over several query sets",
                s.query_strings.len()
            ));
        }
        let live = self.clients.get(&connection_id).map_or(0, |c| c.sets.len());
        if live >= MAX_QUERY_SETS_PER_CLIENT {
            return Err(format!(
                "this connection has {live} live query sets, the limit is {MAX_QUERY_SETS_PER_CLIENT}; \
                 unsubscribe some first, or put more queries in one set"
            ));
        }
        Ok(())
    }

    /// The shared compiled form of `sql` (whose key is `key`) for `auth`'s caller,
    /// compiling it if no client has it yet. A shared query over a private table is
    /// reused only for the owner.
    fn lookup_or_compile(
        &self,
        key: QueryKey,
        sql: &str,
        auth: &SqlAuth,
        catalog: Catalog<'_>,
        ds: &Datastore,
    ) -> Result<(QueryKey, Arc<CompiledQuery>), QueryError> {
        if let Some(shared) = self.queries.get(&key) {
            if !shared.query.owner_only() || auth.is_owner() {
                return Ok((key, shared.query.clone()));
            }
        }
        let query = CompiledQuery::compile(sql, auth, catalog, ds)?;
        Ok((key, Arc::new(query)))
    }

    /// Ends query set `u` of a client, queuing `UnsubscribeApplied` (with the rows it
    /// drops, from `ds`, if asked) or a `SubscriptionError` if it is not live.
    pub fn unsubscribe(
        &mut self,
        connection_id: ConnectionId,
        u: v2::Unsubscribe,
        ds: &Datastore,
        offset: Option<u64>,
    ) {
        self.offset = offset;
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
            return self.queue_message(connection_id, error.to_bytes());
        };
        let rows = match u.flags {
            UnsubscribeFlags::Default => None,
            UnsubscribeFlags::SendDroppedRows => {
                let mut tables = TableRows::default();
                let mut over = false;
                for key in &keys {
                    if let Some(shared) = self.queries.get(key) {
                        let budget = MAX_INITIAL_ROWS_BYTES - tables.bytes();
                        match shared.query.rows_within(ds, budget) {
                            Ok(rows) => tables.add(shared.query.table_name(), rows),
                            Err(QueryError::Sql(SqlError::ResultTooLarge { .. })) => {
                                over = true;
                                break;
                            }
                            // The query ran on this state before, so its tables exist.
                            Err(_) => {}
                        }
                    }
                }
                if over {
                    // The set is gone either way; the client learns its rows are too
                    // many to send and drops them itself.
                    self.release(&keys);
                    let error = ServerMessage::SubscriptionError(SubscriptionError {
                        request_id: Some(u.request_id),
                        query_set_id: u.query_set_id,
                        error: format!(
                            "query set {} was unsubscribed, but its rows exceed {} MiB (the limit per request), \
                             so they are not sent; unsubscribe without SendDroppedRows",
                            u.query_set_id.id,
                            MAX_INITIAL_ROWS_BYTES >> 20
                        ),
                    });
                    return self.queue_message(connection_id, error.to_bytes());
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
        self.queue_message(connection_id, applied.to_bytes());
    }

    /// Publishes a committed transaction: one message per client whose query sets
    /// changed, and always a `ReducerResult` to `caller`, if any. `offset` is the
    /// log's last offset once the transaction was logged.
    ///
    /// A query set with a query that failed on this transaction is dead: its client
    /// gets a `SubscriptionError` without a request id for it first (so it can drop the
    /// set's rows), and the set receives nothing more.
    pub fn publish(&mut self, ds: &Datastore, tx: &TxData, offset: Option<u64>, caller: Option<ReducerCaller>) {
        self.offset = offset;
        let (updates, failed) = self.encode_deltas(ds, tx);
        if !failed.is_empty() {
            self.drop_failed_sets(&failed);
        }
        if updates.is_empty() {
            // No query changed: only the caller hears of the transaction, without a
            // walk over every client.
            if let Some(c) = caller {
                self.queue_message(c.connection_id, splice::reducer_ok(c.request_id, c.timestamp, &[]));
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
                Some(c) if c.connection_id == *connection_id => splice::reducer_ok(c.request_id, c.timestamp, &sets),
                _ if sets.is_empty() => continue,
                _ => splice::transaction_update(&sets),
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
            self.drop_slow(connection_id);
        }
    }

    /// Ends every query set that names a failed query, telling its client why.
    fn drop_failed_sets(&mut self, failed: &HashMap<QueryKey, QueryError>) {
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
            self.queue_message(connection_id, message.to_bytes());
        }
    }

    /// Each distinct query's delta for `tx`, encoded once as a `TableUpdate` (queries
    /// whose result did not change are left out), and the queries that failed, with
    /// why.
    fn encode_deltas(
        &self,
        ds: &Datastore,
        tx: &TxData,
    ) -> (HashMap<QueryKey, EncodedTableUpdate>, HashMap<QueryKey, QueryError>) {
        let read: HashSet<TableId> = self.queries.values().flat_map(|q| q.query.reads()).collect();
        let delta = query::decode_tx(ds, tx, |table| read.contains(&table));
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
                    let update = if query.is_event() {
                        EncodedTableUpdate::events(query.table_name(), &d.inserts)
                    } else {
                        EncodedTableUpdate::persistent(query.table_name(), &d.inserts, &d.deletes)
                    };
                    out.insert(key.clone(), update);
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

/// The key under which `sql` is shared: its text, plus the caller if its result depends
/// on who asks: it uses `:sender`, or the module has row-level security filters and the
/// caller is not the owner.
fn query_key(sql: &str, auth: &SqlAuth, catalog: Catalog<'_>) -> QueryKey {
    let per_caller = sql.contains(":sender") || (!auth.is_owner() && !catalog.rls.is_empty());
    (sql.trim().to_owned(), per_caller.then_some(auth.caller))
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

#[cfg(test)]
mod test_db;

#[cfg(test)]
#[path = "manager_tests.rs"]
mod manager_tests;

#[cfg(test)]
#[path = "limits_tests.rs"]
mod limits_tests;

#[cfg(test)]
#[path = "rls_tests.rs"]
mod rls_tests;
