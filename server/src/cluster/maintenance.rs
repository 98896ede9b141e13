//! etcd's housekeeping (design §7): now and then, the node holding the placement
//! controller key defragments the etcd members whose file has grown much larger than
//! the data in it (`spacetime_replication::Cluster::defragment_bloated`: one member at
//! a time, only while every member answers, only past `DefragPolicy`'s size and
//! ratio). Trimming and etcd's auto-compaction free pages inside the file; only a
//! defragmentation gives the space back, and it blocks the member meanwhile, so one
//! node does it, rarely. A thread of its own, so a long defragmentation never delays
//! the controller's placement ticks.

use super::ClusterNode;
use spacetime_replication::DefragPolicy;
use std::sync::Arc;
use std::time::Duration;

/// How often the controller's node looks at the members' files.
const CHECK_EVERY: Duration = Duration::from_secs(30);

/// Runs for the life of the process: every [`CHECK_EVERY`], if this node holds the
/// controller key, defragments the bloated members.
pub(super) fn defrag_loop(node: &Arc<ClusterNode>) {
    let policy = DefragPolicy::default();
    let mut last_error: Option<String> = None;
    loop {
        // A periodic chore: nothing to wait for but the time.
        std::thread::sleep(CHECK_EVERY);
        let controls = match node.cluster.controller() {
            Ok(held) => held.is_some_and(|held| held.info.node == node.config.node_id),
            Err(_) => false,
        };
        if !controls {
            continue;
        }
        match node.cluster.defragment_bloated(&policy) {
            Ok(_) => last_error = None,
            Err(e) => {
                let why = e.to_string();
                if last_error.as_ref() != Some(&why) {
                    log::warn!("etcd defragmentation skipped this time: {why}");
                }
                last_error = Some(why);
            }
        }
    }
}
