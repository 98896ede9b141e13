//! [`AppState`]: what every request handler shares: the configuration, the key pair,
//! the registry, the program store, the module host and the running databases.

use crate::auth::{Authenticator, JwtKeys};
use crate::config::ServerConfig;
use crate::names::NameOrIdentity;
use crate::program_store::ProgramStore;
use crate::registry::{DatabaseRecord, Registry};
use crate::ws::sessions::Sessions;
use axum::extract::FromRef;
use spacetime_engine::module_logs::ModuleLogs;
use spacetime_engine::{Database, Databases};
use spacetime_host::HostRuntime;
use std::sync::Arc;

/// Shared server state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
    auth: Arc<Authenticator>,
}

struct Inner {
    config: ServerConfig,
    registry: Registry,
    programs: ProgramStore,
    host: HostRuntime,
    databases: Databases,
    /// Serializes changes to the set of databases (publish, delete, rename), so that
    /// checking a name and taking it cannot interleave with another publish.
    control: tokio::sync::Mutex<()>,
    /// The open WebSocket sessions.
    ws_sessions: Sessions,
    /// The locked databases (`spacetime lock`).
    locks: crate::locks::Locks,
    /// Slots for publishes reading a body and loading a module (see
    /// [`PUBLISHES_IN_FLIGHT`](crate::routes::publish::PUBLISHES_IN_FLIGHT)).
    publish_slots: Arc<tokio::sync::Semaphore>,
    /// Cluster mode: this node's membership (set once at start; empty when standalone).
    cluster: std::sync::OnceLock<Arc<crate::cluster::ClusterNode>>,
}

impl AppState {
    /// Assembles the state of a server.
    pub fn new(
        config: ServerConfig,
        keys: JwtKeys,
        registry: Registry,
        programs: ProgramStore,
        host: HostRuntime,
    ) -> Self {
        let auth = Authenticator::new(keys, config.oidc_issuers.clone());
        let locks = open_locks(&config);
        let inner = Inner {
            config,
            registry,
            programs,
            host,
            databases: Databases::default(),
            control: tokio::sync::Mutex::new(()),
            ws_sessions: Sessions::default(),
            locks,
            publish_slots: Arc::new(tokio::sync::Semaphore::new(crate::routes::publish::PUBLISHES_IN_FLIGHT)),
            cluster: std::sync::OnceLock::new(),
        };
        Self {
            inner: Arc::new(inner),
            auth: Arc::new(auth),
        }
    }

    /// The server's configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The token key pair.
    pub fn keys(&self) -> &JwtKeys {
        self.auth.keys()
    }

    /// The locked databases.
    pub fn locks(&self) -> &crate::locks::Locks {
        &self.inner.locks
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The program store.
    pub fn programs(&self) -> &ProgramStore {
        &self.inner.programs
    }

    /// The publish slots, one taken by each publish from reading its body until it ends.
    pub fn publish_slots(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.inner.publish_slots
    }

    /// The module host.
    pub fn host(&self) -> &HostRuntime {
        &self.inner.host
    }

    /// The running databases.
    pub fn databases(&self) -> &Databases {
        &self.inner.databases
    }

    /// The open WebSocket sessions.
    pub fn ws_sessions(&self) -> &Sessions {
        &self.inner.ws_sessions
    }

    /// This node's cluster membership; `None` for a standalone server.
    pub fn cluster(&self) -> Option<&Arc<crate::cluster::ClusterNode>> {
        self.inner.cluster.get()
    }

    /// Makes this server a cluster node (once, at start, before any database runs).
    pub fn set_cluster(&self, node: Arc<crate::cluster::ClusterNode>) {
        if self.inner.cluster.set(node).is_err() {
            log::error!("the server joined a cluster twice; keeping the first membership");
        }
    }

    /// Takes the lock that serializes changes to the set of databases.
    pub async fn control_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.control.lock().await
    }

    /// The database a `:name_or_identity` path segment names, if it exists.
    pub fn find(&self, name_or_identity: &str) -> Option<DatabaseRecord> {
        let identity = match NameOrIdentity::parse(name_or_identity) {
            NameOrIdentity::Identity(id) => id,
            NameOrIdentity::Name(name) => self.registry().resolve_name(&name)?,
        };
        self.registry().get(identity)
    }

    /// Like [`find`](Self::find), but a missing database is an error (a 404).
    pub fn lookup(&self, name_or_identity: &str) -> Result<DatabaseRecord, LookupError> {
        self.find(name_or_identity)
            .ok_or_else(|| LookupError::NoSuchDatabase(name_or_identity.to_owned()))
    }

    /// The running database of `record`; if it is not running, the error says why
    /// (what made it fail to start, when that is known). In cluster mode a database
    /// counts as running here only while this node leads it under a valid lease, or
    /// on a reader (see [`serving`](Self::serving)).
    pub fn running(&self, record: &DatabaseRecord) -> Result<Arc<Database>, LookupError> {
        self.serving(record).map(|serving| serving.database)
    }

    /// The running database of `record`, with what let this node answer for it: in
    /// cluster mode the lease it leads under (or its reader role), which a request
    /// that answers with what the database holds asks again once the answer exists
    /// ([`Serving::still_valid`]); a database this node does not lead under a valid
    /// lease (a standby's copy, or one between leaders) is not running here.
    pub fn serving(&self, record: &DatabaseRecord) -> Result<Serving, LookupError> {
        let identity = record.database_identity;
        // Taken before the database: a lease held now belongs to the leadership the
        // database found next runs under, or to an older one that then fails the check.
        let admission = match self.cluster().map(|node| node.admit(identity)).transpose() {
            Ok(admission) => admission,
            Err(why) => {
                // A copy that cannot run here (parked after diverging, or failed to
                // start) says why: that, not "not the leader", is what to act on.
                let failure = match self.databases().get(identity) {
                    Some(_) => None,
                    None => self.databases().failure(identity),
                };
                return Err(LookupError::NotRunning {
                    identity,
                    why: Some(failure.unwrap_or_else(|| why.into())),
                });
            }
        };
        let database = self.databases().get(identity).ok_or_else(|| LookupError::NotRunning {
            identity,
            why: self.databases().failure(identity),
        })?;
        Ok(Serving { database, admission })
    }

    /// The module logs of replica `replica_id`: in its directory, or in memory.
    pub fn open_logs(&self, replica_id: u64) -> Arc<ModuleLogs> {
        Arc::new(if self.config().in_memory {
            ModuleLogs::in_memory()
        } else {
            ModuleLogs::open(&self.config().replica_dir(replica_id).join("module_logs"))
        })
    }
}

/// A running database and what let this node answer for it (see [`AppState::serving`]).
pub struct Serving {
    /// The database.
    pub database: Arc<Database>,
    /// In cluster mode, the lease (or the reader role) it was admitted under.
    pub admission: Option<crate::cluster::Admission>,
}

impl Serving {
    /// Whether an answer produced now from the database may still be given: in
    /// cluster mode, the lease it was admitted under must still be valid.
    ///
    /// # Errors
    /// [`LookupError::NotRunning`] saying why not (a 503).
    pub fn still_valid(&self) -> Result<(), LookupError> {
        let identity = self.database.identity;
        match self.admission.as_ref().map(|a| a.still_valid(identity)) {
            Some(Err(why)) => Err(LookupError::NotRunning {
                identity,
                why: Some(why.into()),
            }),
            _ => Ok(()),
        }
    }

    /// The value of the `spacetime-served-by` header for an answer, in cluster mode.
    pub fn served_by(&self) -> Option<String> {
        self.admission.as_ref().map(crate::cluster::Admission::served_by)
    }
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// Why a request's database could not be found.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No database has this name or identity.
    #[error("No such database: `{0}`; check the name or identity (`spacetime list` shows yours)")]
    NoSuchDatabase(String),
    /// The registry names it but it is not running: it failed to start (`why` says
    /// how), or it is being started or replaced right now.
    #[error(
        "database {identity} is not running: {}",
        why.as_deref().unwrap_or("it is being started or replaced; retry shortly")
    )]
    NotRunning {
        /// The database.
        identity: spacetime_sats::Identity,
        /// Why it failed to start, with what to do about it.
        why: Option<Arc<str>>,
    },
}

/// The lock file next to the registry; an unreadable one is logged and treated as empty
/// (a lock protects against mistakes, so losing one must not keep the server down).
fn open_locks(config: &ServerConfig) -> crate::locks::Locks {
    if config.in_memory {
        return crate::locks::Locks::in_memory();
    }
    let path = config.data_dir.join("control-db").join("locks.json");
    crate::locks::Locks::open(&path).unwrap_or_else(|e| {
        log::error!("{e}; starting with no database locked");
        crate::locks::Locks::in_memory()
    })
}
