//! The actor of one database: a dedicated thread that owns the [`Datastore`], the
//! [`ModuleInstance`] and (through it) the schedule queue, and runs everything that
//! touches them one at a time, in arrival order.
//!
//! It sleeps until a command arrives or the next scheduled reducer is due. Due
//! scheduled reducers run before the next command, so a busy database still keeps
//! its schedule. A runaway reducer is stopped by the host's time budget; the host
//! replaces the trapped instance and the actor carries on with the next command.

use super::schema_change::{check_update, create_tables};
use super::{log_system, LogForwarder};
use crate::durability::{self, DatabaseLog, RestoreError, StorageConfig};
use crate::logs::ModuleLogs;
use crate::program_store::ProgramHash;
use crate::subscription::{ActorCx, ClientCommand, SubscriptionManager};
use spacetime_commitlog::DurableOffset;
use spacetime_datastore::{Datastore, TxData};
use spacetime_host::{LoadError, LogLevel, ModuleInstance, ModuleProgram, ReducerCall, ReducerError, ReducerOutcome};
use spacetime_sats::def::raw::Lifecycle;
use spacetime_sats::{ConnectionId, Identity, ProductType, ReducerId, Timestamp};
use spacetime_sql::{SqlAuth, SqlError, SqlOutcome};
use std::sync::{mpsc, Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// What the actor is asked to do.
pub(super) enum Command {
    /// An HTTP reducer call: connect, call, disconnect.
    Call {
        caller: Identity,
        target: ReducerTarget,
        args: Vec<u8>,
        reply: oneshot::Sender<Logged<CallResult>>,
    },
    /// An HTTP SQL statement: connect, run, disconnect.
    Sql {
        caller: Identity,
        sql: String,
        reply: oneshot::Sender<Logged<SqlResult>>,
    },
    /// A WebSocket client's request (connect, message, disconnect).
    Client(ClientCommand),
    /// Replace the module, keeping the data.
    Update {
        program: ModuleProgram,
        hash: ProgramHash,
        reply: oneshot::Sender<Logged<Result<(), String>>>,
    },
    /// Take a snapshot now; the reply carries its tx offset once it is written.
    Snapshot {
        reply: oneshot::Sender<Result<u64, String>>,
    },
    /// Stop after the commands before this one.
    Shutdown,
}

/// A reply, with the offset of the last transaction logged before it was sent: the
/// reply is released once that offset is durable (a confirmed result), so a client
/// never sees a result a crash could take back.
pub(super) struct Logged<T> {
    pub(super) value: T,
    pub(super) offset: Option<u64>,
}

/// The reducer a call means, as resolved against the module the caller saw. If the
/// module was updated in between and the id now means something else, the call is
/// not run (see [`CallResult::Stale`]), because its arguments were encoded for the old
/// parameters.
#[derive(Debug, Clone)]
pub struct ReducerTarget {
    /// Its id in the module the caller saw.
    pub id: ReducerId,
    /// Its name there.
    pub name: String,
    /// Its parameters there.
    pub params: ProductType,
}

/// What an HTTP reducer call did.
#[derive(Debug)]
pub enum CallResult {
    /// The module changed since the reducer was resolved; resolve it again.
    Stale,
    /// `client_connected` refused the caller; the reducer did not run.
    Rejected(String),
    /// The reducer ran (and committed or failed).
    Ran(ReducerOutcome),
}

/// What an HTTP SQL request did.
#[derive(Debug)]
pub enum SqlResult {
    /// `client_connected` refused the caller; the statement did not run.
    Rejected(String),
    /// The statement ran, or was refused with a message for the caller.
    Ran {
        /// Its result or error.
        result: Result<SqlOutcome, SqlError>,
        /// How long it took.
        duration: Duration,
    },
}

/// Why a database could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The module could not be instantiated.
    #[error("{0}")]
    Instantiate(#[from] LoadError),
    /// The datastore refused the module's tables.
    #[error("cannot create the module's tables: {0}")]
    Tables(String),
    /// `init` failed.
    #[error("the module's `init` reducer failed: {0}")]
    Init(ReducerError),
    /// The commit log or snapshot could not be restored.
    #[error("cannot restore the database from its commit log: {0}")]
    Restore(Box<RestoreError>),
    /// The actor thread could not be started (not the module's fault).
    #[error("{0}")]
    Thread(String),
}

pub(super) struct Actor {
    owner: Identity,
    /// The module the HTTP layer resolves reducers against; kept equal to the
    /// instance's program.
    current: Arc<RwLock<ModuleProgram>>,
    datastore: Datastore,
    instance: ModuleInstance,
    logs: Arc<ModuleLogs>,
    /// The commit log; `None` on an in-memory server.
    log: Option<DatabaseLog>,
    /// The WebSocket clients and their subscriptions.
    subscriptions: SubscriptionManager,
}

/// How many queued commands the actor handles in a row before it queues the
/// subscription messages they made (see [`Actor::run`]): enough to serve every busy
/// connection once, few enough that no reply waits long.
const MAX_RUN: usize = 256;

impl Actor {
    /// Creates the tables from the module, instantiates it, then restores the rows
    /// from `storage` (snapshot and log, without running reducers) and the schedules;
    /// or, for a new database (an empty log, or no storage), runs `init`.
    pub(super) fn start(
        identity: Identity,
        owner: Identity,
        current: Arc<RwLock<ModuleProgram>>,
        logs: Arc<ModuleLogs>,
        storage: Option<StorageConfig>,
        hash: &str,
    ) -> Result<Self, StartError> {
        let program = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut datastore = Datastore::new();
        create_tables(&mut datastore, program.module_def().tables.iter(), program.module_def())
            .map_err(StartError::Tables)?;
        let instance = program.instantiate(identity, Arc::new(LogForwarder(logs.clone())))?;
        let (log, fresh) = match &storage {
            Some(storage) => {
                let opened =
                    durability::open(storage, &mut datastore, &logs).map_err(|e| StartError::Restore(Box::new(e)))?;
                (Some(opened.log), opened.fresh)
            }
            None => (None, true),
        };
        let mut actor = Self {
            owner,
            current,
            datastore,
            instance,
            logs,
            log,
            subscriptions: SubscriptionManager::default(),
        };
        if fresh {
            if let Some(outcome) = actor.instance.call_init(&mut actor.datastore, owner, Timestamp::now()) {
                let tx = outcome.result.map_err(StartError::Init)?;
                actor.log_tx(&tx);
            }
            // Marks the database initialized even if `init` wrote nothing, so a
            // restart never runs it again.
            if let Some(log) = &mut actor.log {
                log.append_created()
                    .map_err(|e| StartError::Restore(Box::new(e.into())))?;
                log.append_module(hash)
                    .map_err(|e| StartError::Restore(Box::new(e.into())))?;
            }
        } else {
            if let Some(log) = &mut actor.log {
                log.set_module(hash);
            }
            actor.instance.restore_schedules(&actor.datastore, Timestamp::now());
            actor.disconnect_stale_clients();
        }
        Ok(actor)
    }

    /// Runs `client_disconnected` for every client the log holds as connected: the
    /// crash (or stop) closed their connections without running it.
    fn disconnect_stale_clients(&mut self) {
        let stale = self.log.as_ref().map(DatabaseLog::connected).unwrap_or_default();
        if stale.is_empty() {
            return;
        }
        let message = format!(
            "running client_disconnected for {} client(s) connected before the restart",
            stale.len()
        );
        log::info!("{message}");
        log_system(&self.logs, LogLevel::Info, None, message);
        for (identity, connection_id) in stale {
            self.disconnect(identity, connection_id);
        }
    }

    /// Whether connections must be logged: only a `client_disconnected` reducer needs
    /// to run for clients a crash cut off.
    fn tracks_clients(&self) -> bool {
        self.log.is_some()
            && self
                .instance
                .program()
                .module_def()
                .lifecycle_reducer(Lifecycle::OnDisconnect)
                .is_some()
    }

    /// Logs that a client's connection was accepted.
    fn note_connected(&mut self, identity: Identity, connection_id: ConnectionId) {
        if self.tracks_clients() {
            if let Some(log) = &mut self.log {
                log.append_connected(identity, connection_id);
            }
        }
    }

    /// Logs that a client's `client_disconnected` ran.
    fn note_disconnected(&mut self, identity: Identity, connection_id: ConnectionId) {
        if let Some(log) = &mut self.log {
            log.append_disconnected(identity, connection_id);
        }
    }

    /// A handle to wait for durability, if the database has a log.
    pub(super) fn durable_watch(&self) -> Option<DurableOffset> {
        self.log.as_ref().map(DatabaseLog::watch)
    }

    /// Logs a committed transaction, and snapshots now and then.
    fn log_tx(&mut self, tx: &TxData) {
        if let Some(log) = &mut self.log {
            log.append_tx(tx);
            log.after_append(&self.datastore);
        }
    }

    /// Wraps a reply with the offset it must wait for.
    fn logged<T>(&self, value: T) -> Logged<T> {
        Logged {
            value,
            offset: self.last_offset(),
        }
    }

    /// The offset of the last record appended to the log.
    fn last_offset(&self) -> Option<u64> {
        self.log.as_ref().and_then(DatabaseLog::last_offset)
    }

    /// Serves commands until shut down or every sender is gone.
    pub(super) fn run(mut self, commands: mpsc::Receiver<Command>) {
        // Subscription messages made while handling a run of queued commands are held
        // and queued together before the actor next waits (or after `MAX_RUN`
        // commands), so each connection task is woken once per run, not per message.
        self.subscriptions.defer_sends();
        let mut handled = 0;
        loop {
            let queued = if handled < MAX_RUN {
                commands.try_recv().ok()
            } else {
                None
            };
            let next = match queued {
                Some(command) => Ok(command),
                None => {
                    self.subscriptions.flush();
                    handled = 0;
                    match self.instance.scheduler().next_due() {
                        None => commands.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                        Some(due) => {
                            let wait = due.time_duration_since_saturating(Timestamp::now()).to_micros();
                            if wait <= 0 {
                                self.run_due();
                                continue;
                            }
                            commands.recv_timeout(Duration::from_micros(wait.unsigned_abs()))
                        }
                    }
                }
            };
            match next {
                Ok(Command::Shutdown) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                // A failed commit log stops the database: nothing more could be made
                // durable. Requests then get `ActorGone` naming the failure.
                _ if self.log.as_mut().is_some_and(DatabaseLog::stopped) => break,
                Ok(command) => {
                    handled += 1;
                    self.handle(command);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.run_due(),
            }
        }
        self.subscriptions.flush();
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Call {
                caller,
                target,
                args,
                reply,
            } => {
                let result = self.http_call(caller, &target, &args);
                // The caller may have gone away; the call still happened.
                let _ = reply.send(self.logged(result));
            }
            Command::Sql { caller, sql, reply } => {
                let result = self.http_sql(caller, &sql);
                let _ = reply.send(self.logged(result));
            }
            Command::Client(command) => {
                // Which client this connects or disconnects, to log it once the
                // manager has run the lifecycle reducer; an accepted connect is seen
                // through a reply channel of our own, forwarded to the socket task.
                let mut connecting = None;
                let mut disconnecting = None;
                let command = match command {
                    ClientCommand::Connect { client, token, reply } => {
                        let (ours, accepted) = oneshot::channel();
                        connecting = Some((client.identity, client.connection_id, accepted, reply));
                        ClientCommand::Connect {
                            client,
                            token,
                            reply: ours,
                        }
                    }
                    ClientCommand::Disconnect {
                        identity,
                        connection_id,
                    } => {
                        disconnecting = Some((identity, connection_id));
                        ClientCommand::Disconnect {
                            identity,
                            connection_id,
                        }
                    }
                    other => other,
                };
                let mut cx = ActorCx {
                    ds: &mut self.datastore,
                    instance: &mut self.instance,
                    owner: self.owner,
                    logs: &self.logs,
                    log: self.log.as_mut(),
                };
                // Lifecycle and reducer transactions are logged and sent by the manager,
                // so their messages carry their log offsets.
                self.subscriptions.handle(command, &mut cx);
                if let Some((identity, connection_id, mut accepted, reply)) = connecting {
                    let result = accepted
                        .try_recv()
                        .unwrap_or_else(|_| Err("the database did not answer the connect".into()));
                    if result.is_ok() {
                        self.note_connected(identity, connection_id);
                    }
                    let _ = reply.send(result);
                }
                if let Some((identity, connection_id)) = disconnecting {
                    self.note_disconnected(identity, connection_id);
                }
            }
            Command::Update { program, hash, reply } => {
                let result = self.update(program, &hash);
                let _ = reply.send(self.logged(result));
            }
            Command::Snapshot { reply } => match &mut self.log {
                Some(log) => log.snapshot_now(&self.datastore, reply),
                None => {
                    let _ = reply.send(Err(
                        "the server runs with --in-memory: this database has no commit log to snapshot".into(),
                    ));
                }
            },
            Command::Shutdown => {}
        }
    }

    /// Runs every scheduled reducer that is due. The host logs their failures.
    fn run_due(&mut self) {
        let now = Timestamp::now();
        for call in self.instance.take_due(now) {
            let Some(ran) = self.instance.call_scheduled(&mut self.datastore, call, now) else {
                continue;
            };
            for tx in ran.outcome.committed().into_iter().chain(&ran.cleanup) {
                self.committed(tx);
            }
        }
    }

    /// Hands a committed transaction to the subscribers.
    fn committed(&mut self, tx: &TxData) {
        self.log_tx(tx);
        self.subscriptions.commit(&self.datastore, tx, self.last_offset());
    }

    /// Runs `client_connected` for a new HTTP connection of `caller`; `Err` with the
    /// module's message if it refuses.
    fn connect(&mut self, caller: Identity) -> Result<ConnectionId, String> {
        let connection_id = random_connection_id();
        if let Some(outcome) =
            self.instance
                .client_connected(&mut self.datastore, caller, connection_id, Timestamp::now())
        {
            match outcome.result {
                Err(e) => {
                    self.log_failure("client_connected", &e);
                    return Err(e.to_string());
                }
                Ok(tx) => self.committed(&tx),
            }
        }
        self.note_connected(caller, connection_id);
        Ok(connection_id)
    }

    /// Runs `client_disconnected`; a failure is logged and does not matter otherwise.
    fn disconnect(&mut self, caller: Identity, connection_id: ConnectionId) {
        if let Some(outcome) =
            self.instance
                .client_disconnected(&mut self.datastore, caller, connection_id, Timestamp::now())
        {
            match outcome.result {
                Err(e) => self.log_failure("client_disconnected", &e),
                Ok(tx) => self.committed(&tx),
            }
        }
        self.note_disconnected(caller, connection_id);
    }

    fn http_call(&mut self, caller: Identity, target: &ReducerTarget, args: &[u8]) -> CallResult {
        let reducer_id = target.id;
        let current = self.instance.program().module_def().reducer_by_id(reducer_id);
        if current.is_none_or(|r| r.name != target.name || r.params != target.params) {
            return CallResult::Stale;
        }
        let connection_id = match self.connect(caller) {
            Ok(id) => id,
            Err(message) => return CallResult::Rejected(message),
        };
        let call = ReducerCall {
            reducer_id,
            caller_identity: caller,
            caller_connection_id: Some(connection_id),
            timestamp: Timestamp::now(),
            args_bsatn: args,
        };
        let outcome = self.instance.call_reducer(&mut self.datastore, call);
        match &outcome.result {
            Err(e) => {
                let name = self.reducer_name(reducer_id);
                self.log_failure(&name, e);
            }
            Ok(tx) => self.committed(tx),
        }
        self.disconnect(caller, connection_id);
        CallResult::Ran(outcome)
    }

    fn http_sql(&mut self, caller: Identity, sql: &str) -> SqlResult {
        let connection_id = match self.connect(caller) {
            Ok(id) => id,
            Err(message) => return SqlResult::Rejected(message),
        };
        let start = Instant::now();
        let auth = SqlAuth {
            caller,
            owner: self.owner,
        };
        let program = self.instance.program().clone();
        let result = spacetime_sql::execute(sql, &auth, program.module_def(), &mut self.datastore);
        let duration = start.elapsed();
        if let Ok(SqlOutcome { tx: Some(tx_data), .. }) = &result {
            self.log_tx(tx_data);
            // DML on a scheduled table schedules or cancels calls, as a reducer would.
            self.instance.observe_commit(tx_data, Timestamp::now());
            self.subscriptions.commit(&self.datastore, tx_data, self.last_offset());
        }
        self.disconnect(caller, connection_id);
        SqlResult::Ran { result, duration }
    }

    /// Swaps in `program` if its schema is compatible, creating any new tables.
    /// The new module is logged (a "module" record naming `hash`) before any of its
    /// transactions; the reply carries that record's offset.
    fn update(&mut self, program: ModuleProgram, hash: &str) -> Result<(), String> {
        let added = check_update(self.instance.program().module_def(), program.module_def())?;
        let identity = self.instance.database_identity();
        let instance = program
            .instantiate(identity, Arc::new(LogForwarder(self.logs.clone())))
            .map_err(|e| e.to_string())?;
        create_tables(&mut self.datastore, added.iter().copied(), program.module_def())?;
        self.instance = instance;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = program;
        if let Some(log) = &mut self.log {
            // A failed writer fails every later confirmed read, this update's included.
            if let Err(e) = log.append_module(hash) {
                log::error!("cannot log the module update: {e}");
            }
        }
        self.instance.restore_schedules(&self.datastore, Timestamp::now());
        log_system(&self.logs, LogLevel::Info, None, "module updated");
        Ok(())
    }

    fn reducer_name(&self, id: ReducerId) -> String {
        self.instance
            .program()
            .module_def()
            .reducer_by_id(id)
            .map_or_else(|| format!("#{}", id.0), |r| r.name.clone())
    }

    /// Records a failed reducer in the module log. A panic's message is already there
    /// (the module's panic hook logged it), so only other failures are added.
    fn log_failure(&self, reducer: &str, error: &ReducerError) {
        if !matches!(error, ReducerError::Panic(_)) {
            log_system(&self.logs, LogLevel::Error, Some(reducer), error.to_string());
        }
    }
}

/// A fresh random connection id (never zero, which means "none").
pub(crate) fn random_connection_id() -> ConnectionId {
    use rand_core::RngCore;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes[0] |= 1;
    ConnectionId::from_le_byte_array(bytes)
}
