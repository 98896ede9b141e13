//! The real three-member etcd cluster of the test harness (`spacetime_testing::etcd`),
//! with connections to it through this crate's client.

use spacetime_replication::{Cluster, ClusterOptions};
pub use spacetime_testing::etcd::EtcdCluster;

/// Connections to an [`EtcdCluster`] through this crate's client.
pub trait Connect {
    /// A connection to the whole cluster.
    fn connect(&self) -> Cluster {
        self.connect_with(ClusterOptions::default())
    }

    /// A connection to the whole cluster with `options`.
    fn connect_with(&self, options: ClusterOptions) -> Cluster;
}

impl Connect for EtcdCluster {
    fn connect_with(&self, options: ClusterOptions) -> Cluster {
        Cluster::connect(&self.client_urls(), options).expect("connect to etcd")
    }
}
