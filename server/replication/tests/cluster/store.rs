//! What keeps etcd fast and small under a leader's writes: appends go to the etcd
//! leader's own endpoint (no forwarding by a follower), and trimming compacts etcd's
//! history up to the first batch it keeps.

use crate::etcd::{Connect, EtcdCluster};
use crate::support::{elect, payload, writer, Elected};
use etcd_client::{Client, GetOptions};
use spacetime_commitlog::{encode_commit, AppendOutcome, Batch, DurabilityOptions, ReplicatedLog};
use spacetime_replication::{ClusterOptions, EtcdLog, ReplicaRole};
use spacetime_testing::wait;
use std::time::Duration;

/// Appends one single-commit batch at tx offset `o` and expects it committed.
fn append(log: &mut EtcdLog, o: u64) {
    let epoch = log.epoch();
    let mut frames = Vec::new();
    encode_commit(&mut frames, epoch, o, &payload(o));
    let batch = Batch {
        epoch,
        first: o,
        last: o,
        frames: &frames,
    };
    let outcome = log.append(batch);
    assert!(matches!(outcome, AppendOutcome::Committed), "{outcome}");
}

/// The endpoint of the member that leads etcd, once it is not `old`.
fn etcd_leader(etcd: &EtcdCluster, old: Option<&str>) -> String {
    let urls = etcd.client_urls();
    wait::poll(
        "etcd to have a (new) leader",
        Duration::from_secs(20),
        || {
            etcd.leader_index()
                .map(|i| urls[i].clone())
                .filter(|u| Some(u.as_str()) != old)
        },
        || format!("no member names a leader other than {old:?}"),
    )
}

#[test]
fn appends_go_to_the_etcd_leader_and_follow_it_when_it_dies() {
    let mut elected = Elected::start();
    let d = writer(
        &elected.cluster,
        &elected.keys,
        elected.dir.path(),
        elected.leader.epoch(),
        DurabilityOptions::default(),
    );
    let leader = etcd_leader(&elected.etcd, None);
    // Writes find the leader in the background; each append asks again when the
    // answer is older than a second.
    let append_and_wait = || {
        let o = d.append_tx(b"transfer").expect("append");
        d.wait_durable(o, Some(std::time::Instant::now() + Duration::from_secs(30)))
            .expect("durable");
    };
    wait::poll(
        "appends to be pinned to the etcd leader",
        Duration::from_secs(20),
        || {
            append_and_wait();
            (elected.cluster.pinned_write_endpoint().as_ref() == Some(&leader)).then_some(())
        },
        || {
            format!(
                "pinned to {:?}, leader {leader}",
                elected.cluster.pinned_write_endpoint()
            )
        },
    );
    // The etcd leader dies: the writer rides it out and its appends move to the new one.
    let dead = elected
        .etcd
        .client_urls()
        .iter()
        .position(|u| *u == leader)
        .expect("a member");
    elected.etcd.kill(dead);
    let new_leader = etcd_leader(&elected.etcd, Some(&leader));
    wait::poll(
        "appends to be pinned to the new etcd leader",
        Duration::from_secs(30),
        || {
            append_and_wait();
            (elected.cluster.pinned_write_endpoint().as_ref() == Some(&new_leader)).then_some(())
        },
        || {
            format!(
                "pinned to {:?}, new leader {new_leader}",
                elected.cluster.pinned_write_endpoint()
            )
        },
    );
    assert!(d.failure().is_none(), "{:?}", d.failure());
}

#[test]
fn trimming_compacts_the_history_below_the_first_batch_kept() {
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    let keys = cluster.db("bank");
    let leadership = elect(&cluster, &keys, "n1");
    let mut log = EtcdLog::open(cluster.clone(), keys.clone(), leadership.epoch()).expect("open the log");
    for o in 0..20 {
        append(&mut log, o);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut client = rt.block_on(Client::connect(etcd.client_urls(), None)).expect("connect");
    let revision_of = |client: &mut Client, o: u64| -> i64 {
        let resp = rt.block_on(client.get(keys.log(o), None)).expect("get");
        resp.kvs().first().expect("the batch's key").mod_revision()
    };
    let (first_put, kept_put) = (revision_of(&mut client, 0), revision_of(&mut client, 11));
    // The head's value as of batch 3: an old revision, readable before trimming.
    let at = |client: &mut Client, revision: i64| {
        rt.block_on(client.get(keys.head(), Some(GetOptions::new().with_revision(revision))))
    };
    assert!(at(&mut client, first_put + 6).is_ok());
    cluster
        .report_persisted(&keys, "n1", 19, ReplicaRole::Standby, None)
        .expect("report");
    cluster
        .report_persisted(&keys, "n2", 11, ReplicaRole::Standby, None)
        .expect("report");
    assert_eq!(log.trim().expect("trim"), Some(11));
    // History below the revision that put batch 11 (the first kept) is gone; from
    // there on it is still readable, so a standby's watch past it is not cancelled.
    let err = at(&mut client, first_put + 6).expect_err("compacted");
    assert!(err.to_string().contains("compacted"), "{err}");
    assert!(at(&mut client, kept_put).is_ok(), "the first batch kept's revision");
    // A standby that persisted 11 follows from the batch holding it, through a watch.
    let mut tail = cluster.tail(&keys, 12).expect("follow from the trim point");
    let mut next = 12;
    while let Some(batch) = tail.next(Duration::from_millis(300)).expect("next batch") {
        next = batch.last + 1;
    }
    assert_eq!(next, 20);
    append(&mut log, 20);
    let batch = tail
        .next(Duration::from_secs(5))
        .expect("the watch")
        .expect("a new batch");
    assert_eq!((batch.first, batch.last), (20, 20));
}

#[test]
fn a_log_larger_than_grpcs_default_message_limit_is_read_back_whole() {
    // gRPC decodes at most 4 MiB per answer by default: a standby starting (or
    // rejoining) behind a log larger than that could never read it, so it never
    // followed, never reported progress, and nothing was ever trimmed.
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    let keys = cluster.db("bank");
    let leadership = elect(&cluster, &keys, "n1");
    let mut log = EtcdLog::open(cluster.clone(), keys.clone(), leadership.epoch()).expect("open the log");
    let epoch = log.epoch();
    for o in 0..6u64 {
        let mut frames = Vec::new();
        encode_commit(&mut frames, epoch, o, &vec![(o % 251) as u8; 900 << 10]);
        let batch = Batch {
            epoch,
            first: o,
            last: o,
            frames: &frames,
        };
        assert!(matches!(log.append(batch), AppendOutcome::Committed));
    }
    let committed = cluster.committed_log(&keys).expect("the committed log, read whole");
    assert_eq!((committed.commits.len(), committed.next), (6, 6));
    let mut tail = cluster.tail(&keys, 0).expect("follow from the start");
    let mut next = 0;
    while let Some(batch) = tail.next(Duration::from_millis(300)).expect("next batch") {
        assert_eq!(batch.first, next);
        next = batch.last + 1;
    }
    assert_eq!(next, 6);
}

#[test]
fn a_log_of_many_pages_is_read_back_once_and_in_order_at_one_revision() {
    // Pages of two keys: the head and nine batches take five pages, read at the first
    // page's revision; batches committed meanwhile come by the watch, after them.
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect_with(ClusterOptions::default().read_page_keys(2));
    let keys = cluster.db("bank");
    let leadership = elect(&cluster, &keys, "n1");
    let mut log = EtcdLog::open(cluster.clone(), keys.clone(), leadership.epoch()).expect("open the log");
    for o in 0..9 {
        append(&mut log, o);
    }
    let committed = cluster.committed_log(&keys).expect("the committed log, in pages");
    let offsets: Vec<u64> = committed.commits.iter().map(|c| c.tx_offset).collect();
    assert_eq!(offsets, (0..9).collect::<Vec<_>>());
    assert_eq!(committed.next, 9);

    let mut whole = cluster.tail(&keys, 0).expect("follow from the start");
    let mut from_middle = cluster.tail(&keys, 5).expect("follow from tx offset 5");
    // Committed after the first page was read and before the others: the later pages
    // must not hold them (they are read at the first page's revision), the watch must.
    for o in 9..12 {
        append(&mut log, o);
    }
    for (tail, from) in [(&mut whole, 0), (&mut from_middle, 5)] {
        let mut firsts = Vec::new();
        while firsts.len() < 12 - from as usize {
            let batch = tail
                .next(Duration::from_secs(5))
                .expect("next batch")
                .expect("a batch before the timeout");
            firsts.push(batch.first);
        }
        assert_eq!(firsts, (from..12).collect::<Vec<_>>());
        // Nothing more: no batch came twice.
        assert_eq!(tail.next(Duration::from_millis(300)).expect("no error"), None);
    }
}

#[test]
fn later_pages_of_the_log_are_read_at_the_first_pages_revision() {
    // Batches deleted after the first page was read (as trimming deletes them, before
    // it compacts) are still in the later pages: every page is read at the first one's
    // revision. Read at the newest revision instead, they would leave a gap.
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect_with(ClusterOptions::default().read_page_keys(2));
    let keys = cluster.db("bank");
    let leadership = elect(&cluster, &keys, "n1");
    let mut log = EtcdLog::open(cluster.clone(), keys.clone(), leadership.epoch()).expect("open the log");
    for o in 0..8 {
        append(&mut log, o);
    }
    // The first page: the head and batch 0.
    let mut tail = cluster.tail(&keys, 0).expect("follow from the start");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut client = rt.block_on(Client::connect(etcd.client_urls(), None)).expect("connect");
    for o in 1..7 {
        rt.block_on(client.delete(keys.log(o), None)).expect("delete a batch");
    }
    let mut firsts = Vec::new();
    while let Some(batch) = tail.next(Duration::from_millis(300)).expect("no gap") {
        firsts.push(batch.first);
    }
    assert_eq!(firsts, (0..8).collect::<Vec<_>>());
}
