//! Keeping etcd's files small (design §7): trimming deletes log keys and etcd's
//! auto-compaction drops their old revisions, so bbolt can reuse the freed pages, but
//! its file never shrinks: under a burst the file grows, and stays that size. A
//! defragmentation rewrites one member's file with only what is in use.
//!
//! It blocks that member (reads and writes it serves wait) for as long as the rewrite
//! takes, so [`Cluster::defragment_bloated`] does one member at a time, only when
//! every member answered (with one member down, blocking another would stall the
//! quorum), and only where the file is much larger than its data
//! ([`DefragPolicy`]). One node of the cluster runs it now and then (the server's
//! placement controller).

use crate::cluster::Cluster;
use crate::error::{ReplicationError, Result};
use etcd_client::{Client, ConnectOptions};
use std::time::{Duration, Instant};

/// When a member's file is worth defragmenting.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DefragPolicy {
    /// A file no larger than this is left alone, however much of it is free: the
    /// space is small, and a defragmentation still blocks the member. Default 64 MiB.
    pub min_file_bytes: u64,
    /// A file is defragmented only when it is more than this many times the bytes in
    /// use in it. Default 2.
    pub max_file_per_use: u64,
    /// How long one defragmentation may take before it counts as failed (the member
    /// may still finish it). Default 60 s.
    pub timeout: Duration,
}

impl Default for DefragPolicy {
    fn default() -> Self {
        Self {
            min_file_bytes: 64 << 20,
            max_file_per_use: 2,
            timeout: Duration::from_secs(60),
        }
    }
}

impl DefragPolicy {
    /// Sets [`Self::min_file_bytes`].
    pub fn min_file_bytes(mut self, bytes: u64) -> Self {
        self.min_file_bytes = bytes;
        self
    }

    /// Sets [`Self::max_file_per_use`] (at least 1).
    pub fn max_file_per_use(mut self, ratio: u64) -> Self {
        self.max_file_per_use = ratio.max(1);
        self
    }

    /// Whether a member whose file is `file` bytes with `in_use` bytes of data should
    /// be defragmented.
    pub fn needs_defrag(&self, file: u64, in_use: u64) -> bool {
        file > self.min_file_bytes && file > in_use.saturating_mul(self.max_file_per_use)
    }
}

/// One member's backend store, as it reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStore {
    /// The member's name.
    pub name: String,
    /// The client URL it was asked at.
    pub endpoint: String,
    /// The size of its database file.
    pub file_bytes: u64,
    /// The bytes in use in that file (the rest are free pages).
    pub in_use_bytes: u64,
}

/// A member defragmented by [`Cluster::defragment_bloated`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defragmented {
    /// The member before.
    pub before: MemberStore,
    /// Its file's size after.
    pub file_bytes_after: u64,
    /// How long the member was blocked.
    pub took: Duration,
}

impl Cluster {
    /// Every member's store (from the member list, each member asked at its first
    /// client URL).
    ///
    /// # Errors
    /// etcd errors and timeouts, for the member list or any member that does not
    /// answer.
    pub fn member_stores(&self) -> Result<Vec<MemberStore>> {
        let mut client = self.client();
        let members = self.run("list the members", client.member_list())?;
        let mut stores = Vec::new();
        for member in members.members() {
            let Some(endpoint) = member.client_urls().first() else {
                // A member added but not started has no client URL yet.
                return Err(ReplicationError::BadValue {
                    key: format!("member {}", member.id()),
                    value: String::new(),
                    expected: "a member with a client URL (one that has started)",
                });
            };
            stores.push(self.member_store(member.name(), endpoint)?);
        }
        Ok(stores)
    }

    fn member_store(&self, name: &str, endpoint: &str) -> Result<MemberStore> {
        let mut client = self.member_client(endpoint, self.options().request_timeout)?;
        let status = self.run("read a member's status", client.status())?;
        Ok(MemberStore {
            name: name.to_owned(),
            endpoint: endpoint.to_owned(),
            file_bytes: u64::try_from(status.db_size()).unwrap_or(0),
            in_use_bytes: u64::try_from(status.raft_used_db_size()).unwrap_or(0),
        })
    }

    /// A connection to the one member at `endpoint` (maintenance calls act on the
    /// member they reach, so the cluster-wide client will not do).
    fn member_client(&self, endpoint: &str, timeout: Duration) -> Result<Client> {
        let connect = ConnectOptions::new()
            .with_connect_timeout(self.options().connect_timeout)
            .with_timeout(timeout);
        self.run_for(
            "connect to a member",
            self.options().connect_timeout,
            Client::connect([endpoint], Some(connect)),
        )
    }

    /// Defragments, one at a time, the members whose file `policy` finds bloated, if
    /// every member answers; returns those defragmented (none when no file is
    /// bloated). Each is logged.
    ///
    /// # Errors
    /// As [`Self::member_stores`] (then nothing is defragmented); a defragmentation
    /// that fails or times out (the members after it are left for the next call).
    pub fn defragment_bloated(&self, policy: &DefragPolicy) -> Result<Vec<Defragmented>> {
        let stores = self.member_stores()?;
        let mut done = Vec::new();
        for store in stores {
            if !policy.needs_defrag(store.file_bytes, store.in_use_bytes) {
                continue;
            }
            let mut client = self.member_client(&store.endpoint, policy.timeout)?;
            let started = Instant::now();
            self.run_for("defragment a member", policy.timeout, client.defragment())?;
            let took = started.elapsed();
            let after = self.member_store(&store.name, &store.endpoint)?;
            log::info!(
                "etcd member {} defragmented in {} ms: file {} MiB -> {} MiB ({} MiB in use before)",
                store.name,
                took.as_millis(),
                store.file_bytes >> 20,
                after.file_bytes >> 20,
                store.in_use_bytes >> 20
            );
            done.push(Defragmented {
                before: store,
                file_bytes_after: after.file_bytes,
                took,
            });
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_large_mostly_free_file_needs_defragmenting() {
        let policy = DefragPolicy::default();
        let mib = 1u64 << 20;
        // Small files are left alone, however empty.
        assert!(!policy.needs_defrag(64 * mib, mib));
        assert!(!policy.needs_defrag(10 * mib, 0));
        // Large ones only when more than twice what is in use.
        assert!(policy.needs_defrag(165 * mib, 78 * mib));
        assert!(!policy.needs_defrag(165 * mib, 83 * mib));
        assert!(policy.needs_defrag(65 * mib, 0));
        let strict = DefragPolicy::default().min_file_bytes(mib).max_file_per_use(0);
        assert_eq!(strict.max_file_per_use, 1);
        assert!(strict.needs_defrag(2 * mib, mib));
        assert!(!strict.needs_defrag(2 * mib, 2 * mib));
    }
}
