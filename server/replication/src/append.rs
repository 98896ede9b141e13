//! The fenced append (design §4): each group-commit batch becomes one etcd `Txn`
//!
//! ```text
//! If   value(epoch) == E  AND  value(head) == prev_head   (or: head absent)
//! Then put(log/<first>, frames), put(head, last [+ checksum after last])
//! Else get(epoch), get(head)
//! ```
//!
//! so a leader whose epoch was superseded cannot append (fencing), and a resent
//! batch cannot land twice (the head moved). The head carries the database's rolling
//! checksum after the batch's last tx offset when the engine attached one
//! ([`ReplicatedLog::attach_checksums`]), for followers to check their copy against. A timeout is an unknown outcome,
//! resolved by reading the batch's key and the head. Batches larger than one etcd
//! request allows are split at commit boundaries into several appends.

use crate::cluster::Cluster;
use crate::error::{ReplicationError, Result};
use crate::keys::{number, parse_number, DbKeys, Head};
use etcd_client::{Compare, CompareOp, Txn, TxnOp, TxnOpResponse};
use spacetime_commitlog::{split_commits, AppendOutcome, Batch, CommitChecksums, ReplicatedLog};
use std::sync::Arc;

/// The largest log value one append puts: etcd refuses requests over 1.5 MiB by
/// default, and the head and keys ride along.
pub const MAX_APPEND_BYTES: usize = 1 << 20;

/// One etcd append: a run of whole commits of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chunk {
    first: u64,
    last: u64,
    bytes: std::ops::Range<usize>,
}

/// A database's replicated log in etcd, written by its leader: the
/// [`ReplicatedLog`] a leader's group-commit writer appends to.
pub struct EtcdLog {
    cluster: Cluster,
    keys: DbKeys,
    epoch: u64,
    /// The head as of this writer's last append (exactly as written: the next
    /// append compares it).
    head: Option<Head>,
    /// The rolling checksum after each tx offset, if the engine attached it.
    checksums: Option<Arc<dyn CommitChecksums>>,
    /// The first tx offset this writer appends: the head's successor when it was
    /// opened. Offsets from here to the head were committed by this writer.
    start: u64,
    /// An append whose outcome is unknown.
    pending: Option<Chunk>,
    /// The etcd revision this log's trimming last compacted etcd's history to.
    pub(crate) compacted_to: i64,
}

impl std::fmt::Debug for EtcdLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdLog")
            .field("keys", &self.keys)
            .field("epoch", &self.epoch)
            .field("head", &self.head)
            .field("start", &self.start)
            .field("pending", &self.pending)
            .field("checksums", &self.checksums.is_some())
            .finish()
    }
}

/// What the `Else` branch (or a read) says about the cluster's log.
struct Seen {
    epoch: u64,
    head: Option<Head>,
}

impl EtcdLog {
    /// The log of the database with `keys`, appended to under `epoch` (the epoch this
    /// node was elected in), continuing from the cluster's current head.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn open(cluster: Cluster, keys: DbKeys, epoch: u64) -> Result<Self> {
        let head = cluster.head_value(&keys)?;
        Ok(Self::open_at(cluster, keys, epoch, head))
    }

    /// As [`Self::open`], with the head the caller read after it was elected in
    /// `epoch` (final then: the old leader's appends are fenced), saving a round trip
    /// on a takeover's path.
    pub fn open_at(cluster: Cluster, keys: DbKeys, epoch: u64, head: Option<Head>) -> Self {
        Self {
            cluster,
            keys,
            epoch,
            head,
            checksums: None,
            start: head.map_or(0, |h| h.offset + 1),
            pending: None,
            compacted_to: 0,
        }
    }

    /// The epoch this log appends under.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The last committed tx offset as this writer knows it.
    pub fn head(&self) -> Option<u64> {
        self.head.map(|h| h.offset)
    }

    /// The head to write after `chunk`: its last offset and the checksum there.
    fn head_after(&self, chunk: &Chunk) -> Head {
        Head {
            offset: chunk.last,
            checksum: self.checksums.as_ref().and_then(|c| c.checksum_at(chunk.last)),
        }
    }

    /// The database's keys.
    pub fn keys(&self) -> &DbKeys {
        &self.keys
    }

    /// The cluster connection.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Appends one chunk with the fenced `Txn`.
    fn append_chunk(&mut self, chunk: &Chunk, frames: &[u8]) -> AppendOutcome {
        let (epoch_key, head_key) = (self.keys.epoch(), self.keys.head());
        let head_compare = match self.head {
            Some(prev) => Compare::value(head_key.clone(), CompareOp::Equal, prev.encode()),
            None => Compare::create_revision(head_key.clone(), CompareOp::Equal, 0),
        };
        let new_head = self.head_after(chunk);
        let txn = Txn::new()
            .when([
                Compare::value(epoch_key.clone(), CompareOp::Equal, number(self.epoch)),
                head_compare,
            ])
            .and_then([
                TxnOp::put(self.keys.log(chunk.first), &frames[chunk.bytes.clone()], None),
                TxnOp::put(head_key.clone(), new_head.encode(), None),
            ])
            .or_else([TxnOp::get(epoch_key, None), TxnOp::get(head_key, None)]);
        let mut client = self.cluster.write_client();
        self.pending = Some(chunk.clone());
        let resp = match self.cluster.run("append to the log", client.txn(txn)) {
            Ok(resp) => resp,
            Err(e) => {
                self.cluster.unpin_writes();
                return AppendOutcome::Unknown(Box::new(e));
            }
        };
        if resp.succeeded() {
            self.pending = None;
            self.head = Some(new_head);
            return AppendOutcome::Committed;
        }
        let mut values = resp.op_responses().into_iter().map(|op| match op {
            TxnOpResponse::Get(get) => get.kvs().first().map(|kv| kv.value().to_vec()),
            _ => None,
        });
        let (epoch, head) = (values.next().flatten(), values.next().flatten());
        let seen = self.parse_seen(epoch.as_deref(), head.as_deref());
        match seen {
            // Not applied, so nothing is pending; what happens next depends on why.
            Ok(seen) => {
                self.pending = None;
                self.judge(seen, chunk, frames)
            }
            Err(e) => AppendOutcome::Refused(Box::new(e)),
        }
    }

    fn parse_seen(&self, epoch: Option<&[u8]>, head: Option<&[u8]>) -> Result<Seen> {
        Ok(Seen {
            epoch: epoch
                .map(|v| parse_number(&self.keys.epoch(), v))
                .transpose()?
                .unwrap_or(0),
            head: head.map(|v| Head::parse(&self.keys.head(), v)).transpose()?,
        })
    }

    /// The compare failed: fenced, or the head moved. Same epoch and a moved head
    /// can mean this writer's own earlier append landed after all (a request that
    /// timed out, then was applied, racing a resend): then the chunk is committed.
    fn judge(&mut self, seen: Seen, chunk: &Chunk, frames: &[u8]) -> AppendOutcome {
        if seen.epoch != self.epoch {
            return AppendOutcome::Fenced { current: seen.epoch };
        }
        match self.landed(chunk, frames) {
            Ok(None) => AppendOutcome::Committed,
            Ok(Some(seen)) if seen.epoch != self.epoch => AppendOutcome::Fenced { current: seen.epoch },
            Ok(Some(seen)) => self.refuse(&seen, chunk),
            Err(e) => AppendOutcome::Unknown(Box::new(e)),
        }
    }

    fn refuse(&self, seen: &Seen, chunk: &Chunk) -> AppendOutcome {
        AppendOutcome::Refused(
            format!(
                "the replicated log's head is {:?}, not {:?} as this writer (epoch {}) expected before \
                 appending tx offsets {}..={}: another writer of the same epoch appended",
                seen.head.map(|h| h.offset),
                self.head(),
                self.epoch,
                chunk.first,
                chunk.last
            )
            .into(),
        )
    }

    /// Reads, at one revision, the key of `chunk`, the epoch and the head. If the key
    /// holds the chunk's bytes, its append committed (the batch and head are put in
    /// one `Txn`): the head is advanced and `None` returned. Otherwise what was seen.
    fn landed(&mut self, chunk: &Chunk, frames: &[u8]) -> Result<Option<Seen>> {
        let txn = Txn::new().and_then([
            TxnOp::get(self.keys.log(chunk.first), None),
            TxnOp::get(self.keys.epoch(), None),
            TxnOp::get(self.keys.head(), None),
        ]);
        let mut client = self.cluster.write_client();
        let resp = self
            .cluster
            .run("check an append", client.txn(txn))
            .inspect_err(|_| self.cluster.unpin_writes())?;
        let mut values = resp.op_responses().into_iter().map(|op| match op {
            TxnOpResponse::Get(get) => get.kvs().first().map(|kv| kv.value().to_vec()),
            _ => None,
        });
        let (batch, epoch, head) = (
            values.next().flatten(),
            values.next().flatten(),
            values.next().flatten(),
        );
        let seen = self.parse_seen(epoch.as_deref(), head.as_deref())?;
        if batch.as_deref() == Some(&frames[chunk.bytes.clone()]) {
            self.pending = None;
            // The head as this writer's append put it (nothing of this epoch came after).
            let written = seen.head.filter(|h| h.offset == chunk.last);
            self.head = Some(written.unwrap_or_else(|| self.head_after(chunk)));
            return Ok(None);
        }
        Ok(Some(seen))
    }

    /// After an unknown outcome: did the pending chunk land? `None` to go on
    /// appending (it landed, or it did not and may be sent again).
    fn settle_pending(&mut self, frames: &[u8]) -> Option<AppendOutcome> {
        let chunk = self.pending.clone()?;
        match self.landed(&chunk, frames) {
            Ok(None) => None,
            Ok(Some(seen)) if seen.epoch != self.epoch => Some(AppendOutcome::Fenced { current: seen.epoch }),
            // Not there and the head did not move: not committed (yet: the request may
            // still be applied, but a resend and it cannot both pass the head compare).
            Ok(Some(seen)) if seen.head == self.head => {
                self.pending = None;
                None
            }
            Ok(Some(seen)) => Some(self.refuse(&seen, &chunk)),
            Err(e) => Some(AppendOutcome::Unknown(Box::new(e))),
        }
    }

    /// Appends the chunks of `batch` that the cluster does not hold yet.
    fn push(&mut self, batch: Batch<'_>) -> AppendOutcome {
        let chunks = match chunks(batch.frames) {
            Ok(chunks) => chunks,
            Err(e) => return AppendOutcome::Refused(Box::new(e)),
        };
        let next = self.head.map_or(0, |h| h.offset + 1);
        // The batch must continue the log from where this writer started: offsets
        // below `next` are only skipped if this writer committed them (a resolved
        // unknown outcome), never someone else's.
        let aligned = batch.last < next || chunks.iter().any(|c| c.first == next);
        if batch.first < self.start || batch.first > next || !aligned {
            return AppendOutcome::Refused(
                format!(
                    "the batch holds tx offsets {}..={} but the replicated log continues at {next}",
                    batch.first, batch.last
                )
                .into(),
            );
        }
        for chunk in chunks.iter().filter(|c| c.first >= next) {
            match self.append_chunk(chunk, batch.frames) {
                AppendOutcome::Committed => {}
                other => return other,
            }
        }
        AppendOutcome::Committed
    }
}

/// Splits a batch into runs of whole commits of at most [`MAX_APPEND_BYTES`].
fn chunks(frames: &[u8]) -> Result<Vec<Chunk>> {
    let commits = split_commits(frames).map_err(|why| ReplicationError::BadBatch {
        key: "(the writer's batch)".into(),
        why,
    })?;
    let mut out: Vec<Chunk> = Vec::new();
    for (id, range) in commits {
        let last = id.tx_offset + u64::from(id.n) - 1;
        if range.len() > MAX_APPEND_BYTES {
            return Err(ReplicationError::BatchTooLarge {
                len: range.len(),
                max: MAX_APPEND_BYTES,
            });
        }
        match out.last_mut() {
            Some(c) if range.end - c.bytes.start <= MAX_APPEND_BYTES => {
                c.last = last;
                c.bytes.end = range.end;
            }
            _ => out.push(Chunk {
                first: id.tx_offset,
                last,
                bytes: range,
            }),
        }
    }
    Ok(out)
}

impl ReplicatedLog for EtcdLog {
    fn append(&mut self, batch: Batch<'_>) -> AppendOutcome {
        if batch.epoch != self.epoch {
            return AppendOutcome::Refused(
                format!(
                    "the writer runs epoch {} but this replicated log was opened for epoch {}",
                    batch.epoch, self.epoch
                )
                .into(),
            );
        }
        self.push(batch)
    }

    fn resolve(&mut self, batch: Batch<'_>) -> AppendOutcome {
        if let Some(outcome) = self.settle_pending(batch.frames) {
            return outcome;
        }
        self.push(batch)
    }

    fn attach_checksums(&mut self, checksums: Arc<dyn CommitChecksums>) {
        self.checksums = Some(checksums);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_at_commit_boundaries() {
        let mut frames = Vec::new();
        let big = vec![7u8; 400 << 10];
        for o in 0..5 {
            spacetime_commitlog::encode_commit(&mut frames, 1, o, &big);
        }
        let c = chunks(&frames).unwrap();
        assert_eq!(
            c.iter().map(|c| (c.first, c.last)).collect::<Vec<_>>(),
            [(0, 1), (2, 3), (4, 4)]
        );
        assert!(c.iter().all(|c| c.bytes.len() <= MAX_APPEND_BYTES));
        assert_eq!(c.last().unwrap().bytes.end, frames.len());
        let mut huge = Vec::new();
        spacetime_commitlog::encode_commit(&mut huge, 1, 0, &vec![0u8; MAX_APPEND_BYTES]);
        assert!(matches!(chunks(&huge), Err(ReplicationError::BatchTooLarge { .. })));
    }
}
