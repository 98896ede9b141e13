//! The actor of one database: a dedicated thread that owns the [`DatabaseState`]
//! (datastore, commit log, schedule queue, subscribers) and the [`ModuleInstance`],
//! and runs every request that touches them one at a time, in arrival order.
//!
//! It sleeps until a request arrives or the next scheduled reducer is due. Due
//! scheduled reducers run before the next request, so a busy database still keeps its
//! schedule. A runaway reducer is stopped by the host's time budget; the host replaces
//! the trapped instance and the actor carries on with the next request. What each
//! request does is in [`crate::requests`]; every transaction ends in the commit funnel
//! ([`DatabaseState::commit`]).

use crate::commit::DatabaseState;
use crate::error::StartError;
use crate::follower::{Follower, RoleLink};
use crate::module_logs::{log_system, LogForwarder, ModuleLogs};
use crate::procedures::ProcedureRunner;
use crate::requests::Request;
use crate::schedule::Scheduler;
use crate::schema_change::create_tables;
use crate::storage::record::ClientChange;
use crate::storage::{self, DatabaseLog, StorageConfig};
use crate::subscription::SubscriptionManager;
use crate::views::Views;
use spacetime_commitlog::DurableOffset;
use spacetime_datastore::{Datastore, TxData};
use spacetime_host::{LogLevel, ModuleInstance, ModuleProgram, ReducerError, ReducerOutcome};
use spacetime_sats::def::raw::Lifecycle;
use spacetime_sats::{ConnectionId, Identity, Timestamp};
use spacetime_sql::rls::RlsRules;
use spacetime_sql::vars::SqlVars;
use spacetime_sql::Catalog;
use std::collections::HashMap;
use std::sync::{mpsc, Arc, RwLock};
use std::time::Duration;

/// The actor's state: the module instance beside the database state it runs on.
pub(crate) struct Actor {
    /// The database owner.
    pub(crate) owner: Identity,
    /// The module the [`crate::Database`] handle reports; kept equal to the
    /// instance's program.
    pub(crate) current: Arc<RwLock<ModuleProgram>>,
    /// The warm module instance.
    pub(crate) instance: ModuleInstance,
    /// The module's row-level security filters, checked against the datastore; kept
    /// equal to the instance's program.
    pub(crate) rls: RlsRules,
    /// The module log.
    pub(crate) module_logs: Arc<ModuleLogs>,
    /// Everything a commit touches.
    pub(crate) db: DatabaseState,
    /// The token payload of each open connection (HTTP requests for their duration,
    /// WebSocket clients while connected): what the module's `get_jwt` returns.
    pub(crate) connection_jwts: HashMap<ConnectionId, Arc<str>>,
    /// The SQL settings (`SET row_limit = …`), upstream's `st_var`.
    pub(crate) sql_vars: SqlVars,
    /// Where they are kept across restarts ([`crate::sql_settings`]); `None` without
    /// storage.
    pub(crate) sql_settings_file: Option<std::path::PathBuf>,
    /// Runs WebSocket clients' procedure calls off this thread; set by
    /// [`crate::Database::start`] before the actor serves requests.
    pub(crate) procedures: Option<ProcedureRunner>,
    /// Whether it leads or follows, shared with the [`crate::Database`] handle.
    pub(crate) role: RoleLink,
    /// Its state while it follows another node's log ([`crate::follower`]).
    pub(crate) follower: Option<Follower>,
}

/// How many queued requests the actor handles in a row before it queues the
/// subscription messages they made (see [`Actor::run`]): enough to serve every busy
/// connection once, few enough that no reply waits long.
const MAX_RUN: usize = 256;

/// What a module brings to a database: its tables (in a new datastore), its row-level
/// security filters checked against them, a warm instance and its views. Made at
/// start, and by a follower for a module update it applies.
pub(crate) struct ModuleParts {
    pub(crate) datastore: Datastore,
    pub(crate) rls: RlsRules,
    pub(crate) instance: ModuleInstance,
    pub(crate) views: Views,
}

impl ModuleParts {
    /// Creates the tables of `program`'s module, checks its filters and instantiates it
    /// for database `identity`, its logs going to `logs`.
    pub(crate) fn new(identity: Identity, program: &ModuleProgram, logs: &Arc<ModuleLogs>) -> Result<Self, StartError> {
        let def = program.module_def();
        let mut datastore = Datastore::new();
        create_tables(&mut datastore, def.tables.iter(), def)?;
        let rls = RlsRules::compile(def, &datastore)?;
        let instance = program.instantiate(identity, Arc::new(LogForwarder(logs.clone())))?;
        let views = Views::new(program, identity, Arc::new(LogForwarder(logs.clone())))?;
        Ok(Self {
            datastore,
            rls,
            instance,
            views,
        })
    }
}

impl Actor {
    /// An actor over `parts` (rows restored already) and `log`.
    pub(crate) fn assemble(
        owner: Identity,
        identity: Identity,
        current: Arc<RwLock<ModuleProgram>>,
        logs: Arc<ModuleLogs>,
        parts: ModuleParts,
        log: Option<DatabaseLog>,
        sql_settings_file: Option<std::path::PathBuf>,
    ) -> Self {
        let scheduler = Scheduler::new(parts.instance.program().module_def());
        Self {
            owner,
            current,
            instance: parts.instance,
            rls: parts.rls,
            module_logs: logs,
            db: DatabaseState {
                datastore: parts.datastore,
                commitlog: log,
                scheduler,
                subscriptions: SubscriptionManager::default(),
                metrics_label: crate::metrics::label(identity),
                views: parts.views,
            },
            connection_jwts: HashMap::new(),
            sql_vars: sql_settings_file
                .as_deref()
                .map(crate::sql_settings::load)
                .unwrap_or_default(),
            sql_settings_file,
            procedures: None,
            role: RoleLink::default(),
            follower: None,
        }
    }

    /// Creates the tables from the module, instantiates it, then restores the rows
    /// from `storage` (snapshot and log, without running reducers) and the schedules;
    /// or, for a new database (an empty log, or no storage), runs `init`. A database
    /// that exists ([`StorageConfig::expecting_data`]) is refused if its log is missing.
    pub(crate) fn start(
        identity: Identity,
        owner: Identity,
        current: Arc<RwLock<ModuleProgram>>,
        logs: Arc<ModuleLogs>,
        storage: Option<StorageConfig>,
        hash: &str,
    ) -> Result<Self, StartError> {
        let program = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut parts = ModuleParts::new(identity, &program, &logs)?;
        let storage = storage.map(|s| s.with_metrics_label(crate::metrics::label(identity)));
        let sql_settings_file = storage.as_ref().map(|s| crate::sql_settings::path(&s.dir));
        let (log, fresh) = match &storage {
            Some(storage) => {
                let opened = storage::open(storage, &mut parts.datastore, &logs)
                    .map_err(|e| StartError::Restore(Box::new(e)))?;
                (Some(opened.log), opened.fresh)
            }
            None => (None, true),
        };
        let mut actor = Self::assemble(owner, identity, current, logs, parts, log, sql_settings_file);
        let seed = storage.as_ref().and_then(StorageConfig::seed).cloned();
        if fresh {
            let now = Timestamp::now();
            if let Some(state) = &seed {
                // Restored from a backup: its rows instead of `init`'s.
                storage::snapshot::restore(&mut actor.db.datastore, state).map_err(|source| {
                    StartError::Restore(Box::new(storage::RestoreError::Snapshot { offset: 0, source }))
                })?;
                actor.db.scheduler.restore(&actor.db.datastore, now);
            } else if let Some(outcome) = actor.instance.call_init(&mut actor.db.datastore, owner, now) {
                let tx = outcome.result.map_err(StartError::Init)?;
                actor.db.commit(&tx, now, None);
            }
            // Marks the database initialized even if `init` wrote nothing, so a
            // restart never runs it again; durable before the caller registers the
            // database, so a registered database always has its log.
            if let Some(log) = &mut actor.db.commitlog {
                let restore = |e: spacetime_commitlog::DurabilityError| StartError::Restore(Box::new(e.into()));
                log.append_created().map_err(restore)?;
                let offset = match seed {
                    Some(_) => log
                        .append_migration(
                            &actor.db.datastore,
                            hash,
                            now.to_micros_since_unix_epoch(),
                            owner,
                            "restored from a backup".to_owned(),
                        )
                        .map_err(restore)?,
                    None => log.append_module(hash).map_err(restore)?,
                };
                log.wait_durable(offset).map_err(restore)?;
            }
        } else {
            if let Some(log) = &mut actor.db.commitlog {
                log.set_module(hash);
            }
            actor.db.scheduler.restore(&actor.db.datastore, Timestamp::now());
            actor.disconnect_stale_clients();
        }
        let db = &mut actor.db;
        db.views.start(&mut db.datastore, [])?;
        Ok(actor)
    }

    /// Materialises the per-caller views for `caller` before a query of theirs:
    /// [`Self::ensure_views_for`] a query that calls no view with parameters.
    pub(crate) fn ensure_views(&mut self, caller: Identity) -> Result<(), crate::views::ViewsError> {
        self.ensure_views_for(caller, [])
    }

    /// Materialises the per-caller views for `caller`, and the calls of views with
    /// parameters that `queries` name, before those queries of theirs run, so SQL finds
    /// their rows. A failure is logged and returned: a query that then finds a view
    /// missing can say why.
    pub(crate) fn ensure_views_for<'q>(
        &mut self,
        caller: Identity,
        queries: impl IntoIterator<Item = &'q str>,
    ) -> Result<(), crate::views::ViewsError> {
        let program = self.instance.program().clone();
        let calls = (queries.into_iter())
            .flat_map(|sql| spacetime_sql::view_call::view_calls(sql, program.module_def()))
            .map(|call| (call.view.name.clone(), call.args))
            .collect::<Vec<_>>();
        let db = &mut self.db;
        let ensured = db.views.ensure_caller(&mut db.datastore, caller);
        let ensured = ensured.and_then(|()| db.views.ensure_calls(&mut db.datastore, caller, calls));
        ensured.inspect_err(|e| {
            log::warn!("views for {caller}: {e}");
            log_system(&self.module_logs, LogLevel::Warn, None, e.to_string());
        })
    }

    /// Releases the per-caller view materialisations no subscription reads any more
    /// (see the engine's view lifecycle); run after every subscribe, unsubscribe and
    /// disconnect, and now and then between requests.
    pub(crate) fn sweep_views(&mut self) {
        let db = &mut self.db;
        let subscribed = db.subscriptions.tables_read();
        let connected = db.subscriptions.connected().map(|(identity, _)| identity).collect();
        let now = std::time::Instant::now();
        let released = db.views.sweep(&mut db.datastore, &subscribed, &connected, now);
        if released > 0 {
            log::debug!("released {released} view materialisation(s) nobody subscribes to");
        }
    }

    /// [`Actor::sweep_views`] if the last sweep was a while ago, so materialisations
    /// only queried are released even when no client unsubscribes.
    pub(crate) fn sweep_views_if_due(&mut self) {
        if self.db.views.sweep_due(std::time::Instant::now()) {
            self.sweep_views();
        }
    }

    /// Runs `client_disconnected` for every client the log holds as connected here
    /// (not through another node): the crash (or stop) closed their connections
    /// without running it.
    pub(crate) fn disconnect_stale_clients(&mut self) {
        let stale = self
            .db
            .commitlog
            .as_ref()
            .map(DatabaseLog::connected_here)
            .unwrap_or_default();
        // Clients another node hosts (a reader's WebSocket clients) are still
        // connected there: the edge ends them when that node is gone
        // (`Database::hosted_clients`).
        if stale.is_empty() {
            return;
        }
        let message = format!(
            "running client_disconnected for {} client(s) connected before the restart",
            stale.len()
        );
        log::info!("{message}");
        log_system(&self.module_logs, LogLevel::Info, None, message);
        for (identity, connection_id) in stale {
            self.disconnect(identity, connection_id);
        }
    }

    /// What SQL and subscriptions check against: the running module and its filters.
    pub(crate) fn catalog<'a>(&'a self, program: &'a ModuleProgram) -> Catalog<'a> {
        Catalog {
            module: program.module_def(),
            rls: &self.rls,
        }
    }

    /// A handle to wait for durability, if the database has a log.
    pub(crate) fn durable_watch(&self) -> Option<DurableOffset> {
        self.db.commitlog.as_ref().map(DatabaseLog::watch)
    }

    /// Serves requests until shut down or every sender is gone.
    pub(crate) fn run(mut self, requests: mpsc::Receiver<Request>) {
        // Subscription messages made while handling a run of queued requests are held
        // and queued together before the actor next waits (or after `MAX_RUN`
        // requests), so each connection task is woken once per run, not per message.
        self.db.subscriptions.defer_sends();
        // Calls `init` queued with `volatile_nonatomic_schedule_immediate` run first.
        self.forward_immediate_calls();
        let mut handled = 0;
        loop {
            let queued = if handled < MAX_RUN {
                requests.try_recv().ok()
            } else {
                None
            };
            let next = match queued {
                Some(request) => Ok(request),
                None => {
                    self.db.subscriptions.flush();
                    handled = 0;
                    match self.db.scheduler.next_due() {
                        None => requests.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                        Some(due) => {
                            let wait = due.time_duration_since_saturating(Timestamp::now()).to_micros();
                            if wait <= 0 {
                                self.run_due();
                                self.forward_immediate_calls();
                                continue;
                            }
                            requests.recv_timeout(Duration::from_micros(wait.unsigned_abs()))
                        }
                    }
                }
            };
            match next {
                Ok(Request::Shutdown) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                // A failed commit log stops the database: nothing more could be made
                // durable. Requests then get `ActorGone` naming the failure.
                _ if self.db.commitlog.as_mut().is_some_and(DatabaseLog::stopped) => break,
                Ok(request) => {
                    handled += 1;
                    self.handle(request);
                    self.forward_immediate_calls();
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.run_due();
                    self.forward_immediate_calls();
                }
            }
        }
        self.db.subscriptions.flush();
    }

    /// Runs every scheduled reducer that is due. The scheduler logs their failures.
    fn run_due(&mut self) {
        let now = Timestamp::now();
        for call in self.db.scheduler.take_due(now) {
            if self.db.scheduler.procedure_of(&call).is_some() {
                self.run_scheduled_procedure(call, now);
                continue;
            }
            let ran = self
                .db
                .scheduler
                .run(&mut self.instance, &mut self.db.datastore, call, now);
            let Some(ran) = ran else { continue };
            for tx in ran.outcome.committed().into_iter().chain(&ran.cleanup) {
                self.db.commit(tx, now, None);
            }
        }
    }

    /// Runs `client_connected` for a new connection of `caller` and commits what it
    /// did; the module's error if it refuses. An accepted connection is logged in the
    /// same record as that transaction, so a restart can run `client_disconnected` for
    /// it exactly when its effects survived.
    /// A follower runs no lifecycle reducer (the leader does) and logs nothing.
    pub(crate) fn connect(&mut self, caller: Identity, connection_id: ConnectionId) -> Result<(), ReducerError> {
        if self.role.is_following() {
            return Ok(());
        }
        self.run_client_connected(caller, connection_id, ClientChange::Connected(caller, connection_id))
    }

    /// Runs `client_connected` for `caller` on `connection_id` (with the JWT recorded
    /// for it) and commits it with `logged`, the client's entry in the log (written
    /// only when the module tracks clients): this node's own connection, or one
    /// another node hosts (`requests/hosted.rs`).
    pub(crate) fn run_client_connected(
        &mut self,
        caller: Identity,
        connection_id: ConnectionId,
        logged: ClientChange,
    ) -> Result<(), ReducerError> {
        let now = Timestamp::now();
        let jwt = self.connection_jwts.get(&connection_id).cloned();
        let outcome =
            self.instance
                .client_connected(&mut self.db.datastore, caller, connection_id, jwt.as_deref(), now);
        let logged = self.tracks_clients().then_some(logged);
        self.commit_lifecycle("client_connected", outcome, now, logged)
    }

    /// Runs `client_disconnected` and commits what it did, with the client's end in the
    /// same log record; a failure is logged and does not matter otherwise.
    /// A follower runs none (see [`Self::connect`]).
    pub(crate) fn disconnect(&mut self, caller: Identity, connection_id: ConnectionId) {
        if self.role.is_following() {
            return;
        }
        let now = Timestamp::now();
        let jwt = self.connection_jwts.get(&connection_id).cloned();
        let outcome =
            self.instance
                .client_disconnected(&mut self.db.datastore, caller, connection_id, jwt.as_deref(), now);
        // Logged whether or not the module tracks clients now: the log forgets the
        // client if it held it (see `DatabaseLog::append_lifecycle`).
        let logged = Some(ClientChange::Disconnected(caller, connection_id));
        let _ = self.commit_lifecycle("client_disconnected", outcome, now, logged);
    }

    /// Commits a lifecycle reducer's transaction together with the client change
    /// `logged` (one log record, see [`DatabaseLog::append_lifecycle`]: a crash or a
    /// failover never keeps one without the other), or logs the reducer's failure and
    /// returns it. A failed connection logs no change (the client was refused); a
    /// failed disconnection still ends the client in the log.
    pub(crate) fn commit_lifecycle(
        &mut self,
        reducer: &str,
        outcome: Option<ReducerOutcome>,
        timestamp: Timestamp,
        logged: Option<ClientChange>,
    ) -> Result<(), ReducerError> {
        let result = outcome.map(|o| o.result).transpose();
        let logged = match &result {
            Ok(_) => logged,
            Err(e) => {
                self.log_failure(reducer, e);
                logged.filter(|change| matches!(change, ClientChange::Disconnected(..)))
            }
        };
        match (&result, logged) {
            (Ok(Some(tx)), logged) => self.db.commit_with_client(tx, timestamp, None, logged),
            (_, Some(change)) => {
                if let Some(log) = &mut self.db.commitlog {
                    log.append_lifecycle(&TxData::default(), change);
                }
            }
            (_, None) => {}
        }
        result.map(drop)
    }

    /// Whether connections must be logged: only a `client_disconnected` reducer needs
    /// to run for clients a crash cut off.
    pub(crate) fn tracks_clients(&self) -> bool {
        self.db.commitlog.is_some()
            && self
                .instance
                .program()
                .module_def()
                .lifecycle_reducer(Lifecycle::OnDisconnect)
                .is_some()
    }

    /// Records a failed reducer in the module log. A panic's message is already there
    /// (the module's panic hook logged it), so only other failures are added.
    pub(crate) fn log_failure(&self, reducer: &str, error: &ReducerError) {
        if !matches!(error, ReducerError::Panic(_)) {
            log_system(&self.module_logs, LogLevel::Error, Some(reducer), error.to_string());
        }
    }
}
