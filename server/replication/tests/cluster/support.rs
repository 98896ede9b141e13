//! Helpers: a leader's writer over a local log in a temp dir, and reading the
//! replicated log back.

use crate::etcd::{Connect, EtcdCluster};
use spacetime_commitlog::{commit_ids, Commitlog, CommitlogOptions, Durability, DurabilityOptions};
use spacetime_replication::{Campaign, Cluster, ClusterOptions, DbKeys, EtcdLog, Leadership};
use std::path::Path;
use std::time::Duration;

/// A payload that differs per tx offset.
pub fn payload(tx_offset: u64) -> Vec<u8> {
    format!("tx {tx_offset} ")
        .repeat(1 + (tx_offset % 7) as usize)
        .into_bytes()
}

/// Campaigns as `node` and panics unless it wins.
pub fn elect(cluster: &Cluster, keys: &DbKeys, node: &str) -> Leadership {
    match cluster.campaign(keys, node, &format!("{node}:3000"), Duration::from_secs(5)) {
        Ok(Campaign::Won(leadership)) => leadership,
        other => panic!("{node} did not win: {other:?}"),
    }
}

/// A running cluster where node `n1` leads database `bank`, with a directory for its
/// local log. Fields drop in order, the etcd members last.
pub struct Elected {
    pub leader: Leadership,
    pub cluster: Cluster,
    pub keys: DbKeys,
    pub dir: tempfile::TempDir,
    pub etcd: EtcdCluster,
}

impl Elected {
    pub fn start() -> Self {
        Self::start_with(ClusterOptions::default())
    }

    /// As [`Self::start`], the leader's connection with `options`.
    pub fn start_with(options: ClusterOptions) -> Self {
        let etcd = EtcdCluster::start();
        let cluster = etcd.connect_with(options);
        let keys = cluster.db("bank");
        let leader = elect(&cluster, &keys, "n1");
        let dir = tempfile::tempdir().expect("temp dir");
        Self {
            leader,
            cluster,
            keys,
            dir,
            etcd,
        }
    }

    /// The leader's replicated writer over its local log.
    pub fn writer(&self) -> Durability {
        writer(
            &self.cluster,
            &self.keys,
            self.dir.path(),
            self.leader.epoch(),
            DurabilityOptions::default(),
        )
    }
}

/// A replicated writer over the log in `dir`, under `epoch`.
pub fn writer(cluster: &Cluster, keys: &DbKeys, dir: &Path, epoch: u64, options: DurabilityOptions) -> Durability {
    let (log, _) = Commitlog::open(dir, CommitlogOptions::default()).expect("open the local log");
    let remote = EtcdLog::open(cluster.clone(), keys.clone(), epoch).expect("open the replicated log");
    Durability::start_replicated(log, options.epoch(epoch), Box::new(remote)).expect("start the writer")
}

/// Every batch of the replicated log from tx offset `from`, concatenated.
pub fn replicated_frames(cluster: &Cluster, keys: &DbKeys, from: u64) -> Vec<u8> {
    let mut tail = cluster.tail(keys, from).expect("tail");
    let mut out = Vec::new();
    while let Some(batch) = tail.next(Duration::from_millis(200)).expect("next batch") {
        out.extend_from_slice(&batch.frames);
    }
    out
}

/// The local log's bytes after the segment header (one segment).
pub fn local_frames(dir: &Path) -> Vec<u8> {
    let mut segments: Vec<_> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".stdb.log")))
        .collect();
    segments.sort();
    assert_eq!(segments.len(), 1, "{segments:?}");
    std::fs::read(&segments[0]).expect("read segment")[10..].to_vec()
}

/// `(tx offset, epoch)` of every commit in `frames`.
pub fn offsets_and_epochs(frames: &[u8]) -> Vec<(u64, u64)> {
    commit_ids(frames)
        .expect("frames verify")
        .iter()
        .map(|c| (c.tx_offset, c.epoch))
        .collect()
}
