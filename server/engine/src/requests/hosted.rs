//! Clients whose WebSocket another node of a cluster holds (a reader, design §8): the
//! leader runs their `client_connected` and `client_disconnected` and their reducer
//! calls on their own connection id, so a module sees them as it sees its own
//! WebSocket clients, but sends them nothing (the hosting node serves their
//! subscriptions from its copy).
//!
//! The connection is logged with the node hosting it ("connected elsewhere",
//! `storage::record`, in the same record as its `client_connected` transaction), so
//! the state is in the replicated log: a standby that takes over holds the same hosted
//! clients and does not end them at promotion (a restart does not either;
//! [`Actor::disconnect_stale_clients`] ends only the leader's own).
//! Which hosts are gone is the edge's to tell: it asks for
//! [`HostedRequest::List`] and ends each client whose host no longer runs. Ending one
//! is idempotent (only a client the log holds as connected is ended, and the log then
//! forgets it), so `client_disconnected` runs once however many nodes ask.

use super::Logged;
use crate::actor::Actor;
use crate::error::{CallError, ConnectError};
use crate::follower::NotLeader;
use crate::storage::record::ClientChange;
use spacetime_host::ReducerOutcome;
use spacetime_sats::{ConnectionId, Identity};
use std::sync::Arc;
use tokio::sync::oneshot;

/// A client connected through another node, as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedClient {
    /// Who.
    pub identity: Identity,
    /// Its connection.
    pub connection_id: ConnectionId,
    /// The node hosting it, as that node named itself when connecting.
    pub host: String,
}

/// Why a hosted client's connection or disconnection was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HostedError {
    /// This node does not lead the database.
    #[error(transparent)]
    NotLeader(#[from] NotLeader),
    /// `client_connected` refused the client, or its connection id is taken.
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

/// What the edge asks about hosted clients.
pub(crate) enum HostedRequest {
    /// Run `client_connected` for a client `host` holds; log it with its host.
    Connect {
        caller: Identity,
        connection_id: ConnectionId,
        jwt: Option<Arc<str>>,
        host: String,
        reply: oneshot::Sender<Logged<Result<(), HostedError>>>,
    },
    /// Run `client_disconnected` for a hosted client, if it is still connected;
    /// replies whether it ran.
    Disconnect {
        caller: Identity,
        connection_id: ConnectionId,
        jwt: Option<Arc<str>>,
        reply: oneshot::Sender<Logged<Result<bool, HostedError>>>,
    },
    /// A reducer call (JSON arguments) on a hosted client's connection.
    Call {
        caller: Identity,
        connection_id: ConnectionId,
        jwt: Option<Arc<str>>,
        reducer: String,
        args: serde_json::Value,
        reply: oneshot::Sender<Logged<Result<ReducerOutcome, CallError>>>,
    },
    /// The hosted clients the log holds as connected.
    List { reply: oneshot::Sender<Vec<HostedClient>> },
}

impl Actor {
    /// Serves one request about hosted clients.
    pub(crate) fn hosted_request(&mut self, request: HostedRequest) {
        match request {
            HostedRequest::Connect {
                caller,
                connection_id,
                jwt,
                host,
                reply,
            } => {
                let result = self.connect_hosted(caller, connection_id, jwt, &host);
                let _ = reply.send(self.logged(result));
            }
            HostedRequest::Disconnect {
                caller,
                connection_id,
                jwt,
                reply,
            } => {
                let result = self.disconnect_hosted(caller, connection_id, jwt);
                let _ = reply.send(self.logged(result));
            }
            HostedRequest::Call {
                caller,
                connection_id,
                jwt,
                reducer,
                args,
                reply,
            } => {
                let result = self.call_hosted(caller, connection_id, jwt, &reducer, &args);
                let _ = reply.send(self.logged(result));
            }
            HostedRequest::List { reply } => {
                let _ = reply.send(self.hosted_clients());
            }
        }
    }

    /// The hosted client `connection_id` of `caller`, as the log holds it: `Some(true)`
    /// if connected through another node, `Some(false)` if the id is live here for
    /// anyone else (another identity, or a connection this node holds itself),
    /// `None` if it is not connected.
    fn hosted_state(&self, caller: Identity, connection_id: ConnectionId) -> Option<bool> {
        if self.db.subscriptions.identity_of(connection_id).is_some() {
            return Some(false);
        }
        let (identity, host) = self.db.commitlog.as_ref()?.client(connection_id)?;
        Some(identity == caller && host.is_some())
    }

    fn connect_hosted(
        &mut self,
        caller: Identity,
        connection_id: ConnectionId,
        jwt: Option<Arc<str>>,
        host: &str,
    ) -> Result<(), HostedError> {
        if let Some(refusal) = self.not_leader() {
            return Err(refusal.into());
        }
        match self.hosted_state(caller, connection_id) {
            // A retry of a connection that was made: `client_connected` ran once.
            Some(true) => return Ok(()),
            Some(false) => return Err(ConnectError::ConnectionIdInUse(connection_id).into()),
            None => {}
        }
        if let Some(jwt) = jwt {
            self.connection_jwts.insert(connection_id, jwt);
        }
        let logged = ClientChange::ConnectedAt(caller, connection_id, host.to_owned());
        if let Err(e) = self.run_client_connected(caller, connection_id, logged) {
            self.connection_jwts.remove(&connection_id);
            return Err(ConnectError::Rejected(e).into());
        }
        Ok(())
    }

    fn disconnect_hosted(
        &mut self,
        caller: Identity,
        connection_id: ConnectionId,
        jwt: Option<Arc<str>>,
    ) -> Result<bool, HostedError> {
        if let Some(refusal) = self.not_leader() {
            return Err(refusal.into());
        }
        if self.hosted_state(caller, connection_id) != Some(true) {
            self.connection_jwts.remove(&connection_id);
            return Ok(false);
        }
        if let Some(jwt) = jwt {
            self.connection_jwts.entry(connection_id).or_insert(jwt);
        }
        // Logs "disconnected", so the log forgets it: a second request runs nothing.
        self.disconnect(caller, connection_id);
        self.connection_jwts.remove(&connection_id);
        Ok(true)
    }

    fn call_hosted(
        &mut self,
        caller: Identity,
        connection_id: ConnectionId,
        jwt: Option<Arc<str>>,
        reducer: &str,
        args: &serde_json::Value,
    ) -> Result<ReducerOutcome, CallError> {
        let (reducer_id, args) = self.admit_json_call(caller, reducer, args)?;
        // Without a `client_disconnected` reducer connections are not logged (nothing
        // needs to run at their end), so there is nothing to check them against.
        if self.tracks_clients() && self.hosted_state(caller, connection_id) != Some(true) {
            return Err(CallError::NotConnected(connection_id));
        }
        if let Some(jwt) = jwt {
            // A new leader learns the token's payload from the first call after a
            // takeover.
            self.connection_jwts.entry(connection_id).or_insert(jwt);
        }
        Ok(self.run_call(caller, connection_id, reducer_id, reducer, &args))
    }

    fn hosted_clients(&self) -> Vec<HostedClient> {
        let Some(log) = &self.db.commitlog else {
            return Vec::new();
        };
        let identities: std::collections::HashMap<ConnectionId, Identity> =
            log.connected().into_iter().map(|(i, c)| (c, i)).collect();
        log.hosts()
            .into_iter()
            .filter_map(|(connection_id, host)| {
                Some(HostedClient {
                    identity: *identities.get(&connection_id)?,
                    connection_id,
                    host,
                })
            })
            .collect()
    }
}
