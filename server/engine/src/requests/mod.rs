//! Request dispatch: what the actor is asked to do ([`Request`]) and how it does it,
//! one file per kind of request. Reducer calls from HTTP and WebSocket pass the same
//! admission check ([`admission`]) and resolve against the module running when the
//! actor serves them; every transaction they commit ends in the commit funnel.

pub(crate) mod admission;
mod client;
mod hosted;
mod http;
mod update;

pub use client::ClientRequest;
pub(crate) use hosted::HostedRequest;
pub use hosted::{HostedClient, HostedError};
pub use http::SqlResult;
pub use update::UpdateOptions;

use crate::actor::Actor;
use crate::error::{CallError, SnapshotError, UpdateError};
use spacetime_host::{ModuleProgram, ReducerError, ReducerOutcome};
use spacetime_sats::{ConnectionId, Identity};
use std::sync::Arc;
use tokio::sync::oneshot;

/// What the actor is asked to do.
pub(crate) enum Request {
    /// An HTTP reducer call (reducer by name, JSON arguments): connect, call,
    /// disconnect.
    Call {
        caller: Identity,
        jwt: Option<Arc<str>>,
        reducer: String,
        args: serde_json::Value,
        reply: oneshot::Sender<Logged<Result<ReducerOutcome, CallError>>>,
    },
    /// An HTTP SQL statement: connect, run, disconnect.
    Sql {
        caller: Identity,
        jwt: Option<Arc<str>>,
        sql: String,
        reply: oneshot::Sender<Logged<SqlResult>>,
    },
    /// The start of an HTTP procedure call: `client_connected` on a new connection id,
    /// which the reply carries (or the refusal). The procedure then runs off the actor.
    HttpConnect {
        caller: Identity,
        jwt: Option<Arc<str>>,
        reply: oneshot::Sender<Logged<Result<ConnectionId, ReducerError>>>,
    },
    /// The end of an HTTP procedure call: `client_disconnected` for its connection.
    HttpDisconnect {
        caller: Identity,
        connection_id: ConnectionId,
        reply: oneshot::Sender<Logged<()>>,
    },
    /// A WebSocket client's request (connect, message, disconnect).
    Client(ClientRequest),
    /// About a client whose WebSocket another node of a cluster holds.
    Hosted(HostedRequest),
    /// Replace the module, keeping the data.
    Update {
        program: ModuleProgram,
        hash: String,
        options: UpdateOptions,
        reply: oneshot::Sender<Logged<Result<spacetime_migrate::Plan, UpdateError>>>,
    },
    /// A consistent copy of the whole state for a backup, at the last commit.
    Backup {
        reply: oneshot::Sender<Logged<crate::backup::BackupState>>,
    },
    /// What the metrics read at scrape time: rows per table, clients, subscriptions.
    Stats {
        reply: oneshot::Sender<crate::metrics::DatabaseStats>,
    },
    /// The rolling checksum of the rows after the last record logged, if the
    /// database has a log it writes.
    Checksum {
        reply: oneshot::Sender<Option<crate::storage::checksum::ChecksumAt>>,
    },
    /// Take a snapshot now; the reply carries its tx offset once it is written.
    Snapshot {
        reply: oneshot::Sender<Result<u64, SnapshotError>>,
    },
    /// A procedure's `with_tx` asks for a transaction; the actor lends it and waits.
    ProcedureTx {
        reply: oneshot::Sender<spacetime_host::TxLoan>,
    },
    /// A WebSocket client's procedure call finished: queue its `ProcedureResult`.
    ProcedureDone {
        connection_id: spacetime_sats::ConnectionId,
        message: spacetime_protocol::v2::ServerMessage,
    },
    /// Run a reducer call a module queued with `volatile_nonatomic_schedule_immediate`.
    Immediate(spacetime_host::ImmediateCall),
    /// A follower's batch: the leader's framed commits, to apply and publish.
    Apply { frames: Vec<u8> },
    /// Make a follower the leader in place, its writer on `commitlog` appending to
    /// `replicated` under `epoch`.
    Promote {
        commitlog: spacetime_commitlog::Commitlog,
        epoch: u64,
        replicated: Box<dyn spacetime_commitlog::ReplicatedLog>,
        reply: oneshot::Sender<Result<spacetime_commitlog::DurableOffset, crate::follower::PromoteError>>,
    },
    /// Replies once every request before it was served, with the offset of the last
    /// transaction logged by then (a procedure's reply waits for it to be durable).
    Barrier { reply: oneshot::Sender<Logged<()>> },
    /// Stop after the requests before this one.
    Shutdown,
}

/// A reply, with the offset of the last transaction logged before it was sent: the
/// reply is released once that offset is durable (a confirmed result), so a client
/// never sees a result a crash could take back.
pub(crate) struct Logged<T> {
    pub(crate) value: T,
    pub(crate) offset: Option<u64>,
}

impl Actor {
    /// Serves one request.
    pub(crate) fn handle(&mut self, request: Request) {
        self.sweep_views_if_due();
        match request {
            Request::Call {
                caller,
                jwt,
                reducer,
                args,
                reply,
            } => {
                let result = self.http_call(caller, jwt, &reducer, &args);
                // The caller may have gone away; the call still happened.
                let _ = reply.send(self.logged(result));
            }
            Request::Sql {
                caller,
                jwt,
                sql,
                reply,
            } => {
                let result = self.http_sql(caller, jwt, &sql);
                let _ = reply.send(self.logged(result));
            }
            Request::HttpConnect { caller, jwt, reply } => {
                let result = self.http_connect(caller, jwt);
                let _ = reply.send(self.logged(result));
            }
            Request::HttpDisconnect {
                caller,
                connection_id,
                reply,
            } => {
                self.http_disconnect(caller, connection_id);
                let _ = reply.send(self.logged(()));
            }
            Request::Client(request) => self.client_request(request),
            Request::Hosted(request) => self.hosted_request(request),
            Request::Update {
                program,
                hash,
                options,
                reply,
            } => {
                let result = match self.not_leader() {
                    Some(refusal) => Err(refusal.into()),
                    None => self.update(program, &hash, &options),
                };
                let _ = reply.send(self.logged(result));
            }
            Request::Backup { reply } => {
                let state = self.backup_state();
                let _ = reply.send(self.logged(state));
            }
            Request::Stats { reply } => {
                let _ = reply.send(self.stats());
            }
            Request::Checksum { reply } => {
                let _ = reply.send(self.db.commitlog.as_ref().map(crate::storage::DatabaseLog::checksum));
            }
            Request::Snapshot { reply } => match (&mut self.db.commitlog, self.role.refusal()) {
                (Some(log), _) => log.snapshot_now(&self.db.datastore, reply),
                (None, Some(refusal)) => {
                    let _ = reply.send(Err(refusal.into()));
                }
                (None, None) => {
                    let _ = reply.send(Err(SnapshotError::InMemory));
                }
            },
            // A follower lends no transaction: dropping the reply fails the procedure's.
            Request::ProcedureTx { reply } if self.not_leader().is_some() => drop(reply),
            Request::ProcedureTx { reply } => self.lend_procedure_tx(reply),
            Request::Apply { frames } => self.apply_batch(&frames),
            Request::Promote {
                commitlog,
                epoch,
                replicated,
                reply,
            } => {
                let _ = reply.send(self.promote(commitlog, epoch, replicated));
            }
            Request::ProcedureDone { connection_id, message } => {
                let offset = self.db.last_offset();
                self.db.subscriptions.send(connection_id, message.to_bytes(), offset);
            }
            Request::Immediate(call) => self.run_immediate(call),
            Request::Barrier { reply } => {
                let _ = reply.send(self.logged(()));
            }
            Request::Shutdown => {}
        }
    }

    /// Wraps a reply with the offset it must wait for.
    fn logged<T>(&self, value: T) -> Logged<T> {
        Logged {
            value,
            offset: self.db.last_offset(),
        }
    }
}
