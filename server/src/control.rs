//! Changes to the set of databases: create, update, reset (clear), delete, and
//! reloading every registered database at start.
//!
//! Each change keeps the registry, the program store and the running actors in step:
//! a database is registered only after its module loaded and its `init` succeeded, so
//! a failed publish leaves nothing behind, and a failed update leaves the old module
//! running.
//!
//! The control lock ([`AppState::control_lock`]) guards only registry and database
//! changes. Loading a module ([`prepare`], which runs its set-up exports and describe)
//! and starting a new database (which runs `init`) can each take the whole module time
//! budget, so they happen before the lock is taken: one slow or hostile publish must
//! not stall everyone else's publish, delete and rename.

use crate::auth::{random_subject, Caller, LOCAL_ISSUER};
use crate::config::ServerConfig;
use crate::environment;
use crate::names::DatabaseName;
use crate::program_store::ProgramHash;
use crate::registry::{DatabaseRecord, RegistryError};
use crate::state::{AppState, LookupError};
use crate::versions::{NewVersion, Version};
use axum::body::Bytes;
use spacetime_engine::storage::{self, RestoreError, StorageConfig};
use spacetime_engine::{Database, Plan, Refusals, StartError, UpdateError, UpdateOptions};
use spacetime_host::{EnvironmentValues, LoadError, ModuleProgram};
use spacetime_sats::Identity;

/// Whether a publish created a database or updated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishOp {
    /// A new database.
    Created,
    /// An existing database got a new module (or was cleared).
    Updated,
}

/// Why a publish, update or delete failed. The routes answer it through `ApiError`'s
/// `From`.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The module does not load (not wasm, missing exports, a bad definition, …).
    #[error("cannot load the module: {0}")]
    BadModule(LoadError),
    /// The database did not start with it (its tables, `init`, the log).
    #[error("cannot publish the module: {0}")]
    Start(StartError),
    /// The name is taken.
    #[error("{0}")]
    NameTaken(RegistryError),
    /// The running database refused the update, or stopped.
    #[error(transparent)]
    Update(#[from] UpdateError),
    /// The database to update is not running.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// A rollback names no usable earlier version.
    #[error(transparent)]
    Rollback(#[from] NoRollbackTarget),
    /// Something cluster mode does not do yet (the text says what and the way around).
    #[error("{0}")]
    NotInClusterMode(&'static str),
    /// A failure on the server's side; logged, answered with a generic 500.
    #[error("{context}: {cause}")]
    Internal {
        /// What the server was doing.
        context: &'static str,
        /// What went wrong.
        cause: String,
    },
}

impl ControlError {
    fn internal(context: &'static str, cause: impl std::fmt::Display) -> Self {
        Self::Internal {
            context,
            cause: cause.to_string(),
        }
    }
}

/// Compiles and checks `wasm` on a blocking thread.
pub async fn load_program(
    state: &AppState,
    wasm: impl AsRef<[u8]> + Send + 'static,
) -> Result<ModuleProgram, ControlError> {
    let host = state.host().clone();
    let loaded = tokio::task::spawn_blocking(move || host.load(wasm.as_ref()))
        .await
        .map_err(|e| ControlError::internal("module loading task failed", e))?;
    loaded.map_err(|e| match e {
        LoadError::Engine(_) => ControlError::internal("cannot load module", e),
        e => ControlError::BadModule(e),
    })
}

/// A module that loaded and is in the program store, ready to be published.
pub struct PreparedModule {
    program: ModuleProgram,
    program_hash: ProgramHash,
}

impl PreparedModule {
    /// The module's validated definition.
    pub fn module_def(&self) -> &spacetime_sats::def::model::ModuleDef {
        self.program.module_def()
    }
}

/// Loads `wasm` and stores it, without the control lock (see the module doc).
///
/// # Errors
/// [`ControlError::BadModule`] if it does not load; internal errors if the program
/// cannot be stored.
pub async fn prepare(state: &AppState, wasm: Bytes) -> Result<PreparedModule, ControlError> {
    // `Bytes` clones share the buffer: the module is never copied.
    let program = load_program(state, wasm.clone()).await?;
    // Row-level security filters are SQL over the module's tables: checked here, so a
    // module with a bad filter is refused before any database is created or updated.
    let checked = program.clone();
    tokio::task::spawn_blocking(move || spacetime_engine::check_module(checked.module_def()))
        .await
        .map_err(|e| ControlError::internal("module checking task failed", e))?
        .map_err(ControlError::Start)?;
    // Stored before the database starts, since its log names the program by hash.
    // Content-addressed, so storing it ahead of a publish that then fails is harmless.
    let store = state.clone();
    let program_hash = tokio::task::spawn_blocking(move || store.programs().put(&wasm))
        .await
        .map_err(|e| ControlError::internal("program storing task failed", e))?
        .map_err(|e| ControlError::internal("cannot store the program", e))?;
    Ok(PreparedModule { program, program_hash })
}

fn start_error(e: StartError) -> ControlError {
    match e {
        StartError::Thread(_) | StartError::ThreadStopped => ControlError::internal("cannot start database", e),
        e => ControlError::Start(e),
    }
}

/// A registry failure as a response: a taken name is the caller's problem.
pub fn registry_error(e: RegistryError) -> ControlError {
    match e {
        RegistryError::NameTaken(_) => ControlError::NameTaken(e),
        e => ControlError::internal("cannot update the registry", e),
    }
}

/// Creates a database owned by `owner` running `module`, named `name` if given.
///
/// The database starts (running `init`) without the control lock, which is taken only
/// to register it; the caller must not hold it. A name taken meanwhile is refused at
/// registration, and the started database is stopped and removed again.
/// `env` is the database's environment from the start, so `init` reads it; the caller
/// has checked it against the module ([`crate::environment::check_required`]). In
/// cluster mode it is placed on `replicas` nodes (see
/// [`crate::cluster::ClusterNode::created`]; the cluster's default if `None`).
pub async fn create(
    state: &AppState,
    owner: &Caller,
    name: Option<DatabaseName>,
    module: PreparedModule,
    env: EnvironmentValues,
    replicas: Option<u32>,
) -> Result<Identity, ControlError> {
    create_with(state, owner, name, module, None, env, replicas).await
}

/// Creates a database as [`create`] does, starting from `seed` (a backup's state, in
/// the snapshot format) instead of running `init` when given.
pub async fn create_seeded(
    state: &AppState,
    owner: &Caller,
    name: Option<DatabaseName>,
    module: PreparedModule,
    seed: Option<std::sync::Arc<[u8]>>,
    env: EnvironmentValues,
) -> Result<Identity, ControlError> {
    create_with(state, owner, name, module, seed, env, None).await
}

async fn create_with(
    state: &AppState,
    owner: &Caller,
    name: Option<DatabaseName>,
    module: PreparedModule,
    seed: Option<std::sync::Arc<[u8]>>,
    env: EnvironmentValues,
    replicas: Option<u32>,
) -> Result<Identity, ControlError> {
    if state.cluster().is_some_and(|node| node.is_reader()) {
        return Err(ControlError::NotInClusterMode(
            "this node is a reader (--cluster-role reader): it never leads a database, so a new one cannot be \
             created here; publish it on a node that may lead (a standby)",
        ));
    }
    if let Some(name) = &name {
        if state.registry().resolve_name(name.as_str()).is_some() {
            return Err(registry_error(RegistryError::NameTaken(name.to_string())));
        }
    }
    let PreparedModule { program, program_hash } = module;
    let database_identity = Identity::from_claims(LOCAL_ISSUER, &random_subject());
    if !env.is_empty() {
        environment::store(state, database_identity, env)
            .map_err(|e| ControlError::internal("cannot store the environment", e))?;
    }
    let replica_id = state.registry().allocate_replica_id().map_err(registry_error)?;
    let logs = state.open_logs(replica_id);
    let storage = storage_for(state.config(), replica_id).map(|s| match seed {
        Some(seed) => s.with_seed(seed),
        None => s,
    });
    let storage = match (state.cluster(), storage) {
        (Some(node), Some(storage)) => Some(lead_new(node.clone(), database_identity, storage).await?),
        (_, storage) => storage,
    };
    let started = Database::start(database_identity, owner.identity, program, logs, storage, &program_hash).await;
    let database = match started {
        Ok(database) => database,
        Err(e) => {
            if let Some(node) = state.cluster() {
                node.abandon(database_identity);
            }
            remove_replica_dir(state, replica_id);
            environment::remove(state, database_identity);
            return Err(start_error(e));
        }
    };
    let record = DatabaseRecord {
        database_identity,
        owner_identity: owner.identity,
        program_hash,
        replica_id,
    };
    let _guard = state.control_lock().await;
    let registered = state
        .registry()
        .insert(record.clone(), name.as_ref())
        .map_err(registry_error);
    if let Err(e) = registered {
        database.shutdown();
        if let Some(node) = state.cluster() {
            node.abandon(database_identity);
        }
        remove_replica_dir(state, replica_id);
        environment::remove(state, database_identity);
        return Err(e);
    }
    state.databases().insert(database);
    if let Some(node) = state.cluster().cloned() {
        let state = state.clone();
        tokio::task::spawn_blocking(move || node.created(&state, &record, replicas))
            .await
            .map_err(|e| ControlError::internal("cluster catalog task failed", e))?;
    }
    Ok(database_identity)
}

/// Cluster mode: takes the leadership of a new database (blocking etcd calls, off the
/// runtime's workers) and makes `storage` replicate its log.
async fn lead_new(
    node: std::sync::Arc<crate::cluster::ClusterNode>,
    identity: Identity,
    storage: StorageConfig,
) -> Result<StorageConfig, ControlError> {
    tokio::task::spawn_blocking(move || node.lead_new(identity, storage))
        .await
        .map_err(|e| ControlError::internal("cluster election task failed", e))?
        .map_err(|e| ControlError::internal("cannot lead the new database in the cluster", e))
}

/// Replaces the module of `record` with `module`, migrating the data by the planner's
/// plan (or, with `clear`, starting over on an empty database and running `init`), and
/// records the publish as a new version, whose summary is `note` (if any) followed by
/// what the update did. The caller holds the control lock and has checked ownership.
pub async fn update(
    state: &AppState,
    record: DatabaseRecord,
    module: PreparedModule,
    clear: bool,
    options: UpdateOptions,
    note: Option<&str>,
) -> Result<(), ControlError> {
    let version = |did: String| NewVersion {
        publisher: options.publisher,
        summary: match note {
            Some(note) => format!("{note}: {did}"),
            None => did,
        },
    };
    let PreparedModule { program, program_hash } = module;
    if clear && state.cluster().is_some() {
        return Err(ControlError::NotInClusterMode(
            "publishing with --delete-data is not supported in cluster mode yet (its standbys would keep the old \
             data): delete the database and publish it again",
        ));
    }
    if clear {
        let replica_id = state.registry().allocate_replica_id().map_err(registry_error)?;
        let logs = state.open_logs(replica_id);
        let storage = storage_for(state.config(), replica_id);
        let database = match Database::start(
            record.database_identity,
            record.owner_identity,
            program,
            logs,
            storage,
            &program_hash,
        )
        .await
        {
            Ok(database) => database,
            Err(e) => {
                remove_replica_dir(state, replica_id);
                return Err(start_error(e));
            }
        };
        let record = DatabaseRecord {
            program_hash,
            replica_id,
            ..record
        };
        let cleared = version("cleared the data (--delete-data) and started over".to_owned());
        if let Err(e) = state.registry().publish(record, cleared) {
            database.shutdown();
            return Err(registry_error(e));
        }
        state.databases().insert(database);
    } else {
        let running = state.running(&record)?;
        // Returns once the log names the new module, so a crash before the registry
        // write is repaired at start (see `spacetime_engine::storage::record`).
        let plan = running.update(program, program_hash.clone(), options).await?;
        let record = DatabaseRecord { program_hash, ..record };
        state
            .registry()
            .publish(record.clone(), version(plan.summary()))
            .map_err(registry_error)?;
        if let Some(node) = state.cluster().cloned() {
            // The standbys fetch the new program from the catalog before they could
            // take over with it.
            let state = state.clone();
            tokio::task::spawn_blocking(move || node.updated(&state, &record))
                .await
                .map_err(|e| ControlError::internal("cluster catalog task failed", e))?;
        }
    }
    Ok(())
}

/// What publishing `module` over the running database of `record` would do (see
/// [`spacetime_engine::Database::plan_update`]); nothing changes.
///
/// # Errors
/// [`LookupError`] if the database is not running; the planner's refusals are the
/// `Err` of the inner result.
pub fn plan(
    state: &AppState,
    record: &DatabaseRecord,
    module: &PreparedModule,
) -> Result<Result<Plan, Refusals>, LookupError> {
    Ok(state.running(record)?.plan_update(&module.program))
}

/// Why a rollback has no version to go back to, in words for the publisher.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NoRollbackTarget(String);

/// The version a rollback of `record` goes back to: version `to`, or else the newest
/// version before the current one that runs another program.
///
/// # Errors
/// [`NoRollbackTarget`] naming what is wrong: no history, no such version, the
/// version is the current one, or there is no earlier program.
pub fn rollback_target(
    state: &AppState,
    record: &DatabaseRecord,
    to: Option<u32>,
) -> Result<Version, NoRollbackTarget> {
    let history = state.registry().versions(record.database_identity);
    let Some(current) = history.last() else {
        return Err(NoRollbackTarget(
            "this database has no version history yet (it predates it); publish once to start one".into(),
        ));
    };
    let target = match to {
        Some(n) => history.iter().find(|v| v.number == n).ok_or_else(|| {
            NoRollbackTarget(format!(
                "there is no version {n}; the versions are 1 to {}",
                current.number
            ))
        })?,
        None => history
            .iter()
            .rev()
            .find(|v| v.program_hash != current.program_hash)
            .ok_or_else(|| {
                NoRollbackTarget("every version runs the current program: nothing to roll back to".into())
            })?,
    };
    if target.number == current.number {
        return Err(NoRollbackTarget(format!(
            "version {} is the current version; name an earlier one with --to",
            target.number
        )));
    }
    Ok(target.clone())
}

/// Loads the program of `version` from the program store, ready to publish again.
///
/// # Errors
/// The program cannot be read or no longer loads.
pub async fn prepare_version(state: &AppState, version: &Version) -> Result<PreparedModule, ControlError> {
    let wasm = state
        .programs()
        .get(&version.program_hash)
        .map_err(|e| ControlError::internal("cannot read the version's program", e))?;
    let program = load_program(state, wasm).await?;
    Ok(PreparedModule {
        program,
        program_hash: version.program_hash.clone(),
    })
}

/// Deletes database `identity`. The caller holds the control lock and has checked
/// ownership. Its files stay on disk, as upstream.
pub fn delete(state: &AppState, identity: Identity) -> Result<(), ControlError> {
    if let Some(node) = state.cluster() {
        // A blocking etcd call from the async route: let the runtime move other tasks.
        tokio::task::block_in_place(|| node.deleting(identity))
            .map_err(|e| ControlError::internal("cannot remove the database from the cluster", e))?;
    }
    state.registry().remove(identity).map_err(registry_error)?;
    state.databases().remove(identity);
    environment::remove(state, identity);
    Ok(())
}

/// Starts every registered database again after a restart: each restores its rows
/// from its commit log (its `init` does not run again). A database that fails to
/// start is logged at `error` and left registered but not running; requests to it get
/// a 503 saying why ([`AppState::running`]). One whose log is missing or unreadable is
/// refused, never started as a new, empty database.
pub async fn reload_all(state: &AppState) {
    for mut record in state.registry().all() {
        let identity = record.database_identity;
        // Registered, so it exists: its log must be there.
        let storage = storage_for(state.config(), record.replica_id).map(StorageConfig::expecting_data);
        let logs = state.open_logs(record.replica_id);
        if let Some(storage) = &storage {
            match storage::logged_program(storage, &logs) {
                Ok(Some(logged)) if logged != record.program_hash => {
                    // An update switched modules but crashed before the registry write.
                    log::warn!(
                        "database {identity}: its log was last written by program {logged}, the registry names {}; using the log's",
                        record.program_hash
                    );
                    record.program_hash = logged;
                    let recovered = NewVersion {
                        publisher: record.owner_identity,
                        summary: "recovered from the commit log at a restart (the update's registry write was lost)"
                            .to_owned(),
                    };
                    if let Err(e) = state.registry().publish(record.clone(), recovered) {
                        log::error!("database {identity}: cannot correct its program in the registry: {e}");
                    }
                }
                Ok(_) => {}
                Err(e @ (RestoreError::Missing { .. } | RestoreError::Log(_))) => {
                    // Starting would recover the same log and fail the same way.
                    not_started(state, identity, restore_failed(&storage.dir, e));
                    continue;
                }
                Err(e) => log::warn!("database {identity}: cannot read the module records of its log: {e}"),
            }
        }
        let wasm = match state.programs().get(&record.program_hash) {
            Ok(wasm) => wasm,
            Err(e) => {
                let why = format!("cannot read its program {}: {e}", record.program_hash);
                not_started(state, identity, why);
                continue;
            }
        };
        let program = match load_program(state, wasm).await {
            Ok(program) => program,
            Err(e) => {
                not_started(state, identity, format!("cannot load its program: {e}"));
                continue;
            }
        };
        let dir = storage.as_ref().map(|s| s.dir.clone());
        match Database::start(
            identity,
            record.owner_identity,
            program,
            logs,
            storage,
            &record.program_hash,
        )
        .await
        {
            Ok(database) => state.databases().insert(database),
            Err(e) => {
                let why = match (e, dir) {
                    (StartError::Restore(e), Some(dir)) => restore_failed(&dir, *e),
                    (e, _) => e.to_string(),
                };
                not_started(state, identity, why);
            }
        }
    }
}

/// Why a database's data could not be restored, and the two ways out.
fn restore_failed(dir: &std::path::Path, e: RestoreError) -> String {
    format!(
        "cannot restore it from its commit log: {e}. To recover, restore the replica directory {} \
         from a backup and restart the server, or republish the database with --delete-data to \
         start it empty (discarding what is left of its data)",
        dir.display()
    )
}

/// Logs at `error` that database `identity` was not started, and keeps `why` for the
/// requests made to it.
fn not_started(state: &AppState, identity: Identity, why: String) {
    let why = format!("it failed to start when the server started: {why}");
    log::error!("database {identity}: {why}");
    state.databases().set_failed(identity, why);
}

fn remove_replica_dir(state: &AppState, replica_id: u64) {
    if !state.config().in_memory {
        let dir = state.config().replica_dir(replica_id);
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                log::warn!("cannot remove {}: {e}", dir.display());
            }
        }
    }
}

/// The storage of replica `replica_id`, or `None` for an in-memory server.
pub(crate) fn storage_for(config: &ServerConfig, replica_id: u64) -> Option<StorageConfig> {
    (!config.in_memory).then(|| {
        StorageConfig::new(config.replica_dir(replica_id), config.snapshot_every)
            .with_retention(config.snapshots_to_keep, config.max_segment_size)
    })
}
