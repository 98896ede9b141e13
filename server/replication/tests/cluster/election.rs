//! Leader election, leases and step-down.

use crate::etcd::{Connect, EtcdCluster};
use crate::support::elect;
use spacetime_replication::{Campaign, Cluster, DbKeys, HandoverInfo, Leadership};
use std::time::{Duration, Instant};

/// Campaigns as `node` with a lease of `ttl` and panics unless it wins.
fn elect_with_ttl(cluster: &Cluster, keys: &DbKeys, node: &str, ttl: Duration) -> Leadership {
    match cluster.campaign(keys, node, &format!("{node}:3000"), ttl).unwrap() {
        Campaign::Won(leadership) => leadership,
        lost => panic!("{node} must win: {lost:?}"),
    }
}

#[test]
fn one_candidate_wins_and_the_epoch_goes_up_with_each_leader() {
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    let keys = cluster.db("bank");
    assert_eq!(cluster.epoch(&keys).unwrap(), 0);
    let a = elect(&cluster, &keys, "a");
    assert_eq!(a.epoch(), 1);
    assert!(a.lease_valid());
    // A rival on another connection loses and learns who leads.
    let other = etcd.connect();
    match other.campaign(&keys, "b", "b:3000", Duration::from_secs(5)).unwrap() {
        Campaign::Lost(Some(leader)) => assert_eq!((leader.node.as_str(), leader.epoch), ("a", 1)),
        won => panic!("b must lose while a leads: {won:?}"),
    }
    assert_eq!(cluster.leader(&keys).unwrap().map(|l| l.node), Some("a".into()));
    // A planned handover: a steps down, b wins at once in the next epoch.
    a.resign().unwrap();
    assert_eq!(cluster.leader(&keys).unwrap(), None);
    let b = elect(&other, &keys, "b");
    assert_eq!(b.epoch(), 2);
    assert_eq!(cluster.epoch(&keys).unwrap(), 2);
}

/// What a standby reads before it campaigns, in one round trip: the database's
/// catalog entry (gone once it is deleted) and the handover key naming the node that
/// is to lead next.
#[test]
fn vacancy_reads_the_catalog_entry_and_the_handover_key() {
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    let keys = cluster.db("bank");
    assert_eq!(cluster.vacancy(&keys, "bank").unwrap(), (false, None));
    cluster.put_catalog_entry("bank", b"{}", "hash", b"wasm").unwrap();
    let info = HandoverInfo {
        from: "a".into(),
        to: "b".into(),
        epoch: 1,
    };
    cluster.announce_handover(&keys, &info, Duration::from_secs(5)).unwrap();
    assert_eq!(cluster.vacancy(&keys, "bank").unwrap(), (true, Some(info)));
    cluster.clear_handover(&keys).unwrap();
    assert_eq!(cluster.vacancy(&keys, "bank").unwrap(), (true, None));
    cluster.remove_catalog_entry("bank").unwrap();
    assert_eq!(cluster.vacancy(&keys, "bank").unwrap(), (false, None));
}

/// A request admitted under a lease holds a `LeaseCheck` and asks it again when it
/// answers: once the leadership is resigned or dropped the check must fail at once,
/// not when the lease would have lapsed (by then another node may lead).
#[test]
fn a_lease_check_turns_invalid_the_moment_its_leadership_ends() {
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    let keys = cluster.db("bank");
    let ttl = Duration::from_secs(30);
    let a = elect_with_ttl(&cluster, &keys, "a", ttl);
    let check = a.lease_check();
    assert!(check.valid());
    assert_eq!(check.epoch(), 1);
    a.resign().unwrap();
    assert!(
        !check.valid(),
        "a lease check stayed valid after its leadership resigned"
    );
    // The same when the leadership is dropped without resigning (its key then lives
    // on in etcd until the TTL, 30 s here, which the check must not wait for).
    let b = elect_with_ttl(&cluster, &keys, "b", ttl);
    let check = b.lease_check();
    assert!(check.valid());
    assert_eq!(check.epoch(), 2);
    drop(b);
    assert!(
        !check.valid(),
        "a lease check stayed valid after its leadership was dropped"
    );
    assert_eq!(cluster.leader(&keys).unwrap().map(|l| l.node), Some("b".into()));
}

#[test]
fn a_lease_is_kept_alive_and_expires_when_its_holder_stops() {
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    let keys = cluster.db("bank");
    let ttl = Duration::from_secs(2);
    let a = elect_with_ttl(&cluster, &keys, "a", ttl);
    // Past twice the TTL the keepalives have renewed it: still leader, still valid.
    let until = Instant::now() + 2 * ttl;
    while Instant::now() < until {
        assert!(a.lease_valid(), "the lease lapsed while kept alive");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(cluster.leader(&keys).unwrap().map(|l| l.node), Some("a".into()));
    // a stops renewing (it hangs or dies): the key expires, b can be elected.
    drop(a);
    let deadline = Instant::now() + 4 * ttl;
    let b = loop {
        match cluster.campaign(&keys, "b", "b:3000", ttl).unwrap() {
            Campaign::Won(b) => break b,
            Campaign::Lost(_) => assert!(Instant::now() < deadline, "a's lease never expired"),
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(b.epoch(), 2);
}

#[test]
fn a_leader_cut_off_from_the_quorum_stops_counting_on_its_lease() {
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    let keys = cluster.db("bank");
    let ttl = Duration::from_secs(2);
    let a = elect_with_ttl(&cluster, &keys, "a", ttl);
    assert!(a.lease_valid());
    // Two members stop: renewals end once etcd's leader notices it lost its quorum
    // (if it is the member still running, it answers keepalives for up to one
    // election timeout, 1 s by default), so within that plus the TTL the node must
    // stop serving confirmed reads (etcd may expire the lease later, never earlier,
    // than this node's deadline).
    etcd.signal(1, "STOP");
    etcd.signal(2, "STOP");
    let stopped = Instant::now();
    let bound = ttl + Duration::from_secs(1);
    while a.lease_valid() {
        assert!(
            stopped.elapsed() < bound,
            "the lease still counted as valid {:?} after the quorum went",
            stopped.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    etcd.signal(1, "CONT");
    etcd.signal(2, "CONT");
}
