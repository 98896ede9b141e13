//! The cluster's catalog as the server sees it: a [`CatalogEntry`] per database,
//! written by the node that created it, which other nodes adopt: they store its
//! program, register it locally (with a replica directory of their own) and start
//! following its log.
//!
//! Programs are named by hash: a small one is also stored in etcd with the entry,
//! a larger one (over [`MAX_INLINE_PROGRAM_BYTES`]) only on the nodes, and a node
//! missing it fetches it from a peer (`peer.rs`), checking the hash.

use super::peer::PeerClient;
use super::ClusterNode;
use crate::names::DatabaseName;
use crate::program_store::program_hash;
use crate::registry::DatabaseRecord;
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use spacetime_replication::{Cluster, ReplicationError, MAX_INLINE_PROGRAM_BYTES};
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

/// Writes `entry` and (if small enough) its program to the catalog.
pub(super) fn publish(cluster: &Cluster, entry: &CatalogEntry, program: &[u8]) -> Result<(), ReplicationError> {
    let json = serde_json::to_vec(entry).expect("a catalog entry always serializes");
    let inline = cluster.put_catalog_entry(&entry.identity, &json, &entry.program_hash, program)?;
    if !inline {
        log::info!(
            "database {}: its program {} ({} bytes) is larger than etcd holds ({MAX_INLINE_PROGRAM_BYTES} bytes); \
             other nodes fetch it from a peer by its hash",
            entry.identity,
            entry.program_hash,
            program.len()
        );
    }
    Ok(())
}

/// Adopts every catalog database this node does not hold yet, every [`ADOPT_EVERY`],
/// for the life of the process.
pub(super) fn adopt_loop(node: &Arc<ClusterNode>, state: &AppState, runtime: &tokio::runtime::Handle) {
    let mut last_error = None;
    loop {
        let result = node.cluster.catalog().map(|entries| {
            for (key, value) in &entries {
                if let Err(why) = adopt(node, state, runtime, value) {
                    log::error!("cluster catalog entry {key}: cannot adopt it: {why}");
                }
            }
            // Deleted databases placed elsewhere are forgotten.
            node.retain_remote(|identity| entries.iter().any(|(key, _)| *key == identity.to_hex().as_str()));
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
/// the catalog, else from a peer (checked against its hash, then stored here).
pub(super) fn fetch_program(node: &ClusterNode, state: &AppState, hash: &str) -> Result<Arc<[u8]>, String> {
    if let Ok(wasm) = state.programs().get(hash) {
        return Ok(wasm);
    }
    let bytes = match node.cluster.program(hash).map_err(|e| e.to_string())? {
        Some(bytes) if program_hash(&bytes) == hash => bytes,
        Some(_) => return Err(format!("the catalog's program {hash} does not have that hash")),
        None => program_from_peers(node, hash)?,
    };
    state
        .programs()
        .put(&bytes)
        .map_err(|e| format!("cannot store its program: {e}"))?;
    Ok(bytes.into())
}

/// Program `hash` from the first peer that has it with that hash; a peer that sends
/// other bytes is logged and passed over.
fn program_from_peers(node: &ClusterNode, hash: &str) -> Result<Vec<u8>, String> {
    let client = PeerClient::new(&node.peer_secret).map_err(|e| e.to_string())?;
    let mut tried = Vec::new();
    for live in node.cluster.nodes().map_err(|e| e.to_string())? {
        let (peer, addr) = (live.node, live.addr);
        if peer == node.config.node_id {
            continue;
        }
        match client.program(&addr, hash) {
            Ok(bytes) if program_hash(&bytes) == hash => {
                log::info!(
                    "program {hash}: fetched {} bytes from peer {peer} at {addr}",
                    bytes.len()
                );
                return Ok(bytes);
            }
            Ok(bytes) => {
                let why = format!("sent {} bytes whose hash is {}", bytes.len(), program_hash(&bytes));
                log::warn!("program {hash}: refused the copy from peer {peer} at {addr}: {why}; trying the next peer");
                tried.push(format!("{peer} ({why})"));
            }
            Err(e) => tried.push(format!("{peer} ({e})")),
        }
    }
    Err(format!(
        "its program {hash} is neither on this node nor in the catalog, and no peer sent it (tried: {})",
        if tried.is_empty() {
            "none registered".to_owned()
        } else {
            tried.join("; ")
        }
    ))
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
    if !node.placed_here(identity).map_err(|e| e.to_string())? {
        // Placed on other nodes: no copy here, but its requests are redirected.
        let leader = node.cluster.leader(&node.keys(identity)).map_err(|e| e.to_string())?;
        node.note_remote(identity, entry.names.clone(), leader);
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
