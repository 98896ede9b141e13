//! The placement controller's election and its fenced placement writes.

use crate::etcd::{Connect, EtcdCluster};
use spacetime_replication::{ControllerInfo, Placement, ReplicaRole};
use spacetime_testing::wait;
use std::time::Duration;

fn info(node: &str) -> ControllerInfo {
    ControllerInfo {
        node: node.into(),
        addr: format!("{node}:3000"),
    }
}

fn placed(nodes: &[&str]) -> Placement {
    Placement {
        replicas: 2,
        nodes: nodes.iter().map(|n| n.to_string()).collect(),
    }
}

#[test]
fn one_node_controls_and_only_its_placement_writes_land_until_its_lease_expires() {
    let etcd = EtcdCluster::start();
    let (a, b) = (etcd.connect(), etcd.connect());
    let keys = a.db("bank");
    assert_eq!(a.controller().unwrap(), None);
    let lease_a = a.node_lease(Duration::from_secs(2)).unwrap();
    let lease_b = b.node_lease(Duration::from_secs(2)).unwrap();
    let held = a.campaign_controller(&info("a"), &lease_a).unwrap();
    assert_eq!((held.info.node.as_str(), held.lease), ("a", lease_a.id()));
    // A rival learns who controls; campaigning again keeps it.
    let seen = b.campaign_controller(&info("b"), &lease_b).unwrap();
    assert_eq!((seen.info.node.as_str(), seen.lease), ("a", lease_a.id()));
    assert_eq!(a.campaign_controller(&info("a"), &lease_a).unwrap().lease, lease_a.id());
    assert_eq!(b.controller().unwrap().map(|c| c.info), Some(info("a")));

    a.put_placement(&keys, &placed(&["n1", "n2"])).unwrap();
    assert!(a
        .replace_placement(&keys, &placed(&["n1", "n2"]), &placed(&["n1", "n3"]), lease_a.id())
        .unwrap());
    assert_eq!(b.placement(&keys).unwrap(), Some(placed(&["n1", "n3"])));
    // A write from a stale read is refused, and so is one by a node that does not control.
    assert!(!a
        .replace_placement(&keys, &placed(&["n1", "n2"]), &placed(&["n1", "n4"]), lease_a.id())
        .unwrap());
    assert!(!b
        .replace_placement(&keys, &placed(&["n1", "n3"]), &placed(&["n1", "n4"]), lease_b.id())
        .unwrap());
    assert_eq!(a.placement(&keys).unwrap(), Some(placed(&["n1", "n3"])));

    // a stops renewing (it died or was cut off): once its lease expires b takes over,
    // and a's writes no longer land although it still believes it controls.
    let dead = lease_a.id();
    drop(lease_a);
    wait::poll(
        "b to become the controller",
        Duration::from_secs(15),
        || {
            let held = b.campaign_controller(&info("b"), &lease_b).ok()?;
            (held.lease == lease_b.id()).then_some(())
        },
        || format!("{:?}", b.controller()),
    );
    assert!(!a
        .replace_placement(&keys, &placed(&["n1", "n3"]), &placed(&["n1", "n4"]), dead)
        .unwrap());
    assert!(b
        .replace_placement(&keys, &placed(&["n1", "n3"]), &placed(&["n1", "n4"]), lease_b.id())
        .unwrap());
    assert_eq!(a.placement(&keys).unwrap(), Some(placed(&["n1", "n4"])));
}

#[test]
fn a_dropped_node_no_longer_counts_as_a_replica() {
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    let keys = cluster.db("bank");
    for node in ["n1", "n2"] {
        cluster
            .report_persisted(&keys, node, 7, ReplicaRole::Standby, None)
            .unwrap();
    }
    cluster.forget_replica(&keys, "n2").unwrap();
    assert_eq!(cluster.replicas(&keys).unwrap(), [("n1".to_owned(), 7)]);
    // Forgetting one that never reported is no error.
    cluster.forget_replica(&keys, "n9").unwrap();
}
