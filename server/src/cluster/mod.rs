//! Cluster mode (issue 17; design `design-replication.md`): each database's commit log
//! is replicated through etcd (`spacetime-replication`). One node leads a database
//! (its commit log writer appends every batch to etcd, fenced by its epoch, and
//! results are confirmed only once etcd has them); the other nodes are its standbys:
//! they follow the replicated log into their own commit log and, when the leader's
//! lease expires, one of them wins the election, catches up and serves.
//!
//! - [`ClusterNode`] is this node's membership: the etcd connection, its id and
//!   address, and the leaderships it holds.
//! - `catalog.rs`: the databases the cluster holds (entry + program), so a node that
//!   never saw a publish can become a standby of it.
//! - `replica.rs`: one thread per database that follows, campaigns, takes over and
//!   steps down (the database's replica life cycle).
//! - `peer.rs`: transfer between nodes (snapshots, segments, programs; the peer
//!   secret), served by `routes/peer.rs`; `bootstrap.rs` starts a replica from a
//!   peer's files when etcd no longer holds the log it lacks.
//! - `handover.rs`: a planned handover of a database to one of its standbys;
//!   `resync.rs`: rebuilding a parked (diverged) replica from a peer.
//! - `lease.rs`: lease reads: which requests this node may answer for a database
//!   (its leader under a valid lease, or a reader), and whether an answer still may be given.
//! - `placement.rs`: this node's registration, and which nodes hold each database;
//!   `controller.rs`: the elected placement controller, which re-places a database
//!   whose node is gone for good.
//! - `redirect.rs`, `forward.rs`, `reads.rs`: the edge of a follower: requests only
//!   the leader can answer are redirected (a standby) or forwarded to it (a reader,
//!   whose caller's answer waits until the reader has applied the write); a reader
//!   answers reads from its own copy within a lag bound.
//!
//! Without `--cluster` none of this runs and the server is exactly standalone.

mod bootstrap;
mod catalog;
mod controller;
mod divergence;
pub mod forward;
pub mod forward_ws;
mod handover;
pub mod hosted;
mod lease;
mod maintenance;
pub mod peer;
mod placement;
pub mod reads;
mod redirect;
mod relay;
mod replica;
mod resync;

use crate::config::{ClusterConfig, ServerConfig};
use crate::registry::DatabaseRecord;
use crate::state::AppState;
use spacetime_engine::storage::StorageConfig;
use spacetime_replication::{
    Campaign, Cluster, ClusterOptions, DbKeys, EtcdLog, LeaderInfo, Leadership, LeaseCheck, ReplicaRole,
    ReplicationError,
};
use spacetime_sats::Identity;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

pub use catalog::CatalogEntry;
pub use divergence::{Divergence, ReplicaChecksum};
pub use handover::{HandoverError, HandoverReport};
pub use lease::{Admission, SERVED_BY_HEADER};
pub use placement::DEFAULT_REPLICAS;
pub use redirect::redirect_to_leader;
pub use resync::{ResyncError, ResyncReport};

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// etcd refused or did not answer.
    #[error(transparent)]
    Replication(#[from] ReplicationError),
    /// Another node leads a database this node was to lead.
    #[error("database {identity} already has a leader in the cluster: {leader}")]
    Contended {
        /// The database.
        identity: Identity,
        /// Who leads it.
        leader: String,
    },
    /// Cluster mode with `--in-memory`: there is no local log to replicate.
    #[error(
        "cluster mode needs a data directory: databases kept in memory (--in-memory) have no commit log to \
         replicate; drop --in-memory or --cluster"
    )]
    InMemory,
    /// A local step of following or taking over failed.
    #[error("{0}")]
    Local(String),
    /// A reader node was asked to lead a database (a publish sent to it).
    #[error(
        "this node ({0}) is a reader (--cluster-role reader): it never leads a database; publish on a standby node"
    )]
    Reader(String),
    /// This replica's copy of the database differs from the leader's (its rolling
    /// checksum does not match the one published with the head).
    #[error("{0}")]
    Diverged(Box<Divergence>),
    /// An operator ordered this replica rebuilt from a peer (`resync.rs`): the
    /// replica thread stops following to carry it out.
    #[error("a resync of this replica from a peer was ordered")]
    Resync,
}

/// This node's membership of a cluster.
pub struct ClusterNode {
    cluster: Cluster,
    config: ClusterConfig,
    /// The leaderships this node holds, by database: dropping one stops renewing
    /// its lease, so it is kept here as long as the node serves the database.
    leading: Mutex<HashMap<Identity, Leadership>>,
    /// The databases a replica thread runs for.
    replicas: Mutex<HashSet<Identity>>,
    /// The lease of each database this node leads, checked before a request is let in.
    leases: Mutex<HashMap<Identity, LeaseCheck>>,
    /// The leader of each database this node follows as a standby, where requests
    /// for it are redirected.
    following: Mutex<HashMap<Identity, LeaderInfo>>,
    /// The rolling checksum of each database this node follows, checked against the
    /// leader's (`divergence.rs`).
    checksums: divergence::ReplicaChecksums,
    /// Where to send a planned handover of each database this node leads (its
    /// replica thread listens).
    handovers: Mutex<HashMap<Identity, std::sync::mpsc::Sender<handover::Order>>>,
    /// This node's registration lease (`nodes/<node>`), renewed in the background.
    registration: Mutex<Option<spacetime_replication::NodeLease>>,
    /// Databases placed on other nodes only, which this node redirects to their leader.
    remote: Mutex<HashMap<Identity, placement::Remote>>,
    /// The HTTP client of requests a reader forwards to a leader.
    http: reqwest::Client,
    /// A reader's lag behind each database it follows.
    lags: reads::Lags,
    /// Resync orders for replica threads, and which replicas are parked.
    resyncs: resync::Orders,
    /// The cluster's peer secret (see `peer.rs`): other nodes present it to this
    /// node's peer endpoints, and this node to theirs.
    peer_secret: String,
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ClusterNode {
    /// Connects to the cluster `server.cluster` names (blocking; call it off the async
    /// runtime's workers).
    ///
    /// # Errors
    /// [`ClusterError::InMemory`]; etcd unreachable.
    pub fn connect(server: &ServerConfig, config: &ClusterConfig) -> Result<Self, ClusterError> {
        if server.in_memory {
            return Err(ClusterError::InMemory);
        }
        let cluster = Cluster::connect(&config.endpoints, ClusterOptions::default())?;
        let peer_secret = peer::join(&cluster)?;
        log::info!(
            "cluster mode: node {} at {} joined the etcd cluster {}",
            config.node_id,
            config.advertise_addr,
            config.endpoints.join(",")
        );
        let node = Self {
            cluster,
            config: config.clone(),
            leading: Mutex::default(),
            replicas: Mutex::default(),
            leases: Mutex::default(),
            following: Mutex::default(),
            checksums: divergence::ReplicaChecksums::default(),
            handovers: Mutex::default(),
            registration: Mutex::default(),
            remote: Mutex::default(),
            http: forward::client(),
            lags: reads::Lags::default(),
            resyncs: resync::Orders::default(),
            peer_secret,
        };
        // Registered before the server listens, so a publish anywhere can place a
        // database here from the start (the registration thread keeps it current).
        if let Err(e) = placement::register(&node, 0) {
            log::warn!(
                "cluster mode: cannot register node {}: {e}; retrying",
                node.config.node_id
            );
        }
        Ok(node)
    }

    /// Whether `given` (a request's bearer token) is the cluster's peer secret.
    pub fn is_peer(&self, given: &str) -> bool {
        peer::secret_matches(&self.peer_secret, given)
    }

    /// This node's cluster settings.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Whether this node is a reader: it follows every database and never campaigns.
    pub fn is_reader(&self) -> bool {
        self.config.role == crate::config::ClusterRole::Reader
    }

    /// The role this node's progress reports carry: a reader's hold no trimming back.
    fn replica_role(&self) -> ReplicaRole {
        if self.is_reader() {
            ReplicaRole::Reader
        } else {
            ReplicaRole::Standby
        }
    }

    /// How far this reader's copy of database `identity` lags behind the cluster, as
    /// last measured (`None` before the first measurement, or on a standby).
    pub fn lag(&self, identity: Identity) -> Option<reads::Lag> {
        self.lags.get(identity)
    }

    /// The etcd keys of database `identity`.
    fn keys(&self, identity: Identity) -> DbKeys {
        self.cluster.db(identity.to_hex().as_ref())
    }

    /// Campaigns for a database about to be created here and, having won, makes
    /// `storage` its leader's: the commit log appends to etcd from the first record.
    /// The leadership is held until [`Self::serve`] takes it over.
    ///
    /// # Errors
    /// etcd errors; [`ClusterError::Contended`] if another node leads it (a new,
    /// random identity makes that a bug).
    pub fn lead_new(&self, identity: Identity, storage: StorageConfig) -> Result<StorageConfig, ClusterError> {
        if self.is_reader() {
            return Err(ClusterError::Reader(self.config.node_id.clone()));
        }
        let keys = self.keys(identity);
        let leadership = match self.campaign(&keys)? {
            Campaign::Won(leadership) => leadership,
            Campaign::Lost(leader) => {
                return Err(ClusterError::Contended {
                    identity,
                    leader: leader.map_or_else(|| "unknown".into(), |l| format!("node {} at {}", l.node, l.addr)),
                })
            }
        };
        let log = EtcdLog::open(self.cluster.clone(), keys, leadership.epoch())?;
        let storage = storage.with_replication(leadership.epoch(), Box::new(log));
        self.hold_lease(identity, Some(&leadership));
        self.lock_leading().insert(identity, leadership);
        Ok(storage)
    }

    /// Where database `identity` lives in the cluster, for `GET /v1/database/:db`
    /// (blocking): this node, the leader, and every replica with how far it has
    /// persisted the log.
    ///
    /// # Errors
    /// etcd errors.
    pub fn placement(&self, identity: Identity) -> Result<serde_json::Value, ClusterError> {
        let keys = self.keys(identity);
        let leader = self.cluster.leader(&keys)?;
        let replicas = self.cluster.replicas(&keys)?;
        let placed = self.cluster.placement(&keys)?;
        let live = self.cluster.nodes()?;
        let nodes = placement::roles(&live, placed.as_ref(), leader.as_ref(), &replicas);
        let short = placed.as_ref().map(|p| controller::shortfall(p, &live));
        Ok(serde_json::json!({
            "node": self.config.node_id,
            "leader": leader,
            "epoch": self.cluster.epoch(&keys)?,
            "head": self.cluster.head(&keys)?,
            "replicas": replicas
                .into_iter()
                .map(|(node, persisted)| serde_json::json!({ "node": node, "persisted": persisted }))
                .collect::<Vec<_>>(),
            "placement": placed,
            "nodes": nodes,
            "controller": self.cluster.controller()?.map(|c| c.info.node),
            "under_replicated": short.filter(|s| *s > 0).map(|s| serde_json::json!({ "missing": s })),
            "reader": self.lag(identity).map(|lag| lag.to_json()),
        }))
    }

    /// Before database `identity` is deleted here (blocking): removes it from the
    /// catalog first, so that when this node then resigns, no standby campaigns for it
    /// (each checks the catalog before campaigning) and each deletes its own copy.
    ///
    /// # Errors
    /// etcd errors: the database is then not deleted anywhere.
    pub fn deleting(&self, identity: Identity) -> Result<(), ClusterError> {
        Ok(self.cluster.remove_catalog_entry(identity.to_hex().as_ref())?)
    }

    /// Gives up a leadership taken by [`Self::lead_new`] for a database that was not
    /// created after all.
    pub fn abandon(&self, identity: Identity) {
        self.hold_lease(identity, None);
        if let Some(leadership) = self.lock_leading().remove(&identity) {
            if let Err(e) = leadership.resign() {
                log::warn!("database {identity}: cannot resign its leadership: {e}");
            }
        }
    }

    /// The rolling checksum of database `identity` as this node's replica computed it
    /// from the log it followed, and whether it matched the leader's; `None` if this
    /// node does not follow it.
    pub fn replica_checksum(&self, identity: Identity) -> Option<ReplicaChecksum> {
        self.checksums.get(identity)
    }

    /// The leader of database `identity` if this node follows it as a standby.
    pub fn following(&self, identity: Identity) -> Option<LeaderInfo> {
        self.lock_following().get(&identity).cloned()
    }

    /// Records (or, with `None`, forgets) whom this node follows for `identity`.
    fn follow_leader(&self, identity: Identity, leader: Option<LeaderInfo>) {
        let mut following = self.lock_following();
        match leader {
            Some(leader) => following.insert(identity, leader),
            None => following.remove(&identity),
        };
    }

    fn lock_following(&self) -> std::sync::MutexGuard<'_, HashMap<Identity, LeaderInfo>> {
        self.following.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records (or, with `None`, forgets) the lease of a database this node leads.
    fn hold_lease(&self, identity: Identity, leadership: Option<&Leadership>) {
        let mut leases = self.lock_leases();
        match leadership {
            Some(leadership) => leases.insert(identity, leadership.lease_check()),
            None => leases.remove(&identity),
        };
    }

    fn lock_leases(&self) -> std::sync::MutexGuard<'_, HashMap<Identity, LeaseCheck>> {
        self.leases.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn campaign(&self, keys: &DbKeys) -> Result<Campaign, ReplicationError> {
        self.cluster.campaign(
            keys,
            &self.config.node_id,
            &self.config.advertise_addr,
            self.config.lease_ttl,
        )
    }

    fn lock_handovers(&self) -> std::sync::MutexGuard<'_, HashMap<Identity, std::sync::mpsc::Sender<handover::Order>>> {
        self.handovers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_leading(&self) -> std::sync::MutexGuard<'_, HashMap<Identity, Leadership>> {
        self.leading.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts this node's part: a replica thread for every database the registry
    /// holds (each follows, or leads if it holds or wins the leadership), and a thread
    /// that adopts databases other nodes create. Call it once, from the runtime.
    pub fn serve(self: &Arc<Self>, state: &AppState) {
        let runtime = tokio::runtime::Handle::current();
        for record in state.registry().all() {
            self.run_replica(state, &runtime, record.database_identity);
        }
        let (node, registered) = (self.clone(), state.clone());
        let spawned = std::thread::Builder::new()
            .name("cluster-node".into())
            .spawn(move || placement::register_loop(&node, &registered));
        if let Err(e) = spawned {
            log::error!("cluster mode: cannot start the registration thread: {e}; new databases are not placed here");
        }
        if !self.is_reader() {
            // Every node that may lead may control placement; one is elected.
            let node = self.clone();
            let spawned = std::thread::Builder::new()
                .name("cluster-controller".into())
                .spawn(move || controller::run(&node));
            if let Err(e) = spawned {
                log::error!("cluster mode: cannot start the placement controller thread: {e}");
            }
            // The controller's node also defragments etcd's files now and then.
            let node = self.clone();
            let spawned = std::thread::Builder::new()
                .name("cluster-etcd-maintenance".into())
                .spawn(move || maintenance::defrag_loop(&node));
            if let Err(e) = spawned {
                log::error!(
                    "cluster mode: cannot start the etcd maintenance thread: {e}; etcd's files are not defragmented"
                );
            }
        }
        if self.is_reader() {
            let (node, measured) = (self.clone(), state.clone());
            let spawned = std::thread::Builder::new()
                .name("cluster-lag".into())
                .spawn(move || reads::lag_loop(&node, &measured));
            if let Err(e) = spawned {
                log::error!(
                    "cluster mode: cannot start the lag thread: {e}; this reader sends every read to the leader"
                );
            }
        }
        if !self.is_reader() {
            let (node, state, runtime) = (self.clone(), state.clone(), runtime.clone());
            let spawned = std::thread::Builder::new()
                .name("cluster-hosted".into())
                .spawn(move || hosted::sweep_loop(&node, &state, &runtime));
            if let Err(e) = spawned {
                log::error!(
                    "cluster mode: cannot start the hosted-clients thread: {e}; readers' clients of a dead reader \
                     stay connected here"
                );
            }
        }
        let node = self.clone();
        let state = state.clone();
        let spawned = std::thread::Builder::new()
            .name("cluster-catalog".into())
            .spawn(move || catalog::adopt_loop(&node, &state, &runtime));
        if let Err(e) = spawned {
            log::error!(
                "cluster mode: cannot start the catalog thread: {e}; databases created on other nodes are not followed"
            );
        }
    }

    /// Starts the replica thread of database `identity` unless it runs already.
    fn run_replica(self: &Arc<Self>, state: &AppState, runtime: &tokio::runtime::Handle, identity: Identity) {
        if !self.replicas.lock().unwrap_or_else(|e| e.into_inner()).insert(identity) {
            return;
        }
        let (node, state, runtime) = (self.clone(), state.clone(), runtime.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("replica-{}", &identity.to_hex().to_string()[..8]))
            .spawn(move || replica::run(&node, &state, &runtime, identity));
        if let Err(e) = spawned {
            log::error!("database {identity}: cannot start its replica thread: {e}");
            state_failed(&self.replicas, identity);
        }
    }

    /// After a database was created here (see [`Self::lead_new`]; blocking): places
    /// it on this node and `replicas - 1` others ([`DEFAULT_REPLICAS`] if `None`),
    /// records it in the cluster's catalog, so the nodes placed become its standbys,
    /// and starts its replica thread, which keeps the leadership.
    pub fn created(self: &Arc<Self>, state: &AppState, record: &DatabaseRecord, replicas: Option<u32>) {
        let identity = record.database_identity;
        if let Err(e) = self.place(identity, replicas.unwrap_or(DEFAULT_REPLICAS)) {
            log::error!("database {identity}: cannot place it: {e}; every node of the cluster will follow it");
        }
        if let Err(e) = self.publish_entry(state, record) {
            log::error!(
                "database {}: cannot record it in the cluster catalog: {e}; other nodes will not follow it",
                record.database_identity
            );
        }
        self.run_replica(state, &tokio::runtime::Handle::current(), record.database_identity);
    }

    /// After a module update or a rename of a database this node leads (blocking):
    /// records its program and names in the catalog, where its standbys take them.
    pub fn updated(&self, state: &AppState, record: &DatabaseRecord) {
        if let Err(e) = self.publish_entry(state, record) {
            log::error!(
                "database {}: cannot record its new program or names in the cluster catalog: {e}; a standby that \
                 takes over before they are recorded has the old ones",
                record.database_identity
            );
        }
    }

    fn publish_entry(&self, state: &AppState, record: &DatabaseRecord) -> Result<(), String> {
        let entry = CatalogEntry::new(record, state.registry().names_of(record.database_identity));
        let program = state
            .programs()
            .get(&record.program_hash)
            .map_err(|e| format!("cannot read its program: {e}"))?;
        catalog::publish(&self.cluster, &entry, &program).map_err(|e| e.to_string())
    }
}

/// After a database's names changed here: in cluster mode, records them in the
/// catalog so its other nodes resolve the same names (a no-op when standalone).
pub async fn names_changed(state: &AppState, record: &DatabaseRecord) {
    if let Some(node) = state.cluster().cloned() {
        let (state, record) = (state.clone(), record.clone());
        if let Err(e) = tokio::task::spawn_blocking(move || node.updated(&state, &record)).await {
            log::error!("cluster catalog task failed: {e}");
        }
    }
}

fn state_failed(replicas: &Mutex<HashSet<Identity>>, identity: Identity) {
    replicas.lock().unwrap_or_else(|e| e.into_inner()).remove(&identity);
}
