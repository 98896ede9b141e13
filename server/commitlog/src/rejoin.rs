//! A node rejoining a replicated database after a failover: it may hold a local tail
//! that it fsynced as leader but the cluster never committed (it was deposed before
//! its append reached the replicated log, or its append was fenced). That tail must
//! go before the node follows the new leader, or the same tx offsets would name
//! different transactions here and on the cluster. It is cut into `.dropped` files,
//! as recovery cuts a torn tail, and logged.

use crate::commitlog::Commitlog;
use crate::error::CommitlogError;
use crate::format::CommitId;
use crate::report::TailCut;
use crate::segment::Damage;

impl Commitlog {
    /// Compares this log with the cluster's committed log and cuts the local tail the
    /// cluster never committed.
    ///
    /// `cluster` is the replicated log's commits in order (the batches it holds, read
    /// with [`commit_ids`](crate::commit_ids)), from the first it still holds (older
    /// ones were trimmed) up to `cluster_next - 1`, its committed head. Every local
    /// commit the cluster also holds must have the same `(tx offset, epoch, CRC32C)`;
    /// the first that differs, or the first past the cluster's head, starts the cut.
    /// A commit that matches vouches for everything before it: a leader only ever
    /// appends after the committed log it caught up with.
    ///
    /// Returns the cut, if anything was cut (it is also logged at `warn`). A log
    /// shorter than the cluster's is left as it is: catching up is the follower's job.
    ///
    /// # Errors
    /// [`CommitlogError::Unverifiable`] if the local log has commits but shares none
    /// with what the cluster still holds, so a divergent tail could not be told from
    /// a committed one (the node must bootstrap again); I/O errors.
    pub fn cut_uncommitted(
        &mut self,
        cluster: &[CommitId],
        cluster_next: u64,
    ) -> Result<Option<TailCut>, CommitlogError> {
        let local_next = self.next_tx_offset();
        let local_first = self.first_tx_offset();
        if local_next == local_first {
            return Ok(None);
        }
        let cluster_first = cluster.first().map_or(cluster_next, |c| c.tx_offset);
        let why = Damage::NotCommittedByCluster { cluster_next };
        if cluster_next == 0 {
            // The cluster never committed anything: every local commit is ours alone.
            return self.cut_from(local_first, why).map(Some);
        }
        // The last offset both logs should hold; one of the cluster's commits must
        // cover it or come before it for anything to be checked.
        let last_common = local_next.min(cluster_next) - 1;
        if cluster_first > last_common || local_first > last_common {
            return Err(CommitlogError::Unverifiable {
                local_next,
                cluster_first,
                cluster_next,
            });
        }
        let from = cluster_first.max(local_first);
        let local = self.commit_ids_from(from)?;
        let mut theirs = cluster
            .iter()
            .skip_while(|c| c.tx_offset + u64::from(c.n) <= from)
            .peekable();
        for ours in &local {
            if ours.tx_offset >= cluster_next {
                return self.cut_from(ours.tx_offset, why).map(Some);
            }
            // Step the cluster's commits up to ours; equal logs have equal boundaries.
            while theirs.next_if(|c| c.tx_offset < ours.tx_offset).is_some() {}
            match theirs.peek() {
                Some(c) if *c == ours => {
                    theirs.next();
                }
                // Our first commit may start before the first one the cluster holds.
                _ if ours.tx_offset < cluster_first => {}
                _ => return self.cut_from(ours.tx_offset, why).map(Some),
            }
        }
        Ok(None)
    }
}
