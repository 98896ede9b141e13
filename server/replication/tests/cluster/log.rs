//! Appending through the commit log's writer, fencing, unknown outcomes, the tail
//! watch and trimming.

use crate::etcd::{Connect, EtcdCluster};
use crate::support::{elect, local_frames, offsets_and_epochs, payload, replicated_frames, writer, Elected};
use spacetime_commitlog::{
    commit_ids, AppendOutcome, Batch, Commitlog, CommitlogOptions, Damage, DurabilityError, DurabilityOptions,
    ReplicatedLog,
};
use spacetime_replication::{ClusterOptions, EtcdLog, ReplicaProgress, ReplicaRole, ReplicationError};
use std::time::{Duration, Instant};

#[test]
fn batches_are_committed_through_the_writer() {
    let Elected {
        etcd: _etcd,
        cluster,
        keys,
        dir,
        leader,
    } = Elected::start();
    let durability = std::sync::Arc::new(writer(
        &cluster,
        &keys,
        dir.path(),
        leader.epoch(),
        DurabilityOptions::default(),
    ));
    // Two producers, so batches of several transactions form.
    let producers: Vec<_> = (0..2)
        .map(|_| {
            let d = durability.clone();
            std::thread::spawn(move || {
                for _ in 0..40 {
                    let o = d.next_tx_offset();
                    d.append_tx(payload(o)).expect("append");
                }
            })
        })
        .collect();
    producers.into_iter().for_each(|p| p.join().unwrap());
    durability.wait_durable(79, None).expect("all 80 committed");
    assert_eq!(cluster.head(&keys).unwrap(), Some(79));
    let stats = durability.stats();
    let durability = std::sync::Arc::into_inner(durability).unwrap();
    durability.close().expect("close");
    // The cluster holds exactly the local log's bytes, every commit at epoch 1.
    let remote = replicated_frames(&cluster, &keys, 0);
    assert_eq!(remote, local_frames(dir.path()));
    let ids = offsets_and_epochs(&remote);
    assert_eq!(ids, (0..80).map(|o| (o, 1)).collect::<Vec<_>>());
    assert_eq!(
        cluster.log_keys(&keys).unwrap().len() as u64,
        stats.syncs,
        "one log key per batch"
    );
}

#[test]
fn an_old_epoch_is_fenced_and_its_tail_cut_when_it_rejoins() {
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    let keys = cluster.db("bank");
    let a_dir = tempfile::tempdir().unwrap();
    let a = elect(&cluster, &keys, "a");
    let a_writer = writer(&cluster, &keys, a_dir.path(), a.epoch(), DurabilityOptions::default());
    for o in 0..10 {
        a_writer.append_tx(payload(o)).unwrap();
    }
    a_writer.wait_durable(9, None).expect("a's first 10 commit");
    // a steps down but its writer goes on (a deposed leader that has not noticed);
    // b is elected, which bumps the epoch before b reads the tail.
    a.resign().expect("resign");
    let b = elect(&cluster, &keys, "b");
    assert_eq!(b.epoch(), 2);
    let fenced = a_writer.append_tx(payload(10)).unwrap();
    let err = a_writer.wait_durable(fenced, None).unwrap_err();
    let DurabilityError::Failed(why) = &err else {
        panic!("{err:?}")
    };
    assert!(why.contains("deposed") && why.contains("epoch 2"), "{why}");
    assert_eq!(a_writer.durable_offset(), Some(9));
    assert_eq!(cluster.head(&keys).unwrap(), Some(9), "the fenced batch is not in etcd");
    assert!(a_writer.close().is_err());

    // b catches up from the cluster (as a standby would) and writes at epoch 2.
    let b_dir = tempfile::tempdir().unwrap();
    {
        let (mut log, _) = Commitlog::open(b_dir.path(), CommitlogOptions::default()).unwrap();
        let mut tail = cluster.tail(&keys, 0).unwrap();
        while let Some(batch) = tail.next(Duration::from_millis(200)).unwrap() {
            let n = commit_ids(&batch.frames).unwrap().len() as u64;
            log.append_encoded(&batch.frames, batch.first, n).unwrap();
        }
        log.sync().unwrap();
    }
    let b_writer = writer(&cluster, &keys, b_dir.path(), b.epoch(), DurabilityOptions::default());
    for o in 10..15 {
        assert_eq!(b_writer.append_tx(payload(o + 100)).unwrap(), o);
    }
    b_writer.wait_durable(14, None).expect("b commits at epoch 2");
    b_writer.close().unwrap();

    // a rejoins: its local tx 10 (epoch 1) was never committed; the cluster's tx 10
    // is b's. It is cut into a .dropped file.
    let (mut a_log, report) = Commitlog::open(a_dir.path(), CommitlogOptions::default()).unwrap();
    assert!(report.is_clean());
    assert_eq!(a_log.next_tx_offset(), 11, "a fsynced its fenced transaction locally");
    let cut = cluster.rejoin(&keys, &mut a_log).unwrap().expect("a's tail is cut");
    assert_eq!((cut.first_lost_tx_offset, cut.commits_dropped), (10, 1));
    assert!(matches!(cut.damage, Damage::NotCommittedByCluster { cluster_next: 15 }));
    let dropped: Vec<_> = std::fs::read_dir(a_dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".dropped"))
        .collect();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    let remote = replicated_frames(&cluster, &keys, 0);
    assert_eq!(local_frames(a_dir.path()), remote[..local_frames(a_dir.path()).len()]);
    assert!(
        cluster.rejoin(&keys, &mut a_log).unwrap().is_none(),
        "a now agrees with the cluster"
    );
    assert_eq!(offsets_and_epochs(&remote).last(), Some(&(14, 2)));
}

/// A batch of one commit at tx offset `o` and `epoch`.
fn frames(epoch: u64, o: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    spacetime_commitlog::encode_commit(&mut out, epoch, o, &vec![o as u8; len]);
    out
}

fn batch(epoch: u64, o: u64, frames: &[u8]) -> Batch<'_> {
    Batch {
        epoch,
        first: o,
        last: o,
        frames,
    }
}

#[test]
fn an_unknown_outcome_is_resolved_after_the_quorum_returns() {
    let Elected {
        etcd,
        cluster,
        keys,
        leader,
        ..
    } = Elected::start_with(ClusterOptions::default().request_timeout(Duration::from_millis(700)));
    let epoch = leader.epoch();
    let mut log = EtcdLog::open(cluster.clone(), keys.clone(), epoch).unwrap();
    let f0 = frames(epoch, 0, 100);
    assert!(matches!(log.append(batch(epoch, 0, &f0)), AppendOutcome::Committed));
    // Two of three members stop: no quorum, so the append cannot finish in time.
    etcd.signal(1, "STOP");
    etcd.signal(2, "STOP");
    let f1 = frames(epoch, 1, 100);
    let outcome = log.append(batch(epoch, 1, &f1));
    assert!(matches!(outcome, AppendOutcome::Unknown(_)), "{outcome}");
    etcd.signal(1, "CONT");
    etcd.signal(2, "CONT");
    // The Txn may have been applied once the quorum came back, or not at all;
    // resolving finds out (resending only if it was not) until the outcome is known.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match log.resolve(batch(epoch, 1, &f1)) {
            AppendOutcome::Committed => break,
            AppendOutcome::Unknown(why) => assert!(Instant::now() < deadline, "still unknown: {why}"),
            other => panic!("{other}"),
        }
    }
    assert_eq!(cluster.head(&keys).unwrap(), Some(1));
    assert_eq!(
        cluster.log_keys(&keys).unwrap(),
        [0, 1],
        "the batch landed exactly once"
    );
    let f2 = frames(epoch, 2, 100);
    assert!(matches!(log.append(batch(epoch, 2, &f2)), AppendOutcome::Committed));
    let remote = replicated_frames(&cluster, &keys, 0);
    assert_eq!(remote, [f0, f1, f2].concat());
}

#[test]
fn the_writer_rides_out_a_member_killed_mid_stream() {
    let fixture = Elected::start();
    let durability = fixture.writer();
    let Elected {
        mut etcd,
        cluster: _,
        keys,
        dir,
        leader: _leader,
    } = fixture;
    for o in 0..300 {
        durability.append_tx(payload(o)).unwrap();
        if o == 100 {
            etcd.kill(0);
        }
        if o == 200 {
            etcd.restart(0);
        }
        if o % 25 == 0 {
            durability
                .wait_durable(o, None)
                .expect("committed with two members of three");
        }
    }
    durability.wait_durable(299, None).expect("all committed");
    durability.close().unwrap();
    etcd.wait_healthy(Duration::from_secs(30));
    // Read back on a fresh connection (the writer's may still be reconnecting to the
    // restarted member).
    assert_eq!(replicated_frames(&etcd.connect(), &keys, 0), local_frames(dir.path()));
}

#[test]
fn a_second_client_follows_the_tail_in_order() {
    let fixture = Elected::start();
    let durability = fixture.writer();
    let Elected {
        etcd,
        cluster: _,
        keys,
        dir: _dir,
        leader: _leader,
    } = fixture;
    for o in 0..30 {
        durability.append_tx(payload(o)).unwrap();
    }
    durability.wait_durable(29, None).unwrap();
    // The follower starts mid-stream, from tx offset 20, on its own connection.
    let follower = etcd.connect();
    let mut tail = follower.tail(&keys, 20).unwrap();
    let producer = std::thread::spawn(move || {
        for o in 30..100 {
            durability.append_tx(payload(o)).unwrap();
        }
        durability.wait_durable(99, None).unwrap();
        durability.close().unwrap();
    });
    let mut next = 20;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while next < 100 {
        assert!(Instant::now() < deadline, "the tail stopped at {next}");
        if let Some(batch) = tail.next(Duration::from_secs(1)).unwrap() {
            assert!(
                batch.first <= next && batch.last >= next,
                "{}..={} after {next}",
                batch.first,
                batch.last
            );
            seen.extend(offsets_and_epochs(&batch.frames).into_iter().filter(|(o, _)| *o >= 20));
            next = batch.last + 1;
        }
    }
    producer.join().unwrap();
    assert_eq!(seen, (20..100).map(|o| (o, 1)).collect::<Vec<_>>());
    assert!(
        tail.next(Duration::from_millis(300)).unwrap().is_none(),
        "nothing after the end"
    );
}

/// Appends one batch of one commit per tx offset of `offsets`, each committed.
fn append_one_tx_batches(log: &mut EtcdLog, offsets: std::ops::Range<u64>) {
    let epoch = log.epoch();
    for o in offsets {
        let f = frames(epoch, o, 64);
        assert!(matches!(log.append(batch(epoch, o, &f)), AppendOutcome::Committed));
    }
}

#[test]
fn trimming_deletes_batches_every_replica_persisted() {
    let Elected {
        etcd: _etcd,
        cluster,
        keys,
        leader,
        ..
    } = Elected::start();
    let mut log = EtcdLog::open(cluster.clone(), keys.clone(), leader.epoch()).unwrap();
    append_one_tx_batches(&mut log, 0..20);
    assert_eq!(log.trim().unwrap(), None, "no replica reported yet");
    cluster
        .report_persisted(&keys, "n1", 19, ReplicaRole::Standby, None)
        .unwrap();
    cluster
        .report_persisted(&keys, "n2", 11, ReplicaRole::Standby, None)
        .unwrap();
    // Batches 0..=11 are on both disks; 12.. are not on n2's. Batch 11, n2's last,
    // stays so that n2 can check its log against it when it rejoins.
    assert_eq!(log.trim().unwrap(), Some(11));
    assert_eq!(cluster.log_keys(&keys).unwrap(), (11..20).collect::<Vec<_>>());
    assert_eq!(cluster.trim_offset(&keys).unwrap(), 11);
    // Following from the trim point works; from before it is a gap, said so.
    assert_eq!(offsets_and_epochs(&replicated_frames(&cluster, &keys, 11)).len(), 9);
    let err = cluster.tail(&keys, 3).unwrap_err();
    assert!(
        matches!(err, ReplicationError::BadBatch { .. }) && err.to_string().contains("trimmed"),
        "{err}"
    );
    // Everything persisted everywhere, but the leader was deposed: it cannot trim.
    cluster
        .report_persisted(&keys, "n2", 19, ReplicaRole::Standby, None)
        .unwrap();
    leader.resign().unwrap();
    let b = elect(&cluster, &keys, "n2");
    let trimmed = log.trim();
    assert!(
        matches!(trimmed, Err(ReplicationError::Deposed { epoch: 1 })),
        "{trimmed:?}"
    );
    assert_eq!(cluster.log_keys(&keys).unwrap(), (11..20).collect::<Vec<_>>());
    // The new leader trims all but the newest batch.
    let mut log = EtcdLog::open(cluster.clone(), keys.clone(), b.epoch()).unwrap();
    assert_eq!(log.trim().unwrap(), Some(19));
    assert_eq!(cluster.log_keys(&keys).unwrap(), [19]);
}

#[test]
fn trimming_waits_for_no_reader_and_no_standby_past_the_lag_bound() {
    let Elected {
        etcd: _etcd,
        cluster,
        keys,
        leader,
        ..
    } = Elected::start();
    let mut log = EtcdLog::open(cluster.clone(), keys.clone(), leader.epoch()).unwrap();
    append_one_tx_batches(&mut log, 0..20);
    let (standby, reader) = (ReplicaRole::Standby, ReplicaRole::Reader);
    // The leader and a reader only: the reader is no standby, so nothing is trimmed
    // yet (a standby still starting must get to report first).
    cluster.report_persisted(&keys, "n1", 19, standby, None).unwrap();
    cluster.report_persisted(&keys, "r1", 2, reader, None).unwrap();
    assert_eq!(log.trim_behind(2).unwrap(), None, "no standby reported yet");
    // A standby reports: trimming waits for it, not for the reader far behind it.
    cluster.report_persisted(&keys, "n2", 11, standby, None).unwrap();
    assert_eq!(log.trim_behind(2).unwrap(), Some(11));
    assert_eq!(cluster.log_keys(&keys).unwrap(), (11..20).collect::<Vec<_>>());
    // The reader's progress is still shown, with its role.
    let progress = cluster.replica_progress(&keys).unwrap();
    let r1 = progress.iter().find(|(node, _)| node == "r1").map(|(_, p)| *p);
    assert_eq!(
        r1,
        Some(ReplicaProgress {
            persisted: 2,
            role: reader
        })
    );
    assert_eq!(cluster.replicas(&keys).unwrap().len(), 3, "readers are listed too");
    // The reader, behind the trim, cannot follow etcd: it bootstraps from a peer.
    let err = cluster.tail(&keys, 3).unwrap_err();
    assert!(err.to_string().contains("trimmed"), "{err}");
    // n2 dies at 11 while the leader goes on. Within the bound it holds the log...
    append_one_tx_batches(&mut log, 20..40);
    cluster.report_persisted(&keys, "n1", 39, standby, None).unwrap();
    assert_eq!(
        log.trim_within(2, 28).unwrap(),
        None,
        "n2 is 28 behind: within a bound of 28"
    );
    assert_eq!(cluster.log_keys(&keys).unwrap(), (11..40).collect::<Vec<_>>());
    // ...past it, it does not: all but the newest batch go, and n2 still counts as
    // a standby that reported (its key stays).
    assert_eq!(log.trim_within(2, 27).unwrap(), Some(39));
    assert_eq!(cluster.log_keys(&keys).unwrap(), [39]);
    assert_eq!(cluster.trim_offset(&keys).unwrap(), 39);
    // When n2 returns, its next offset lies below the trim: following is refused
    // as trimmed, which is what sends it to a peer's copy.
    let err = cluster.tail(&keys, 12).unwrap_err();
    assert!(
        matches!(err, ReplicationError::BadBatch { .. }) && err.to_string().contains("trimmed"),
        "{err}"
    );
}

#[test]
fn the_tail_resumes_when_the_member_serving_it_restarts() {
    let fixture = Elected::start();
    let durability = fixture.writer();
    let Elected {
        mut etcd,
        cluster: _,
        keys,
        dir: _dir,
        leader: _leader,
    } = fixture;
    // The follower talks to member 0 only, so its watch breaks when that member dies.
    let only_first = vec![etcd.members[0].client_url.clone()];
    let follower = spacetime_replication::Cluster::connect(&only_first, ClusterOptions::default()).unwrap();
    let mut tail = follower.tail(&keys, 0).unwrap();
    let mut seen = Vec::new();
    let mut follow = |tail: &mut spacetime_replication::LogTail, upto: u64| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen.last().is_none_or(|&(o, _)| o < upto) {
            assert!(Instant::now() < deadline, "the tail stopped after {:?}", seen.last());
            if let Some(batch) = tail.next(Duration::from_secs(5)).expect("the tail resumes") {
                seen.extend(offsets_and_epochs(&batch.frames));
            }
        }
    };
    for o in 0..20 {
        durability.append_tx(payload(o)).unwrap();
    }
    follow(&mut tail, 19);
    etcd.kill(0);
    // Committed by the other two members while the follower's member is down.
    for o in 20..40 {
        durability.append_tx(payload(o)).unwrap();
    }
    durability.wait_durable(39, None).unwrap();
    etcd.restart(0);
    for o in 40..60 {
        durability.append_tx(payload(o)).unwrap();
    }
    follow(&mut tail, 59);
    assert_eq!(
        seen,
        (0..60).map(|o| (o, 1)).collect::<Vec<_>>(),
        "in order, none lost or repeated"
    );
    durability.close().unwrap();
}

#[test]
fn nothing_is_confirmed_while_the_quorum_is_gone_and_all_of_it_after() {
    let fixture = Elected::start_with(ClusterOptions::default().request_timeout(Duration::from_millis(500)));
    let durability = fixture.writer();
    let Elected {
        etcd,
        cluster,
        keys,
        dir,
        leader: _leader,
    } = fixture;
    durability.append_tx(payload(0)).unwrap();
    durability.wait_durable(0, None).unwrap();
    etcd.signal(1, "STOP");
    etcd.signal(2, "STOP");
    for o in 1..5 {
        durability.append_tx(payload(o)).unwrap();
    }
    // The local fsync finishes at once; the cluster cannot commit: nothing confirmed.
    let waited = durability.wait_durable(4, Some(Instant::now() + Duration::from_secs(2)));
    assert!(matches!(waited, Err(DurabilityError::Timeout(4))), "{waited:?}");
    assert_eq!(durability.durable_offset(), Some(0));
    etcd.signal(1, "CONT");
    etcd.signal(2, "CONT");
    // The writer resolves the unknown outcomes by itself and confirms everything.
    durability
        .wait_durable(4, Some(Instant::now() + Duration::from_secs(30)))
        .expect("confirmed once the quorum is back");
    durability.close().unwrap();
    assert_eq!(cluster.head(&keys).unwrap(), Some(4));
    assert_eq!(
        replicated_frames(&cluster, &keys, 0),
        local_frames(dir.path()),
        "each batch once"
    );
}

#[test]
fn a_writer_that_does_not_continue_the_clusters_log_is_refused() {
    let Elected {
        etcd: _etcd,
        cluster,
        keys,
        dir,
        leader,
    } = Elected::start();
    let mut log = EtcdLog::open(cluster.clone(), keys.clone(), leader.epoch()).unwrap();
    for o in 0..10 {
        let f = frames(leader.epoch(), o, 32);
        assert!(matches!(
            log.append(batch(leader.epoch(), o, &f)),
            AppendOutcome::Committed
        ));
    }
    // A leader whose local log is empty (it never caught up) must not write tx 0 again.
    let durability = writer(
        &cluster,
        &keys,
        dir.path(),
        leader.epoch(),
        DurabilityOptions::default(),
    );
    let o = durability.append_tx(payload(0)).unwrap();
    let err = durability.wait_durable(o, None).unwrap_err();
    assert!(err.to_string().contains("continues at 10"), "{err}");
    assert_eq!(cluster.head(&keys).unwrap(), Some(9));
}
