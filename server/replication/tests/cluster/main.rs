//! The etcd backend against a real three-member etcd cluster (127.0.0.1/2/3): the
//! fenced append through the commit log's writer, fencing after an epoch bump and
//! the deposed leader's rejoin, unknown outcomes, the tail watch, trimming, leader
//! election and leases, the rolling checksum in the head, defragmentation, writes pinned to the etcd leader,
//! compaction at the trim, and (ignored) append latency figures.

mod bench;
mod checksum;
mod controller;
mod defrag;
mod election;
mod etcd;
mod log;
mod store;
mod support;
