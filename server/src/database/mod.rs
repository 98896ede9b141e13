//! Running databases: each is one [`Database`] handle, whose actor thread owns the
//! datastore and the module instance (see [`actor`]); [`Databases`] is the map of the
//! running ones.

mod actor;
mod schema_change;

pub use actor::{CallResult, ReducerTarget, SqlResult, StartError};

use crate::logs::{system_record, ModuleLogs};
pub(crate) use actor::random_connection_id;
use actor::{Actor, Command, Logged};
use spacetime_commitlog::DurableOffset;
use spacetime_host::{LogLevel, LogSink, ModuleLogRecord, ModuleProgram};
use spacetime_sats::Identity;
use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex, RwLock};
use tokio::sync::oneshot;

/// The actor is gone (it was shut down, its thread died, or its commit log failed);
/// the request cannot run.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .log_failure.as_deref().unwrap_or("the database is shutting down"))]
pub struct ActorGone {
    /// Set when the database stopped because its commit log failed: what to tell the
    /// client (see [`crate::durability::stopped_message`]).
    pub log_failure: Option<Arc<str>>,
}

/// The longest reason a WebSocket close frame carries: its payload is at most 125
/// bytes, two of them the close code.
pub const MAX_CLOSE_REASON: usize = 123;

/// A running database: the way to its actor, its logs and its current module.
pub struct Database {
    /// The database's identity.
    pub identity: Identity,
    /// Its owner.
    pub owner: Identity,
    commands: mpsc::Sender<Command>,
    logs: Arc<ModuleLogs>,
    /// The module running; the actor replaces it when an update succeeds, before it
    /// serves the next command.
    program: Arc<RwLock<ModuleProgram>>,
    /// The durable offset of its commit log; `None` on an in-memory server.
    durable: Option<DurableOffset>,
}

impl Database {
    /// Starts the actor of a database running `program`. With `storage`, its rows are
    /// restored from the commit log there (and later transactions logged to it); a new
    /// database (no storage, or an empty log) runs its `init` reducer (as `owner`)
    /// instead. Waits until that is done. `hash` is `program`'s hash in the program
    /// store; a new database logs it (see [`crate::durability::record`]).
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
        storage: Option<crate::durability::StorageConfig>,
        hash: &str,
    ) -> Result<Self, StartError> {
        let hash = hash.to_owned();
        let (commands, receiver) = mpsc::channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let program = Arc::new(RwLock::new(program));
        let actor_program = program.clone();
        let actor_logs = logs.clone();
        std::thread::Builder::new()
            .name(format!("db-{}", &identity.to_string()[..16]))
            .spawn(
                move || match Actor::start(identity, owner, actor_program, actor_logs, storage, &hash) {
                    Ok(actor) => {
                        if ready_tx.send(Ok(actor.durable_watch())).is_ok() {
                            actor.run(receiver);
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                },
            )
            .map_err(|e| StartError::Thread(e.to_string()))?;
        let durable = ready_rx
            .await
            .map_err(|_| StartError::Thread("the database thread stopped while starting".into()))??;
        Ok(Self {
            identity,
            owner,
            commands,
            logs,
            program,
            durable,
        })
    }

    /// The module currently running.
    pub fn program(&self) -> ModuleProgram {
        self.program.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The module logs.
    pub fn logs(&self) -> &Arc<ModuleLogs> {
        &self.logs
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, ActorGone> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).map_err(|_| self.gone())?;
        rx.await.map_err(|_| self.gone())
    }

    /// Calls reducer `target` with BSATN `args` for `caller`, wrapped in
    /// `client_connected` / `client_disconnected` on a new connection id, as an HTTP
    /// call is. Runs even if the caller stops waiting. Returns once the call's
    /// transactions are durable, so an acknowledged call survives a crash.
    pub async fn call(&self, caller: Identity, target: ReducerTarget, args: Vec<u8>) -> Result<CallResult, ActorGone> {
        let reply = self
            .ask(|reply| Command::Call {
                caller,
                target,
                args,
                reply,
            })
            .await?;
        self.confirmed(reply).await
    }

    /// Runs one SQL statement for `caller`, wrapped in `client_connected` /
    /// `client_disconnected` as an HTTP call is. With `confirmed` the result is a
    /// confirmed read: it is released once every transaction committed before it is
    /// durable; without, it is released at once and a crash may still take it back.
    pub async fn sql(&self, caller: Identity, sql: String, confirmed: bool) -> Result<SqlResult, ActorGone> {
        let reply = self.ask(|reply| Command::Sql { caller, sql, reply }).await?;
        if !confirmed {
            return Ok(reply.value);
        }
        self.confirmed(reply).await
    }

    /// Waits until the transactions before `reply` are durable. If the log writer
    /// failed they never will be: the request gets [`ActorGone`] naming the failure
    /// (a 503) rather than a result a restart could take back.
    async fn confirmed<T>(&self, reply: Logged<T>) -> Result<T, ActorGone> {
        if let (Some(offset), Some(durable)) = (reply.offset, &self.durable) {
            if let Err(e) = durable.clone().wait_for(offset).await {
                log::error!("database {}: {e}", self.identity);
                return Err(self.gone());
            }
        }
        Ok(reply.value)
    }

    /// Why a request cannot run: the actor stopped, because of its log if that failed.
    pub(crate) fn gone(&self) -> ActorGone {
        let failure = self.durable.as_ref().and_then(DurableOffset::failure);
        ActorGone {
            log_failure: failure.map(|cause| crate::durability::stopped_message(&cause).into()),
        }
    }

    /// Why the actor is gone, short enough for a WebSocket close frame (at most
    /// [`MAX_CLOSE_REASON`] bytes): the [`Self::gone`] message names the cause and the
    /// fix in prose far past that limit, so this keeps its key words and cuts the
    /// cause (an OS error, perhaps with a path) to what fits.
    pub(crate) fn close_reason(&self) -> String {
        match self.durable.as_ref().and_then(DurableOffset::failure) {
            Some(cause) => log_failure_close_reason(&cause),
            None => "the database is shutting down".into(),
        }
    }

    /// The durable offset of its commit log, for confirmed reads; `None` on an
    /// in-memory server, where nothing waits.
    pub(crate) fn durable(&self) -> Option<DurableOffset> {
        self.durable.clone()
    }

    /// Sends a WebSocket client's request to the actor; replies, if any, travel in the
    /// command or the client's queue.
    pub(crate) fn client(&self, command: crate::subscription::ClientCommand) -> Result<(), ActorGone> {
        self.commands.send(Command::Client(command)).map_err(|_| self.gone())
    }

    /// Replaces the module with `program` (whose hash in the program store is `hash`),
    /// keeping the data if the schema allows. Returns once the log's record of the new
    /// module is durable, so the registry may then name it.
    ///
    /// # Errors
    /// The outer error if the actor is gone or its log failed; the inner one (a message
    /// for the publisher) if the update was rejected, in which case the old module
    /// keeps running.
    pub async fn update(&self, program: ModuleProgram, hash: String) -> Result<Result<(), String>, ActorGone> {
        let reply = self.ask(|reply| Command::Update { program, hash, reply }).await?;
        self.confirmed(reply).await
    }

    /// Takes a snapshot now and returns its tx offset once it is written, or why not
    /// (an in-memory server, or nothing logged yet).
    pub async fn snapshot(&self) -> Result<Result<u64, String>, ActorGone> {
        self.ask(|reply| Command::Snapshot { reply }).await
    }

    /// Stops the actor after the commands already queued, and ends log followers.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
        self.logs.close();
    }
}

/// The close reason for a database stopped by its log's failure `cause`, within
/// [`MAX_CLOSE_REASON`] bytes. A long cause loses its middle (typically a file path):
/// its start says what failed and its end is the OS error.
fn log_failure_close_reason(cause: &str) -> String {
    const HEAD: &str = "database stopped: commit log cannot be written (";
    const TAIL: &str = "); fix storage, restart server";
    const ELLIPSIS: &str = "\u{2026}";
    let room = MAX_CLOSE_REASON - HEAD.len() - TAIL.len();
    if cause.len() <= room {
        return format!("{HEAD}{cause}{TAIL}");
    }
    let mut start = (room - ELLIPSIS.len()) / 4;
    while !cause.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = cause.len() - (room - ELLIPSIS.len() - start);
    while !cause.is_char_boundary(end) {
        end += 1;
    }
    format!("{HEAD}{}{ELLIPSIS}{}{TAIL}", &cause[..start], &cause[end..])
}

/// Forwards a module's log lines to its database's [`ModuleLogs`].
pub struct LogForwarder(pub Arc<ModuleLogs>);

impl LogSink for LogForwarder {
    fn log(&self, record: ModuleLogRecord) {
        self.0.append(&record);
    }
}

/// The running databases, by identity.
#[derive(Default)]
pub struct Databases {
    map: Mutex<HashMap<Identity, Arc<Database>>>,
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
        if let Some(old) = self.lock().insert(database.identity, Arc::new(database)) {
            old.shutdown();
        }
    }

    /// Stops and removes database `identity`.
    pub fn remove(&self, identity: Identity) {
        if let Some(old) = self.lock().remove(&identity) {
            old.shutdown();
        }
    }

    /// Stops every database.
    pub fn shutdown_all(&self) {
        for (_, db) in self.lock().drain() {
            db.shutdown();
        }
    }
}

/// Logs a line from the server (not the module) into a database's module log.
pub(crate) fn log_system(logs: &ModuleLogs, level: LogLevel, function: Option<&str>, message: impl Into<String>) {
    logs.append(&system_record(level, function, message));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_failure_close_reason_fits_a_close_frame_and_keeps_the_key_words() {
        let short = log_failure_close_reason("File too large (os error 27)");
        assert_eq!(short, "database stopped: commit log cannot be written (File too large (os error 27)); fix storage, restart server");
        assert!(short.len() <= MAX_CLOSE_REASON);
        let cause = format!(
            "cannot write segment /data/{}/00000.log: File too large (os error 27)",
            "é".repeat(40)
        );
        let long = log_failure_close_reason(&cause);
        assert!(long.len() <= MAX_CLOSE_REASON, "{} bytes: {long}", long.len());
        assert!(
            long.starts_with("database stopped: commit log cannot be written (cannot"),
            "{long}"
        );
        assert!(
            long.ends_with("File too large (os error 27)); fix storage, restart server"),
            "{long}"
        );
    }
}
