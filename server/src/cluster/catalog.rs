//! The cluster's catalog as the server sees it: a [`CatalogEntry`] per database,
//! written by the node that created it, which other nodes adopt: they store its
//! program, register it locally (with a replica directory of their own) and start
//! following its log.

use super::ClusterNode;
use crate::names::DatabaseName;
use crate::program_store::program_hash;
use crate::registry::DatabaseRecord;
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use spacetime_replication::{Cluster, ReplicationError};
use spacetime_sats::Identity;
use std::sync::Arc;
use std::time::Duration;

/// How often a node looks for databases created elsewhere. Adoption is not on any
/// request's path: a standby needs only to exist before its leader fails.
const ADOPT_EVERY: Duration = Duration::from_secs(1);

/// One database in the cluster's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// The database's identity (hex).
    pub identity: String,
    /// Its owner's identity (hex).
    pub owner: String,
    /// The program it was created with.
    pub program_hash: String,
    /// Its names.
    pub names: Vec<String>,
}

impl CatalogEntry {
    /// The entry of a database with `names`.
    pub fn new(record: &DatabaseRecord, names: Vec<String>) -> Self {
        Self {
            identity: record.database_identity.to_hex().to_string(),
            owner: record.owner_identity.to_hex().to_string(),
            program_hash: record.program_hash.clone(),
            names,
        }
    }
}

/// Writes `entry` and its program to the catalog.
pub(super) fn publish(cluster: &Cluster, entry: &CatalogEntry, program: &[u8]) -> Result<(), ReplicationError> {
    let json = serde_json::to_vec(entry).expect("a catalog entry always serializes");
    cluster.put_catalog_entry(&entry.identity, &json, &entry.program_hash, program)
}

/// Adopts every catalog database this node does not hold yet, every [`ADOPT_EVERY`],
/// for the life of the process.
pub(super) fn adopt_loop(node: &Arc<ClusterNode>, state: &AppState, runtime: &tokio::runtime::Handle) {
    let mut last_error = None;
    loop {
        let result = node.cluster.catalog().map(|entries| {
            for (key, value) in entries {
                if let Err(why) = adopt(node, state, runtime, &value) {
                    log::error!("cluster catalog entry {key}: cannot adopt it: {why}");
                }
            }
        });
        match result {
            Ok(()) => last_error = None,
            Err(e) => {
                let why = e.to_string();
                if last_error.as_ref() != Some(&why) {
                    log::warn!("cluster mode: cannot read the catalog: {why}; retrying");
                }
                last_error = Some(why);
            }
        }
        std::thread::sleep(ADOPT_EVERY);
    }
}

/// The program with content hash `hash`: from this node's program store, else from
/// the catalog (checked against its hash, then stored here).
pub(super) fn fetch_program(node: &ClusterNode, state: &AppState, hash: &str) -> Result<Arc<[u8]>, String> {
    if let Ok(wasm) = state.programs().get(hash) {
        return Ok(wasm);
    }
    let bytes = node
        .cluster
        .program(hash)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("its program {hash} is neither on this node nor in the catalog"))?;
    if program_hash(&bytes) != hash {
        return Err(format!("the catalog's program {hash} does not have that hash"));
    }
    state
        .programs()
        .put(&bytes)
        .map_err(|e| format!("cannot store its program: {e}"))?;
    Ok(bytes.into())
}

/// Registers the database of one catalog entry here, if it is new to this node, and
/// starts its replica thread.
fn adopt(
    node: &Arc<ClusterNode>,
    state: &AppState,
    runtime: &tokio::runtime::Handle,
    value: &[u8],
) -> Result<(), String> {
    let entry: CatalogEntry = serde_json::from_slice(value).map_err(|e| format!("not a catalog entry: {e}"))?;
    let identity: Identity = entry.identity.parse().map_err(|e| format!("its identity: {e}"))?;
    let owner: Identity = entry.owner.parse().map_err(|e| format!("its owner: {e}"))?;
    let names = entry
        .names
        .iter()
        .map(|n| DatabaseName::parse(n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("its names: {e}"))?;
    if state.registry().get(identity).is_some() {
        // Renamed on the leader: the same names here, so they resolve after a failover.
        let mut here = state.registry().names_of(identity);
        let mut there = entry.names.clone();
        here.sort_unstable();
        there.sort_unstable();
        if here != there {
            let _guard = runtime.block_on(state.control_lock());
            state
                .registry()
                .set_names(identity, &names)
                .map_err(|e| e.to_string())?;
        }
        node.run_replica(state, runtime, identity);
        return Ok(());
    }
    fetch_program(node, state, &entry.program_hash)?;
    let replica_id = state.registry().allocate_replica_id().map_err(|e| e.to_string())?;
    let record = DatabaseRecord {
        database_identity: identity,
        owner_identity: owner,
        program_hash: entry.program_hash.clone(),
        replica_id,
    };
    {
        let _guard = runtime.block_on(state.control_lock());
        state
            .registry()
            .insert(record, names.first())
            .map_err(|e| e.to_string())?;
        state
            .registry()
            .set_names(identity, &names)
            .map_err(|e| e.to_string())?;
    }
    log::info!("cluster mode: database {identity} adopted from the catalog as replica {replica_id}");
    node.run_replica(state, runtime, identity);
    Ok(())
}
