//! Following the replicated log (design §7): a standby or reader reads the batches
//! the cluster holds from a tx offset, then watches the log prefix from the revision
//! of that read, so every batch committed later arrives once, in order. The read is
//! paged ([`ClusterOptions::read_page_keys`](crate::ClusterOptions::read_page_keys)
//! keys a page, every page at the first one's revision) and a page is read only when
//! the batches before it were handed out, so a long log is never held whole. The watch
//! covers the head key too ([`DbKeys::tail_range`]): the head put with each batch
//! carries the leader's rolling checksum after it, which the batch hands on
//! ([`TailBatch::checksum`]).

use crate::cluster::{Cluster, RangePages};
use crate::error::{ReplicationError, Result};
use crate::keys::{DbKeys, Head};
use etcd_client::{EventType, KeyValue, WatchOptions, WatchStream};
use spacetime_commitlog::commit_ids;
use std::collections::VecDeque;
use std::time::Duration;

/// One committed batch of the replicated log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailBatch {
    /// Tx offset of its first transaction.
    pub first: u64,
    /// Tx offset of its last transaction.
    pub last: u64,
    /// The commits, framed as the segment files hold them (checked).
    pub frames: Vec<u8>,
    /// The leader's rolling checksum of the database's contents after `last`, as
    /// published with the head; `None` from a leader that published none, and for
    /// batches read at the start of a tail other than the one the head ends.
    pub checksum: Option<u128>,
}

/// The replicated log of one database from some tx offset on; see [`Cluster::tail`].
pub struct LogTail {
    cluster: Cluster,
    keys: DbKeys,
    /// Batches read but not handed out yet.
    ready: VecDeque<TailBatch>,
    /// The tx offset the next batch must start at (or contain).
    next: u64,
    /// The etcd revision seen so far: a watch started again resumes after it.
    revision: i64,
    /// The rest of the first read (at `revision`), read a page at a time before the
    /// watch's events are looked at.
    pages: RangePages,
    /// The head as of that read: its checksum goes to the batch it ends, once the
    /// page holding that batch is read.
    snapshot_head: Option<Head>,
    watch: WatchStream,
    /// Whether the leader key was deleted (a resignation: a planned handover) since
    /// [`LogTail::take_leader_gone`] last said so; the watch's range holds the key.
    leader_gone: bool,
}

/// Watches the log and the head for changes after `revision`.
fn watch_from(cluster: &Cluster, keys: &DbKeys, revision: i64) -> Result<WatchStream> {
    let (from, to) = keys.tail_range();
    let options = WatchOptions::new().with_range(to).with_start_revision(revision + 1);
    let mut client = cluster.bulk_watch();
    cluster.run("watch the log", client.watch(from, Some(options)))
}

impl std::fmt::Debug for LogTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogTail")
            .field("keys", &self.keys)
            .field("next", &self.next)
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Follows the log of the database with `keys` from tx offset `from`: the batches
    /// the cluster holds now, then each one committed later, in order (see
    /// [`LogTail::next`]). Trimming deletes are not reported.
    ///
    /// # Errors
    /// etcd errors and timeouts; [`ReplicationError::BadBatch`] for a damaged batch.
    pub fn tail(&self, keys: &DbKeys, from: u64) -> Result<LogTail> {
        let (range_start, range_end) = keys.tail_range();
        let mut pages = RangePages::new(range_start, range_end);
        let first = self.read_page("read the log", &mut pages)?.unwrap_or_default();
        let revision = pages.revision();
        let watch = watch_from(self, keys, revision)?;
        let mut tail = LogTail {
            cluster: self.clone(),
            keys: keys.clone(),
            ready: VecDeque::new(),
            next: from,
            revision,
            pages,
            snapshot_head: None,
            watch,
            leader_gone: false,
        };
        tail.take_page(&first)?;
        Ok(tail)
    }
}

impl LogTail {
    /// The next committed batch, waiting up to `timeout` for one; `None` if none
    /// came, or early when the leader key was deleted meanwhile (see
    /// [`Self::take_leader_gone`]). Batches come in order and without gaps from the
    /// `from` given to [`Cluster::tail`] (a batch holding `from` may start before it).
    ///
    /// # Errors
    /// [`ReplicationError::WatchCancelled`] (e.g. the watch fell behind etcd's
    /// compaction: follow again from the offset reached); etcd errors and timeouts
    /// reading a page of the first read (notably when etcd compacted its revision
    /// meanwhile: follow again; otherwise a later call reads the page again; each page
    /// read has the request timeout, not `timeout`); [`ReplicationError::BadBatch`]
    /// for a damaged batch or a gap; etcd errors when the watch broke (the member
    /// serving it went away) and no member took it up again before the timeout. A
    /// broken watch is otherwise resumed after the last revision seen, losing and
    /// repeating nothing.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<TailBatch>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(batch) = self.ready.pop_front() {
                return Ok(Some(batch));
            }
            if !self.pages.done() {
                // The rest of the first read comes before any event of the watch,
                // which starts after its revision. On an error the page is read again
                // by the next call.
                if let Some(page) = self.cluster.read_page("read the log", &mut self.pages)? {
                    self.take_page(&page)?;
                }
                continue;
            }
            let cluster = self.cluster.clone();
            let message = cluster.block_on(async { tokio::time::timeout_at(deadline, self.watch.message()).await });
            let Ok(message) = message else {
                return Ok(None);
            };
            let resp = match message {
                Ok(Some(resp)) => resp,
                // The member serving the watch went away (or the stream broke): watch
                // again after the last revision seen, through any member that answers,
                // until the deadline.
                lost => {
                    let why = match lost {
                        Err(e) => e.to_string(),
                        _ => "the watch stream ended".to_owned(),
                    };
                    log::warn!("following {}: {why}; watching again", self.keys.log_prefix());
                    self.rewatch(deadline)?;
                    continue;
                }
            };
            if resp.canceled() {
                let why = format!(
                    "{} (compacted up to revision {})",
                    resp.cancel_reason(),
                    resp.compact_revision()
                );
                return Err(ReplicationError::WatchCancelled(why));
            }
            for event in resp.events() {
                if event.event_type() != EventType::Put {
                    if let Some(kv) = event.kv() {
                        self.revision = self.revision.max(kv.mod_revision());
                        self.leader_gone |= kv.key() == self.keys.leader().as_bytes();
                    }
                    continue;
                }
                if let Some(kv) = event.kv() {
                    self.revision = self.revision.max(kv.mod_revision());
                    if kv.key() == self.keys.head().as_bytes() {
                        self.note_head(Head::parse(&self.keys.head(), kv.value())?);
                    } else {
                        self.take(kv.key(), kv.value())?;
                    }
                }
            }
            if self.leader_gone && self.ready.is_empty() {
                return Ok(None);
            }
        }
    }

    /// Whether the leader resigned (its key was deleted) since this was last asked;
    /// [`Self::next`] returns early when it sees that, so a follower can campaign at
    /// once instead of at its next periodic look at the leader key.
    pub fn take_leader_gone(&mut self) -> bool {
        std::mem::take(&mut self.leader_gone)
    }

    /// Starts the watch again after the last revision seen, retrying until `deadline`.
    fn rewatch(&mut self, deadline: tokio::time::Instant) -> Result<()> {
        loop {
            match watch_from(&self.cluster, &self.keys, self.revision) {
                Ok(watch) => {
                    self.watch = watch;
                    return Ok(());
                }
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                // Not a wait for something to happen: a pause between reconnection
                // attempts to a cluster that is not answering.
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Takes one page of the first read. Keys come in order: the head (in the first
    /// page) before the batches.
    fn take_page(&mut self, page: &[KeyValue]) -> Result<()> {
        for kv in page {
            if kv.key() == self.keys.head().as_bytes() {
                self.snapshot_head = Some(Head::parse(&self.keys.head(), kv.value())?);
            } else {
                self.take(kv.key(), kv.value())?;
            }
        }
        if let Some(head) = self.snapshot_head {
            self.note_head(head);
        }
        if self.pages.done() {
            self.snapshot_head = None;
        }
        Ok(())
    }

    /// Gives the head's checksum to the queued batch it ends (the batch put in the same
    /// `Txn`, whose event comes first in the same watch response).
    fn note_head(&mut self, head: Head) {
        if let Some(batch) = self.ready.iter_mut().rev().find(|b| b.last == head.offset) {
            batch.checksum = head.checksum;
        }
    }

    /// Checks one log key's batch and queues it if it reaches `next`.
    fn take(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let name = String::from_utf8_lossy(key).into_owned();
        let Some(first) = self.keys.log_offset(key) else {
            return Ok(());
        };
        let ids = commit_ids(value).map_err(|why| ReplicationError::BadBatch { key: name.clone(), why })?;
        let (Some(head), Some(tail)) = (ids.first(), ids.last()) else {
            return Err(ReplicationError::BadBatch {
                key: name,
                why: "empty batch".into(),
            });
        };
        let last = tail.tx_offset + u64::from(tail.n) - 1;
        if head.tx_offset != first {
            return Err(ReplicationError::BadBatch {
                key: name,
                why: format!("its first commit has tx offset {}", head.tx_offset),
            });
        }
        if last < self.next {
            return Ok(());
        }
        if first > self.next {
            return Err(ReplicationError::BadBatch {
                key: name,
                why: format!(
                    "it starts at tx offset {first} but {} was next (trimmed, or a gap)",
                    self.next
                ),
            });
        }
        self.next = last + 1;
        self.ready.push_back(TailBatch {
            first,
            last,
            frames: value.to_vec(),
            checksum: None,
        });
        Ok(())
    }
}
