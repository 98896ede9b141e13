//! The "host field" of connections that a node other than the leader holds (design
//! §6 step 5 and §8): a reader's WebSocket clients run `client_connected` and
//! `client_disconnected` on the leader (`forward_ws.rs`), which logs each such
//! connection with the node hosting it (`Database::connect_hosted`).
//!
//! **Where the state lives.** In the replicated log, not re-announced by readers: a
//! "connected elsewhere" record names the host, so every standby holds the same
//! hosted clients, a takeover (promotion in place or a start from the local log) keeps
//! them connected, and the clients of a reader that died while no leader was watching
//! are still known to the next leader. Re-announcing could not give that: a reader
//! that dies during a failover would never re-announce, and its clients would stay
//! online for ever.
//!
//! **A host is** `"<node> <boot>"`: the node id and a random id of this process
//! ([`boot_id`], also in the node's registration `nodes/<node>`). A host is live while
//! `nodes/<node>` exists with the same boot id, so a reader that restarts under the
//! same node id (its old connections died with the process) counts as a new host.
//!
//! **Ending them.** The reader ends a connection itself when its WebSocket closes
//! (`DELETE …/hosted/<connection id>`). When the host dies instead (its registration
//! expires), the leader's [`sweep_loop`] finds the hosted clients whose host is no
//! longer registered and runs their `client_disconnected`. Ending is idempotent in the
//! engine (only a client the log holds as connected is ended, and the log then forgets
//! it), so the reader, the sweep and a new leader never run it twice. A sweep that
//! cannot read the registrations from etcd ends nothing.

use super::ClusterNode;
use crate::state::AppState;
use spacetime_replication::NodeInfo;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How often the leader looks for hosted clients whose host is gone.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The header naming the host of a hosted connection (`"<node> <boot>"`).
pub const HOST_HEADER: &str = "spacetime-host";

/// The header carrying the cluster's peer secret on a request a node makes on behalf
/// of a client (whose own token is the `Authorization`).
pub const PEER_SECRET_HEADER: &str = "spacetime-peer-secret";

/// The header naming the connection a forwarded reducer call runs on.
pub const CONNECTION_ID_HEADER: &str = "spacetime-connection-id";

/// This process's random id, written in its node registration and in the host of
/// every connection it hosts.
pub fn boot_id() -> &'static str {
    static BOOT: OnceLock<String> = OnceLock::new();
    BOOT.get_or_init(|| {
        let mut bytes = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })
}

impl ClusterNode {
    /// The host of the connections this node holds for a leader.
    pub fn host_name(&self) -> String {
        format!("{} {}", self.config.node_id, boot_id())
    }
}

/// Whether `host` (`"<node> <boot>"`) is a live registration among `nodes`. A
/// registration without a boot id (a node of an older build) is taken as live.
pub fn host_alive(host: &str, nodes: &[NodeInfo]) -> bool {
    let (node, boot) = host.split_once(' ').unwrap_or((host, ""));
    nodes
        .iter()
        .any(|n| n.node == node && (n.boot.is_empty() || n.boot == boot))
}

/// Runs on every node that may lead: each [`SWEEP_EVERY`], for every database it
/// leads, ends the hosted clients whose host is no longer registered.
pub(super) fn sweep_loop(node: &Arc<ClusterNode>, state: &AppState, runtime: &tokio::runtime::Handle) {
    loop {
        std::thread::sleep(SWEEP_EVERY);
        runtime.block_on(sweep(node, state));
    }
}

async fn sweep(node: &ClusterNode, state: &AppState) {
    let mut nodes: Option<Vec<NodeInfo>> = None;
    for record in state.registry().all() {
        // Only a database this node leads under a valid lease.
        let Ok(database) = state.running(&record) else {
            continue;
        };
        if database.is_follower() {
            continue;
        }
        let Ok(hosted) = database.hosted_clients().await else {
            continue;
        };
        if hosted.is_empty() {
            continue;
        }
        let live = match &nodes {
            Some(live) => live,
            None => {
                let cluster = node.cluster.clone();
                match tokio::task::spawn_blocking(move || cluster.nodes()).await {
                    Ok(Ok(live)) => nodes.insert(live),
                    Ok(Err(e)) => {
                        log::debug!("cluster mode: cannot list the nodes to end gone hosts' clients: {e}");
                        return;
                    }
                    Err(_) => return,
                }
            }
        };
        for client in hosted.iter().filter(|c| !host_alive(&c.host, live)) {
            match database
                .disconnect_hosted(client.identity, client.connection_id, None)
                .await
            {
                Ok(Ok(true)) => log::info!(
                    "database {}: ran client_disconnected for connection {} of {}: its host ({}) is gone",
                    record.database_identity,
                    client.connection_id.to_hex(),
                    client.identity,
                    client.host
                ),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => log::debug!("database {}: {e}", record.database_identity),
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, boot: &str) -> NodeInfo {
        NodeInfo {
            node: id.into(),
            addr: "127.0.0.1:1".into(),
            mem_free: 0,
            databases: 0,
            role: "reader".into(),
            boot: boot.into(),
        }
    }

    #[test]
    fn a_host_is_live_while_its_process_is_registered() {
        let nodes = [node("n3", "aa"), node("n4", "")];
        assert!(host_alive("n3 aa", &nodes));
        // Restarted under the same node id: its old connections died with it.
        assert!(!host_alive("n3 bb", &nodes));
        assert!(!host_alive("n5 aa", &nodes));
        // A registration of an older build carries no boot id.
        assert!(host_alive("n4 cc", &nodes));
    }

    #[test]
    fn the_boot_id_is_stable_within_a_process() {
        assert_eq!(boot_id(), boot_id());
        assert_eq!(boot_id().len(), 16);
    }
}
