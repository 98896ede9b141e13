//! Defragmentation of the etcd members' files against the real three-member cluster:
//! after a burst of writes is deleted and compacted, each file is much larger than its
//! data; `Cluster::defragment_bloated` shrinks every member's (one after another) and then
//! finds nothing to do; with a member down it defragments nothing.

use crate::etcd::{Connect, EtcdCluster};
use etcd_client::{Client, CompactionOptions, DeleteOptions, Txn, TxnOp};
use spacetime_replication::{Cluster, DefragPolicy, MemberStore};
use spacetime_testing::wait;
use std::time::Duration;

/// Bytes of one value; twenty fit in one request (etcd takes about 1.5 MiB).
const VALUE: usize = 64 << 10;
/// Requests of twenty values each: 25 MiB in all.
const BATCHES: usize = 20;

/// Writes 25 MiB under `/bulk/`, deletes it, and compacts etcd's history physically,
/// so the members' files keep their size with little of it in use.
fn fill_and_free(etcd: &EtcdCluster) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut client = Client::connect(etcd.client_urls(), None).await.expect("connect");
        for batch in 0..BATCHES {
            let puts: Vec<TxnOp> = (0..20)
                .map(|i| TxnOp::put(format!("/bulk/{batch:03}/{i:02}"), vec![batch as u8; VALUE], None))
                .collect();
            client.txn(Txn::new().and_then(puts)).await.expect("put a batch");
        }
        let deleted = client
            .delete("/bulk/", Some(DeleteOptions::new().with_prefix()))
            .await
            .expect("delete the bulk");
        let revision = deleted.header().expect("a header").revision();
        client
            .compact(revision, Some(CompactionOptions::new().with_physical()))
            .await
            .expect("compact");
    });
}

/// Waits until every member's file is bloated by `policy`'s measure: each member
/// applies the compaction on its own, and its pages are free for the next write.
fn wait_bloated(etcd: &EtcdCluster, cluster: &Cluster, policy: &DefragPolicy) -> Vec<MemberStore> {
    wait::poll(
        "every member's file to be mostly free pages",
        Duration::from_secs(30),
        || {
            // bbolt frees a page once no transaction holds it: a later write's.
            etcd.put("/tick", b"1");
            let stores = cluster.member_stores().ok()?;
            stores
                .iter()
                .all(|s| policy.needs_defrag(s.file_bytes, s.in_use_bytes))
                .then_some(stores)
        },
        || format!("{:?}", cluster.member_stores()),
    )
}

#[test]
fn bloated_members_are_defragmented_and_only_while_all_answer() {
    let mut etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    let policy = DefragPolicy::default().min_file_bytes(8 << 20);
    // A fresh cluster's files are small: nothing to do.
    assert_eq!(cluster.defragment_bloated(&policy).expect("check"), vec![]);

    fill_and_free(&etcd);
    let stores = wait_bloated(&etcd, &cluster, &policy);
    assert_eq!(stores.len(), 3, "{stores:?}");
    let done = cluster.defragment_bloated(&policy).expect("defragment");
    let mut names: Vec<&str> = done.iter().map(|d| d.before.name.as_str()).collect();
    names.sort_unstable();
    let mut expected: Vec<&str> = stores.iter().map(|s| s.name.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(names, expected, "{done:?}");
    for d in &done {
        assert!(
            d.file_bytes_after * 2 < d.before.file_bytes,
            "the file shrank to less than half: {d:?}"
        );
        eprintln!(
            "defrag: {} {} MiB -> {} MiB in {} ms",
            d.before.name,
            d.before.file_bytes >> 20,
            d.file_bytes_after >> 20,
            d.took.as_millis()
        );
    }
    // The gateway's view agrees.
    for i in 0..3 {
        let (file, _) = etcd.db_size(i).expect("member status");
        assert!(file < 8 << 20, "member {i}: {file} bytes");
    }
    assert_eq!(cluster.defragment_bloated(&policy).expect("check again"), vec![]);

    // Bloated again, but a member is down: nothing is touched, the error says why.
    fill_and_free(&etcd);
    wait_bloated(&etcd, &cluster, &policy);
    etcd.kill(2);
    let quick = spacetime_replication::ClusterOptions::default().request_timeout(Duration::from_secs(1));
    let err = etcd
        .connect_with(quick)
        .defragment_bloated(&policy)
        .expect_err("a member does not answer");
    eprintln!("defrag with a member down: {err}");
    for i in 0..2 {
        let (file, in_use) = etcd.db_size(i).expect("member status");
        assert!(policy.needs_defrag(file, in_use), "member {i} was left as it was");
    }
}
