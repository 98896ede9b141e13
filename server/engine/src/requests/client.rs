//! WebSocket client requests: a connection's start (`client_connected`, then its
//! `InitialConnection`), each decoded client message (subscribe, unsubscribe, one-off
//! query, reducer call, procedure call), and its end (`client_disconnected`).

use super::admission::admit_reducer;
use crate::actor::Actor;
use crate::error::ConnectError;
use crate::subscription::{ClientHandle, ReducerCaller, TableRows};
use spacetime_host::{ReducerCall, ReducerError};
use spacetime_protocol::v2::{self, ClientMessage, OneOffQueryResult, QueryRows, ServerMessage};
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::{ConnectionId, Timestamp};
use spacetime_sql::{Catalog, SqlAuth, SqlError};
use std::sync::Arc;
use tokio::sync::oneshot;

/// What a WebSocket connection asks of the actor.
#[derive(Debug)]
pub enum ClientRequest {
    /// Run `client_connected`; on success register the client and queue
    /// `InitialConnection` as its first message.
    Connect {
        /// The new client.
        client: ClientHandle,
        /// The token to echo in `InitialConnection`.
        token: String,
        /// The token's payload JSON, which the module reads with `get_jwt`.
        jwt: Option<Arc<str>>,
        /// Whether the connection was accepted.
        reply: oneshot::Sender<Result<(), ConnectError>>,
    },
    /// One decoded client message.
    Message {
        /// Which client sent it.
        connection_id: ConnectionId,
        /// The message.
        message: ClientMessage,
    },
    /// The socket closed: drop the client's subscriptions and run `client_disconnected`
    /// (unless its end was handled already, as for a replaced connection).
    Disconnect {
        /// The connection that ended.
        client: ClientHandle,
    },
}

/// Why a one-off query was refused or failed (sent to the client as text).
#[derive(Debug, thiserror::Error)]
enum OneOffError {
    /// The SQL layer refused or failed it.
    #[error("{0}")]
    Sql(#[from] SqlError),
    /// One-off queries only read.
    #[error("one-off queries are read-only: send a SELECT; run DML through a reducer or `spacetime sql`")]
    NotSelect,
}

impl Actor {
    /// Serves one WebSocket client request.
    pub(super) fn client_request(&mut self, request: ClientRequest) {
        match request {
            ClientRequest::Connect {
                client,
                token,
                jwt,
                reply,
            } => {
                let _ = reply.send(self.client_connect(client, token, jwt));
            }
            ClientRequest::Disconnect { client } => {
                if self.db.subscriptions.end_connection(&client) {
                    self.disconnect(client.identity, client.connection_id);
                    self.connection_jwts.remove(&client.connection_id);
                }
                // Its subscriptions are gone: release the views only they read.
                self.sweep_views();
            }
            ClientRequest::Message { connection_id, message } => {
                // A subscribe marks the views it reads as subscribed; an unsubscribe
                // releases those no other query set reads.
                let sweep = matches!(message, ClientMessage::Subscribe(_) | ClientMessage::Unsubscribe(_));
                self.client_message(connection_id, message);
                if sweep {
                    self.sweep_views();
                }
            }
        }
    }

    /// Runs `client_connected`, then registers the client; its transaction is
    /// published after the client's `InitialConnection` is queued.
    ///
    /// A connection id is live for one connection at a time. Another identity's live id
    /// is refused (its owner must not be disconnected by whoever learns the id); the
    /// same identity's live id replaces the old connection, as a client reconnecting
    /// before the server noticed its old socket die does: the old one is closed saying
    /// so, and its `client_disconnected` runs before the new `client_connected`.
    fn client_connect(
        &mut self,
        client: ClientHandle,
        token: String,
        jwt: Option<Arc<str>>,
    ) -> Result<(), ConnectError> {
        let (identity, connection_id) = (client.identity, client.connection_id);
        let queue = client.take_queue().ok_or(ConnectError::AlreadyRegistered)?;
        match self.db.subscriptions.identity_of(connection_id) {
            Some(live) if live != identity => return Err(ConnectError::ConnectionIdInUse(connection_id)),
            Some(_) => {
                self.db.subscriptions.replace_client(connection_id);
                self.disconnect(identity, connection_id);
            }
            None => {}
        }
        let offset = self.db.last_offset();
        match jwt {
            Some(jwt) => self.connection_jwts.insert(connection_id, jwt),
            None => self.connection_jwts.remove(&connection_id),
        };
        if let Err(e) = self.connect(identity, connection_id) {
            self.connection_jwts.remove(&connection_id);
            return Err(ConnectError::Rejected(e));
        }
        self.db
            .subscriptions
            .add_client(identity, connection_id, queue, token, offset);
        Ok(())
    }

    fn client_message(&mut self, connection_id: ConnectionId, message: ClientMessage) {
        let Some(identity) = self.db.subscriptions.identity_of(connection_id) else {
            return;
        };
        let auth = SqlAuth {
            caller: identity,
            owner: self.owner,
        };
        // A failure is logged; the query then finds the view missing.
        match &message {
            ClientMessage::Subscribe(s) => {
                let _ = self.ensure_views_for(identity, s.query_strings.iter().map(String::as_str));
            }
            ClientMessage::OneOffQuery(q) => {
                let _ = self.ensure_views_for(identity, [q.query_string.as_str()]);
            }
            _ => {}
        }
        let offset = self.db.last_offset();
        let program = self.instance.program().clone();
        let catalog = Catalog {
            module: program.module_def(),
            rls: &self.rls,
        };
        let db = &mut self.db;
        match message {
            ClientMessage::Subscribe(s) => {
                match self
                    .sql_vars
                    .check_queries(&s.query_strings, &auth, catalog, &db.datastore)
                {
                    Ok(()) => db
                        .subscriptions
                        .subscribe(connection_id, &auth, s, catalog, &db.datastore, offset),
                    Err(e) => {
                        let refused = ServerMessage::SubscriptionError(v2::SubscriptionError {
                            request_id: Some(s.request_id),
                            query_set_id: s.query_set_id,
                            error: e.to_string(),
                        });
                        db.subscriptions.send(connection_id, refused.to_bytes(), offset);
                    }
                }
            }
            ClientMessage::Unsubscribe(u) => db.subscriptions.unsubscribe(connection_id, u, &db.datastore, offset),
            ClientMessage::OneOffQuery(q) => {
                let result = self.one_off(&q.query_string, &auth).map_err(|e| e.to_string());
                let message = ServerMessage::OneOffQueryResult(OneOffQueryResult {
                    request_id: q.request_id,
                    result,
                });
                self.db.subscriptions.send(connection_id, message.to_bytes(), offset);
            }
            ClientMessage::CallReducer(call) => self.client_call(connection_id, &auth, call),
            ClientMessage::CallProcedure(call) => self.client_call_procedure(connection_id, identity, call),
        }
    }

    /// Admits and runs a reducer call; the caller's `ReducerResult` comes from the
    /// commit funnel (with its own updates) or, if nothing committed, from here.
    fn client_call(&mut self, connection_id: ConnectionId, auth: &SqlAuth, call: v2::CallReducer) {
        let timestamp = Timestamp::now();
        let reply = |result: v2::ReducerOutcome| {
            ServerMessage::ReducerResult(v2::ReducerResult {
                request_id: call.request_id,
                timestamp,
                result,
            })
            .to_bytes()
        };
        let offset = self.db.last_offset();
        if let Some(refusal) = self.not_leader() {
            let message = reply(v2::ReducerOutcome::InternalError(refusal.to_string()));
            return self.db.subscriptions.send(connection_id, message, offset);
        }
        let admitted = admit_reducer(self.instance.program().module_def(), &call.reducer, auth.is_owner());
        let reducer_id = match admitted {
            Ok((id, _)) => id,
            Err(refused) => {
                let message = reply(v2::ReducerOutcome::InternalError(refused.to_string()));
                return self.db.subscriptions.send(connection_id, message, offset);
            }
        };
        let outcome = self.instance.call_reducer(
            &mut self.db.datastore,
            ReducerCall {
                reducer_id,
                caller_identity: auth.caller,
                caller_connection_id: Some(connection_id),
                timestamp,
                args_bsatn: &call.args,
                caller_jwt: self.connection_jwts.get(&connection_id).map(|jwt| &**jwt),
            },
        );
        crate::metrics::reducer_called(&self.db.metrics_label, &call.reducer, &outcome);
        match outcome.result {
            Ok(tx) => {
                let caller = ReducerCaller {
                    connection_id,
                    request_id: call.request_id,
                    timestamp,
                };
                self.db.commit(&tx, timestamp, Some(caller));
            }
            Err(e) => {
                self.log_failure(&call.reducer, &e);
                let result = match e {
                    ReducerError::User(message) => v2::ReducerOutcome::Err(to_vec(&message)),
                    other => v2::ReducerOutcome::InternalError(other.to_string()),
                };
                self.db.subscriptions.send(connection_id, reply(result), offset);
            }
        }
    }

    /// Runs a one-off `SELECT` for the caller: rows grouped under the table they come
    /// from (the first table for a projection or a count). System tables and the
    /// settings' `row_limit` apply as for `spacetime sql`.
    fn one_off(&self, sql: &str, auth: &SqlAuth) -> Result<QueryRows, OneOffError> {
        let program = self.instance.program();
        let system = self.sql_system_state();
        let found = spacetime_sql::query_with(sql, auth, self.catalog(program), &system, &self.db.datastore)?;
        let found = found.ok_or(OneOffError::NotSelect)?;
        let mut tables = TableRows::default();
        tables.add(&found.table_name, found.rows.iter().map(to_vec).collect());
        Ok(tables.finish())
    }
}
