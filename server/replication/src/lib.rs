//! A database's commit log replicated through etcd (design: `design-replication.md`).
//!
//! # Brief overview
//! - [`Cluster`] is a node's connection to the etcd cluster; [`DbKeys`] the key
//!   layout of one database under the cluster's prefix.
//! - [`EtcdLog`] is the [`ReplicatedLog`](spacetime_commitlog::ReplicatedLog) a
//!   leader's group-commit writer appends to
//!   ([`Durability::start_replicated`](spacetime_commitlog::Durability::start_replicated)):
//!   each batch in one fenced `Txn` (epoch and head compared, batch and head put),
//!   unknown outcomes resolved by reading the batch's key and the head.
//! - [`Cluster::campaign`] elects a leader and increments the epoch in one `Txn`;
//!   [`Leadership`] keeps the lease alive, says whether it is valid for confirmed
//!   reads, and steps down.
//! - [`Cluster::tail`] follows the log from a tx offset (read, then watch);
//!   [`Cluster::report_persisted`] and [`EtcdLog::trim`] keep etcd small (readers
//!   and standbys past [`STANDBY_LAG_BOUND`] hold no trimming back).
//! - [`Cluster::defragment_bloated`] defragments, one member at a time, the etcd
//!   files much larger than their data ([`DefragPolicy`]).
//! - [`Cluster::rejoin`] cuts a deposed leader's uncommitted local tail before it
//!   follows again.
//! - [`Cluster::put_catalog_entry`] / [`Cluster::catalog`] / [`Cluster::program`]:
//!   the databases the cluster holds and their programs (small ones inline, larger
//!   ones by hash only), for nodes that join.
//! - [`Cluster::register_peer`] / [`Cluster::peers`] / [`Cluster::peer_secret`]:
//!   where each node serves its peer endpoints, and the secret they authenticate
//!   with (snapshot, segment and program transfer between nodes).
//! - [`Cluster::announce_handover`]: a planned handover names the next leader;
//!   [`Cluster::register_node`] / [`Cluster::nodes`] / [`Cluster::put_placement`]:
//!   live nodes and where each database is placed ([`choose_nodes`]);
//!   [`Cluster::campaign_controller`] elects the placement controller, whose
//!   [`Cluster::replace_placement`] is fenced by its key's lease ([`replan`]).
//!
//! **Architecture invariant:** knows the commit log's batches only as framed bytes
//! (checked with [`spacetime_commitlog::commit_ids`]); knows nothing of the engine.
//! Every call blocks on the crate's own small runtime, so callers are plain threads.

#![deny(missing_docs)]

mod append;
mod catalog;
mod cluster;
mod controller;
mod defrag;
mod election;
mod error;
mod handover;
mod keys;
mod peers;
mod placement;
mod rejoin;
mod tail;
mod trim;

pub use append::{EtcdLog, MAX_APPEND_BYTES};
pub use catalog::MAX_INLINE_PROGRAM_BYTES;
pub use cluster::{Cluster, ClusterOptions};
pub use controller::{ControllerHeld, ControllerInfo};
pub use defrag::{DefragPolicy, Defragmented, MemberStore};
pub use election::{Campaign, LeaderInfo, Leadership, LeaseCheck};
pub use error::{ReplicationError, Result};
pub use handover::HandoverInfo;
pub use keys::{DbKeys, Head, ReplicaProgress, ReplicaRole};
pub use placement::{choose_nodes, replan, NodeInfo, NodeLease, Placement, Replan};
pub use rejoin::CommittedLog;
pub use tail::{LogTail, TailBatch};
pub use trim::STANDBY_LAG_BOUND;
