//! Running databases: each is one [`Database`] handle, whose actor thread owns the
//! datastore and the module instance (see [`crate::actor`]); [`Databases`] is the map
//! of the running ones. Every method here sends one request to the actor and awaits
//! its reply; replies that reflect a transaction are released once it is durable.

use crate::actor::Actor;
use crate::error::{ActorGone, CallError, SnapshotError, StartError, UpdateError};
use crate::follower::{AppliedOffset, ProgramSource, PromoteError, RoleLink};
use crate::module_logs::ModuleLogs;
use crate::procedures::{admit_procedure, OwnedProcedureCall, ProcedureRunner};
use crate::requests::{
    ClientRequest, HostedClient, HostedError, HostedRequest, Logged, Request, SqlResult, UpdateOptions,
};
use crate::storage::{self, StorageConfig};
use spacetime_commitlog::DurableOffset;
use spacetime_commitlog::{Commitlog, ReplicatedLog};
use spacetime_host::ProcedureOutcome;
use spacetime_host::{ModuleProgram, ReducerOutcome};
use spacetime_migrate::{Plan, Refusals};
use spacetime_sats::bsatn::value::{decode_value_exact, value_to_vec};
use spacetime_sats::json::{value_from_json, value_to_json};
use spacetime_sats::AlgebraicType;
use spacetime_sats::{ConnectionId, Identity};
use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex, OnceLock, RwLock};
use tokio::sync::oneshot;

/// A running database: the way to its actor, its logs and its current module.
pub struct Database {
    /// The database's identity.
    pub identity: Identity,
    /// Its owner.
    pub owner: Identity,
    requests: mpsc::Sender<Request>,
    module_logs: Arc<ModuleLogs>,
    /// The module running; the actor replaces it when an update succeeds, before it
    /// serves the next request.
    program: Arc<RwLock<ModuleProgram>>,
    /// The durable offset of its commit log; unset on an in-memory server, and on a
    /// follower until it is promoted.
    durable: OnceLock<DurableOffset>,
    /// Runs procedures on the blocking pool.
    procedures: ProcedureRunner,
    /// Becomes `true` when the actor thread has ended, its commit log flushed and
    /// fsynced (closed, too, if the thread died).
    stopped: tokio::sync::watch::Receiver<bool>,
    /// Whether it follows, shared with the actor.
    role: RoleLink,
    /// A follower's applied offset.
    applied: Option<AppliedOffset>,
}

impl Database {
    /// Starts the actor of a database running `program`. With `storage`, its rows are
    /// restored from the commit log there (and later transactions logged to it); a new
    /// database (no storage, or an empty log) runs its `init` reducer (as `owner`)
    /// instead; storage marked [`StorageConfig::expecting_data`] refuses an empty log.
    /// A new database's first records are durable when this returns. Waits until that is done. `hash` is `program`'s hash in the program
    /// store; a new database logs it (see [`crate::storage::record`]).
    ///
    /// # Errors
    /// [`StartError`] if the module cannot be instantiated, its tables cannot be
    /// created, the log cannot be restored, or `init` fails; then no thread is left
    /// running.
    pub async fn start(
        identity: Identity,
        owner: Identity,
        program: ModuleProgram,
        logs: Arc<ModuleLogs>,
        storage: Option<StorageConfig>,
        hash: &str,
    ) -> Result<Self, StartError> {
        let hash = hash.to_owned();
        let (database, ()) = Self::spawn(
            identity,
            owner,
            program,
            logs,
            RoleLink::default(),
            move |program, logs| {
                let actor = Actor::start(identity, owner, program, logs, storage, &hash)?;
                let durable = actor.durable_watch();
                Ok((actor, durable, ()))
            },
        )
        .await?;
        Ok(database)
    }

    /// Starts the actor of a database that another node leads, as a follower (see
    /// [`crate::follower`]): its rows are restored from the local log in `storage`
    /// (snapshot and log, no reducer runs, `init` never), then it applies the batches
    /// given to [`Self::apply`] and refuses writes until [`Self::promote`]. `hash` is
    /// the program the local log names last; `programs` gives the program a module
    /// update it applies names. Returns the handle and the local log, after its last
    /// commit, for the standby to append the leader's commits to (and hand back at
    /// promotion).
    ///
    /// # Errors
    /// [`StartError`] as for [`Self::start`]; then no thread is left running.
    pub async fn follow(
        identity: Identity,
        owner: Identity,
        program: ModuleProgram,
        logs: Arc<ModuleLogs>,
        storage: StorageConfig,
        hash: &str,
        programs: Arc<dyn ProgramSource>,
    ) -> Result<(Self, Commitlog), StartError> {
        let hash = hash.to_owned();
        let role = RoleLink::follower();
        let actor_role = role.clone();
        let (mut database, (commitlog, applied)) =
            Self::spawn(identity, owner, program, logs, role, move |program, logs| {
                let started =
                    Actor::start_follower(identity, owner, program, logs, storage, &hash, programs, actor_role)?;
                Ok((started.actor, None, (started.commitlog, started.applied)))
            })
            .await?;
        database.applied = Some(applied);
        Ok((database, commitlog))
    }

    /// Runs `start` on a new actor thread and, once it made the actor, serves
    /// requests there; returns the handle and what `start` gave besides the actor and
    /// its durable offset.
    async fn spawn<T: Send + 'static>(
        identity: Identity,
        owner: Identity,
        program: ModuleProgram,
        logs: Arc<ModuleLogs>,
        role: RoleLink,
        start: impl FnOnce(Arc<RwLock<ModuleProgram>>, Arc<ModuleLogs>) -> Result<(Actor, Option<DurableOffset>, T), StartError>
            + Send
            + 'static,
    ) -> Result<(Self, T), StartError> {
        let (requests, receiver) = mpsc::channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let program = Arc::new(RwLock::new(program));
        let actor_program = program.clone();
        let actor_logs = logs.clone();
        let procedures = ProcedureRunner::new(identity, requests.clone(), logs.clone());
        let actor_procedures = procedures.clone();
        let (stopped_tx, stopped) = tokio::sync::watch::channel(false);
        std::thread::Builder::new()
            .name(format!("db-{}", &identity.to_string()[..16]))
            .spawn(move || match start(actor_program, actor_logs) {
                Ok((mut actor, durable, extra)) => {
                    actor.procedures = Some(actor_procedures);
                    if ready_tx.send(Ok((durable, extra))).is_ok() {
                        // `run` drops the actor when it returns, which closes the
                        // log: its last batch is written and fsynced by then.
                        actor.run(receiver);
                        let _ = stopped_tx.send(true);
                    }
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(StartError::Thread)?;
        let (durable, extra) = ready_rx.await.map_err(|_| StartError::ThreadStopped)??;
        let database = Self {
            identity,
            owner,
            requests,
            module_logs: logs,
            program,
            durable: durable.map(OnceLock::from).unwrap_or_default(),
            procedures,
            stopped,
            role,
            applied: None,
        };
        Ok((database, extra))
    }

    /// Whether the database follows another node's log here (see
    /// [`crate::follower`]): it then refuses writes. False once promoted.
    pub fn is_follower(&self) -> bool {
        self.role.is_following()
    }

    /// Names the leader a follower's refusals send writers to (`None`: unknown).
    pub fn set_leader(&self, leader: Option<String>) {
        self.role.set_leader(leader.map(Arc::from));
    }

    /// The last tx offset a follower applied, as a watch; `None` for a database
    /// started as a leader. It stops moving at promotion.
    pub fn applied(&self) -> Option<AppliedOffset> {
        self.applied.clone()
    }

    /// Gives a follower a batch of the leader's framed commits (exactly the bytes its
    /// standby appended to the local log) to apply and publish, behind the requests
    /// queued before. Returns at once; [`Self::applied`] says when it is applied.
    ///
    /// # Errors
    /// [`ActorGone`] if the database stopped.
    pub fn apply(&self, frames: Vec<u8>) -> Result<(), ActorGone> {
        self.requests.send(Request::Apply { frames }).map_err(|_| self.gone())
    }

    /// Makes a follower the leader in place, once it has applied every batch given
    /// before: its commit log writer starts on `commitlog` (the local log, holding
    /// exactly what was applied) and appends to `replicated` under `epoch`;
    /// `client_disconnected` runs for the clients the old leader had connected, and
    /// the scheduler starts. Nothing is replayed.
    ///
    /// # Errors
    /// [`PromoteError`]: not a follower, the follower stopped applying (start the
    /// database from its local log instead), or the writer did not start.
    pub async fn promote(
        &self,
        commitlog: Commitlog,
        epoch: u64,
        replicated: Box<dyn ReplicatedLog>,
    ) -> Result<(), PromoteError> {
        let durable = self
            .ask(|reply| Request::Promote {
                commitlog,
                epoch,
                replicated,
                reply,
            })
            .await??;
        let _ = self.durable.set(durable);
        Ok(())
    }

    /// The module currently running.
    pub fn program(&self) -> ModuleProgram {
        self.program.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The module logs.
    pub fn module_logs(&self) -> &Arc<ModuleLogs> {
        &self.module_logs
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Request) -> Result<T, ActorGone> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(make(tx)).map_err(|_| self.gone())?;
        rx.await.map_err(|_| self.gone())
    }

    /// Calls reducer `reducer` for `caller`, whose token payload JSON is `jwt` (what the
    /// module's `ctx.sender_auth().jwt()` reads), with its arguments as JSON (an array in
    /// parameter order, or an object keyed by name), wrapped in `client_connected` /
    /// `client_disconnected` on a new connection id, as an HTTP call is. The reducer is
    /// resolved, admitted and its arguments checked by the actor, against the module
    /// running then. Runs even if the caller stops waiting. Returns once the call's
    /// transactions are durable, so an acknowledged call survives a crash.
    ///
    /// # Errors
    /// [`CallError`] if the call was refused or could not run; a reducer that ran and
    /// failed is an `Ok` outcome with an error result.
    pub async fn call(
        &self,
        caller: Identity,
        jwt: Option<Arc<str>>,
        reducer: String,
        args: serde_json::Value,
    ) -> Result<ReducerOutcome, CallError> {
        let reply = self
            .ask(|reply| Request::Call {
                caller,
                jwt,
                reducer,
                args,
                reply,
            })
            .await?;
        self.confirmed(reply).await?
    }

    /// Calls procedure `procedure` for `caller` with its arguments as JSON (as
    /// [`Database::call`] takes them), on the blocking pool: the database keeps serving
    /// while it runs. Returns its outcome and the returned value as SATS-JSON once the
    /// transactions it committed are durable.
    ///
    /// # Errors
    /// [`CallError`] if the call was refused (unknown or private procedure, bad
    /// arguments) or the database stopped; a procedure that ran and failed is an `Ok`
    /// outcome with an error result.
    pub async fn call_procedure(
        &self,
        caller: Identity,
        jwt: Option<Arc<str>>,
        procedure: &str,
        args: serde_json::Value,
    ) -> Result<ProcedureReply, CallError> {
        if let Some(refusal) = self.role.refusal() {
            return Err(CallError::NotLeader(refusal));
        }
        let program = self.program();
        let def = program.module_def();
        let (procedure_id, procedure_def) = admit_procedure(def, procedure, caller == self.owner)?;
        let params = AlgebraicType::Product(procedure_def.params.clone());
        let value = value_from_json(&args, &params, &def.typespace).map_err(|e| CallError::InvalidArgs {
            error: e.under("args").to_string(),
            params: procedure_def
                .params
                .elements
                .iter()
                .map(|p| p.name.as_deref().unwrap_or("_"))
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        // As an HTTP reducer call: `client_connected` first (its refusal is the error),
        // `client_disconnected` after, each a transaction of its own on the actor.
        let connected = self.ask(|reply| Request::HttpConnect { caller, jwt, reply }).await?;
        let connection_id = self.confirmed(connected).await?.map_err(CallError::ConnectRejected)?;
        let call = OwnedProcedureCall {
            procedure_id,
            caller,
            connection_id: Some(connection_id),
            args: value_to_vec(&value),
        };
        let return_type = procedure_def.return_type.clone();
        let runner = self.procedures.clone();
        let run_program = program.clone();
        let ran = tokio::task::spawn_blocking(move || runner.run_here(&run_program, &call)).await;
        // Disconnected even if the procedure's task failed; the reply is durable after.
        let disconnected = self
            .ask(|reply| Request::HttpDisconnect {
                caller,
                connection_id,
                reply,
            })
            .await?;
        let outcome = ran.map_err(|_| self.gone())?;
        self.confirmed(disconnected).await?;
        if outcome.committed > 0 {
            let reply = self.ask(|reply| Request::Barrier { reply }).await?;
            self.confirmed(reply).await?;
        }
        let value = match &outcome.result {
            Ok(bytes) => Some(
                decode_value_exact(&return_type, &def.typespace, bytes)
                    .map(|v| value_to_json(&v, &return_type, &def.typespace))
                    .map_err(|e| CallError::BadReturn(e.to_string()))?,
            ),
            Err(_) => None,
        };
        Ok(ProcedureReply { outcome, value })
    }

    /// Runs one SQL statement for `caller` (token payload `jwt`), wrapped in `client_connected` /
    /// `client_disconnected` as an HTTP call is. With `confirmed` the result is a
    /// confirmed read: it is released once every transaction committed before it is
    /// durable; without, it is released at once and a crash may still take it back.
    pub async fn sql(
        &self,
        caller: Identity,
        jwt: Option<Arc<str>>,
        sql: String,
        confirmed: bool,
    ) -> Result<SqlResult, ActorGone> {
        let reply = self
            .ask(|reply| Request::Sql {
                caller,
                jwt,
                sql,
                reply,
            })
            .await?;
        if !confirmed {
            return Ok(reply.value);
        }
        self.confirmed(reply).await
    }

    /// Waits until the transactions before `reply` are durable. If the log writer
    /// failed they never will be: the request gets [`ActorGone`] naming the failure
    /// (a 503) rather than a result a restart could take back.
    /// The runner of this database's procedures and HTTP handlers.
    pub(crate) fn procedure_runner(&self) -> ProcedureRunner {
        self.procedures.clone()
    }

    /// Waits until every request sent before is served and what it committed is durable.
    pub(crate) async fn barrier(&self) -> Result<(), ActorGone> {
        let reply = self.ask(|reply| Request::Barrier { reply }).await?;
        self.confirmed(reply).await
    }

    async fn confirmed<T>(&self, reply: Logged<T>) -> Result<T, ActorGone> {
        if let (Some(offset), Some(durable)) = (reply.offset, self.durable.get()) {
            if let Err(e) = durable.clone().wait_for(offset).await {
                log::error!("database {}: {e}", self.identity);
                return Err(self.gone());
            }
        }
        Ok(reply.value)
    }

    /// Why a request cannot run: the actor stopped, because of its log if that failed.
    pub fn gone(&self) -> ActorGone {
        ActorGone {
            log_failure: self.log_failure().map(|cause| storage::stopped_message(&cause).into()),
        }
    }

    /// The cause of the commit log's failure, if it failed (the database then stopped):
    /// an OS error, perhaps with a path.
    pub fn log_failure(&self) -> Option<Arc<str>> {
        self.durable.get().and_then(DurableOffset::failure)
    }

    /// The durable offset of its commit log, for confirmed reads; `None` on an
    /// in-memory server, where nothing waits.
    pub fn durable(&self) -> Option<DurableOffset> {
        self.durable.get().cloned()
    }

    /// Sends a WebSocket client's request to the actor; replies, if any, travel in the
    /// request or the client's queue.
    pub fn client(&self, request: ClientRequest) -> Result<(), ActorGone> {
        self.requests.send(Request::Client(request)).map_err(|_| self.gone())
    }

    /// Runs `client_connected` for `caller`'s connection `connection_id`, which
    /// another node of the cluster, `host`, holds (see `requests/hosted.rs`), and logs
    /// it with its host; returns once that is durable. A retry of a connection made
    /// runs nothing again.
    ///
    /// # Errors
    /// [`HostedError`]: not the leader, refused by the module, or the id is live here
    /// for another connection.
    pub async fn connect_hosted(
        &self,
        caller: Identity,
        connection_id: ConnectionId,
        jwt: Option<Arc<str>>,
        host: String,
    ) -> Result<Result<(), HostedError>, ActorGone> {
        self.ask_confirmed(|reply| HostedRequest::Connect {
            caller,
            connection_id,
            jwt,
            host,
            reply,
        })
        .await
    }

    /// Runs `client_disconnected` for a client another node holds, if the database
    /// still holds it as connected; returns whether it ran, once that is durable.
    ///
    /// # Errors
    /// [`HostedError::NotLeader`] (inner), or the database stopped.
    pub async fn disconnect_hosted(
        &self,
        caller: Identity,
        connection_id: ConnectionId,
        jwt: Option<Arc<str>>,
    ) -> Result<Result<bool, HostedError>, ActorGone> {
        self.ask_confirmed(|reply| HostedRequest::Disconnect {
            caller,
            connection_id,
            jwt,
            reply,
        })
        .await
    }

    /// Calls reducer `reducer` as [`Database::call`] does, but on the connection
    /// `connection_id` another node holds for `caller` (connected with
    /// [`Database::connect_hosted`]), without a connection of its own.
    ///
    /// # Errors
    /// As [`Database::call`]; [`CallError::NotConnected`] if the database does not
    /// hold that connection.
    pub async fn call_hosted(
        &self,
        caller: Identity,
        connection_id: ConnectionId,
        jwt: Option<Arc<str>>,
        reducer: String,
        args: serde_json::Value,
    ) -> Result<ReducerOutcome, CallError> {
        self.ask_confirmed(|reply| HostedRequest::Call {
            caller,
            connection_id,
            jwt,
            reducer,
            args,
            reply,
        })
        .await?
    }

    /// A hosted-client request, its reply released once what it logged is durable.
    async fn ask_confirmed<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Logged<T>>) -> HostedRequest,
    ) -> Result<T, ActorGone> {
        let reply = self.ask(|reply| Request::Hosted(make(reply))).await?;
        self.confirmed(reply).await
    }

    /// The clients other nodes hold that the database holds as connected, with their
    /// hosts: the edge ends those whose host is gone.
    ///
    /// # Errors
    /// The database stopped.
    pub async fn hosted_clients(&self) -> Result<Vec<HostedClient>, ActorGone> {
        self.ask(|reply| Request::Hosted(HostedRequest::List { reply })).await
    }

    /// Replaces the module with `program` (whose hash in the program store is `hash`),
    /// migrating the data by the plan from the running module (see
    /// [`crate::migration`]). Returns the plan applied, once the log's record of the
    /// update is durable, so the registry may then name the new module.
    ///
    /// # Errors
    /// [`UpdateError`] if the update was refused (the old module keeps running) or the
    /// actor is gone or its log failed.
    pub async fn update(
        &self,
        program: ModuleProgram,
        hash: String,
        options: UpdateOptions,
    ) -> Result<Plan, UpdateError> {
        let reply = self
            .ask(|reply| Request::Update {
                program,
                hash,
                options,
                reply,
            })
            .await?;
        self.confirmed(reply).await?
    }

    /// What updating to `program` would do, without doing it: the plan from the
    /// running module's definition, or every reason it cannot migrate automatically.
    /// Reads only the definitions, so it does not wait for the actor. (The rows may
    /// still refuse the plan when it is applied: see [`crate::migration`].)
    ///
    /// # Errors
    /// [`Refusals`] listing every change that needs a manual migration.
    pub fn plan_update(&self, program: &ModuleProgram) -> Result<Plan, Refusals> {
        let current = self.program.read().unwrap_or_else(|e| e.into_inner());
        spacetime_migrate::plan(current.module_def(), program.module_def())
    }

    /// The whole state at the last commit, for a hot backup: the actor encodes it
    /// between requests (so it is a commit boundary), and it is returned once that
    /// commit is durable, so a backup never holds what a crash could take back.
    ///
    /// # Errors
    /// [`ActorGone`] if the database stopped or its log failed.
    pub async fn backup(&self) -> Result<crate::backup::BackupState, ActorGone> {
        let reply = self.ask(|reply| Request::Backup { reply }).await?;
        self.confirmed(reply).await
    }

    /// What the metrics read at scrape time (see [`crate::metrics::DatabaseStats`]).
    ///
    /// # Errors
    /// [`ActorGone`] if the database stopped.
    pub async fn stats(&self) -> Result<crate::metrics::DatabaseStats, ActorGone> {
        self.ask(|reply| Request::Stats { reply }).await
    }

    /// The rolling checksum of its rows after the last record it logged (see
    /// [`crate::storage::checksum`]); `None` without a log of its own (in memory, or a
    /// follower before its promotion).
    ///
    /// # Errors
    /// [`ActorGone`] if the database stopped.
    pub async fn checksum(&self) -> Result<Option<crate::storage::checksum::ChecksumAt>, ActorGone> {
        self.ask(|reply| Request::Checksum { reply }).await
    }

    /// Takes a snapshot now and returns its tx offset once it is written.
    ///
    /// # Errors
    /// [`SnapshotError`]: an in-memory server, nothing logged yet, a failed write, or
    /// the actor is gone.
    pub async fn snapshot(&self) -> Result<u64, SnapshotError> {
        self.ask(|reply| Request::Snapshot { reply }).await?
    }

    /// Waits until the actor thread has ended after [`shutdown`](Self::shutdown): every
    /// request queued before it was handled and the commit log is flushed and fsynced.
    pub async fn stopped(&self) {
        let mut stopped = self.stopped.clone();
        // An error means the thread is gone without saying so (it panicked): stopped too.
        let _ = stopped.wait_for(|done| *done).await;
    }

    /// Whether the actor thread has ended (see [`stopped`](Self::stopped)).
    pub fn is_stopped(&self) -> bool {
        *self.stopped.borrow() || self.stopped.has_changed().is_err()
    }

    /// Stops the actor after the requests already queued, and ends log followers.
    pub fn shutdown(&self) {
        let _ = self.requests.send(Request::Shutdown);
        self.module_logs.close();
    }
}

/// What a procedure call did: the host's outcome and, if it returned, the value as
/// SATS-JSON.
#[derive(Debug)]
pub struct ProcedureReply {
    /// The outcome (duration, commits, the BSATN result or the failure).
    pub outcome: ProcedureOutcome,
    /// The returned value, SATS-JSON at the procedure's return type.
    pub value: Option<serde_json::Value>,
}

/// The running databases, by identity, and why registered ones that are not running
/// failed to start.
#[derive(Default)]
pub struct Databases {
    map: Mutex<HashMap<Identity, Arc<Database>>>,
    /// Why a database failed to start; removed once one of that identity runs.
    failures: Mutex<HashMap<Identity, Arc<str>>>,
}

impl Databases {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Identity, Arc<Database>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The running database `identity`.
    pub fn get(&self, identity: Identity) -> Option<Arc<Database>> {
        self.lock().get(&identity).cloned()
    }

    /// Adds (or replaces) a running database, shutting down the one it replaces.
    pub fn insert(&self, database: Database) {
        self.lock_failures().remove(&database.identity);
        if let Some(old) = self.lock().insert(database.identity, Arc::new(database)) {
            old.shutdown();
        }
    }

    /// Records why database `identity` could not start, for requests to it to say
    /// (see [`Self::failure`]).
    pub fn set_failed(&self, identity: Identity, why: impl Into<Arc<str>>) {
        self.lock_failures().insert(identity, why.into());
    }

    /// Why database `identity` failed to start, if it did and none of that identity
    /// has run since.
    pub fn failure(&self, identity: Identity) -> Option<Arc<str>> {
        self.lock_failures().get(&identity).cloned()
    }

    fn lock_failures(&self) -> std::sync::MutexGuard<'_, HashMap<Identity, Arc<str>>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops and removes database `identity`.
    pub fn remove(&self, identity: Identity) {
        self.lock_failures().remove(&identity);
        if let Some(old) = self.lock().remove(&identity) {
            old.shutdown();
        }
    }

    /// Stops every database (each after the requests already queued) and returns them,
    /// to wait for with [`Database::stopped`].
    pub fn shutdown_all(&self) -> Vec<Arc<Database>> {
        let stopping: Vec<Arc<Database>> = self.lock().drain().map(|(_, db)| db).collect();
        for db in &stopping {
            db.shutdown();
        }
        stopping
    }
}
