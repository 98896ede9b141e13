//! The rolling checksum travels with the head: a leader whose engine attached its
//! checksums writes the value after each batch into `head`, every batch a follower
//! watches hands it on, and heads written without one (older leaders) still read and
//! are continued.

use crate::etcd::{Connect, EtcdCluster};
use crate::support::{elect, payload, writer, Elected};
use spacetime_commitlog::{CommitChecksums, Commitlog, CommitlogOptions, Durability, DurabilityOptions, ReplicatedLog};
use spacetime_replication::{EtcdLog, Head};
use std::sync::Arc;
use std::time::Duration;

/// Stands for the engine's checksum: any value that differs per offset will do, the
/// replicated log treats it as opaque.
struct Fake;

fn fake(offset: u64) -> u128 {
    (u128::from(offset) << 64) | 0xc0ffee
}

impl CommitChecksums for Fake {
    fn checksum_at(&self, tx_offset: u64) -> Option<u128> {
        Some(fake(tx_offset))
    }
}

fn checksummed_writer(elected: &Elected) -> Durability {
    let (log, _) = Commitlog::open(elected.dir.path(), CommitlogOptions::default()).expect("open the local log");
    let mut remote = EtcdLog::open(elected.cluster.clone(), elected.keys.clone(), elected.leader.epoch())
        .expect("open the replicated log");
    remote.attach_checksums(Arc::new(Fake));
    Durability::start_replicated(
        log,
        DurabilityOptions::default().epoch(elected.leader.epoch()),
        Box::new(remote),
    )
    .expect("start the writer")
}

#[test]
fn the_head_carries_the_checksum_and_every_watched_batch_hands_it_on() {
    let elected = Elected::start();
    let (cluster, keys) = (&elected.cluster, &elected.keys);
    // Following from before the first batch: every batch arrives through the watch.
    let mut tail = cluster.tail(keys, 0).expect("tail");
    let durability = checksummed_writer(&elected);
    for o in 0..30 {
        durability.append_tx(payload(o)).expect("append");
        if o % 4 == 0 {
            // Some batches of one commit, some of several.
            durability.wait_durable(o, None).expect("durable");
        }
    }
    durability.wait_durable(29, None).expect("all committed");
    assert_eq!(
        cluster.head_value(keys).expect("head"),
        Some(Head {
            offset: 29,
            checksum: Some(fake(29))
        })
    );
    let mut seen = 0;
    while seen < 30 {
        let batch = tail.next(Duration::from_secs(5)).expect("next").expect("a batch");
        assert_eq!(
            batch.checksum,
            Some(fake(batch.last)),
            "batch {}..={}",
            batch.first,
            batch.last
        );
        seen = batch.last + 1;
    }
    // A tail started now reads the batches at once: the one the head ends has the
    // head's checksum.
    let mut late = cluster.tail(keys, 0).expect("tail");
    let mut last = None;
    while let Some(batch) = late.next(Duration::from_millis(300)).expect("next") {
        last = Some(batch);
    }
    let last = last.expect("batches");
    assert_eq!((last.last, last.checksum), (29, Some(fake(29))));
    durability.close().expect("close");
}

#[test]
fn a_head_without_a_checksum_reads_and_is_continued() {
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    let keys = cluster.db("bank");
    let dir = tempfile::tempdir().expect("temp dir");
    // A leader whose engine attached nothing writes plain heads, as before checksums.
    let a = elect(&cluster, &keys, "a");
    let plain = writer(&cluster, &keys, dir.path(), a.epoch(), DurabilityOptions::default());
    for o in 0..5 {
        plain.append_tx(payload(o)).expect("append");
    }
    plain.wait_durable(4, None).expect("committed");
    plain.close().expect("close");
    assert_eq!(
        cluster.head_value(&keys).expect("head"),
        Some(Head {
            offset: 4,
            checksum: None
        })
    );
    a.resign().expect("resign");
    // The next leader publishes checksums, continuing from the plain head.
    let b = elect(&cluster, &keys, "b");
    let elected = Elected {
        leader: b,
        cluster: cluster.clone(),
        keys: keys.clone(),
        dir,
        etcd,
    };
    let durability = checksummed_writer(&elected);
    for o in 5..8 {
        assert_eq!(durability.append_tx(payload(o)).expect("append"), o);
    }
    durability
        .wait_durable(7, None)
        .expect("committed after the plain head");
    durability.close().expect("close");
    assert_eq!(cluster.head(&keys).expect("head"), Some(7));
    assert_eq!(
        cluster.head_value(&keys).expect("head").and_then(|h| h.checksum),
        Some(fake(7))
    );
}
