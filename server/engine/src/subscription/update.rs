//! What a module update does to the subscribers: their queries are compiled again
//! against the new module (table and index ids change with the schema), and a query
//! set the new schema no longer accepts ends with a `SubscriptionError` saying why;
//! or, for an update that breaks clients, every client is disconnected.

use super::{Client, DropReason, QueryKey, SharedQuery, SubscriptionManager};
use spacetime_datastore::Datastore;
use spacetime_protocol::v2::{ServerMessage, SubscriptionError};
use spacetime_protocol::QuerySetId;
use spacetime_sats::{ConnectionId, Identity};
use spacetime_sql::{Catalog, SqlAuth};
use std::collections::HashMap;
use std::sync::Arc;

impl SubscriptionManager {
    /// Compiles every live query again against `catalog` (the new module) and `ds`
    /// (its datastore). A query set whose queries all still compile is kept and keeps
    /// receiving updates; one with a query that does not ends with a
    /// `SubscriptionError` naming the query and the reason. `offset` is the log's last
    /// offset (the update's record).
    pub fn module_updated(&mut self, catalog: Catalog<'_>, ds: &Datastore, owner: Identity, offset: Option<u64>) {
        self.offset = offset;
        let mut queries: HashMap<QueryKey, SharedQuery> = HashMap::new();
        let mut ended = Vec::new();
        for (&connection_id, client) in &mut self.clients {
            let auth = SqlAuth {
                caller: client.identity,
                owner,
            };
            let mut kept = Vec::new();
            for (&set, keys) in &client.sets {
                match compile_set(keys, &auth, catalog, ds, &queries) {
                    Ok(compiled) => kept.push((set, compiled)),
                    Err(error) => ended.push((connection_id, set, error)),
                }
            }
            client.sets.retain(|set, _| kept.iter().any(|(k, _)| k == set));
            for (set, compiled) in kept {
                // The keys may change: the new module's row-level security can make a
                // query's result depend on the caller.
                client
                    .sets
                    .insert(set, compiled.iter().map(|(key, _)| key.clone()).collect());
                for (key, query) in compiled {
                    queries.entry(key).or_insert(SharedQuery { query, refs: 0 }).refs += 1;
                }
            }
        }
        self.queries = queries;
        for (connection_id, set, error) in ended {
            let message = ServerMessage::SubscriptionError(SubscriptionError {
                request_id: None,
                query_set_id: QuerySetId::new(set),
                error,
            });
            self.queue_message(connection_id, message.to_bytes());
        }
    }

    /// Ends every client's connection with `reason` (a close the client sees), and
    /// returns them so the caller runs `client_disconnected` for each.
    pub fn end_all(&mut self, reason: &str) -> Vec<(Identity, ConnectionId)> {
        let ended: Vec<(Identity, ConnectionId)> =
            self.clients.iter().map(|(&c, client)| (client.identity, c)).collect();
        for (_, connection_id) in &ended {
            if let Some(Client { queue, .. }) = self.clients.get(connection_id) {
                queue.drop_client(DropReason::ModuleUpdated(reason.to_owned()));
                queue.end();
            }
            self.remove_client(*connection_id);
        }
        ended
    }
}

/// The queries of one query set compiled for `auth`'s caller, reusing those already
/// compiled for another client when they may be shared; or the first error, worded
/// for the client.
fn compile_set(
    keys: &[QueryKey],
    auth: &SqlAuth,
    catalog: Catalog<'_>,
    ds: &Datastore,
    compiled: &HashMap<QueryKey, SharedQuery>,
) -> Result<Vec<(QueryKey, Arc<super::CompiledQuery>)>, String> {
    let mut set = Vec::with_capacity(keys.len());
    for key in keys {
        let key = &super::query_key(&key.0, auth, catalog);
        let shared = compiled
            .get(key)
            .filter(|s| !s.query.owner_only() || auth.is_owner())
            .map(|s| s.query.clone());
        let query = match shared {
            Some(query) => query,
            None => match super::CompiledQuery::compile(&key.0, auth, catalog, ds) {
                Ok(query) => Arc::new(query),
                Err(e) => {
                    return Err(format!(
                        "the module was updated and this query no longer applies: {e} (in the query `{}`)",
                        key.0
                    ))
                }
            },
        };
        set.push((key.clone(), query));
    }
    Ok(set)
}
