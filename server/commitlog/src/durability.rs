//! The background writer: group commit over a [`Commitlog`] and the durable offset.
//!
//! The database thread calls [`Durability::append_tx`] (or
//! [`Durability::append_tx_with`], which encodes the record in place), which frames
//! the transaction as a commit straight into a shared byte buffer and hands out its tx
//! offset: no allocation, no I/O and, while the writer is busy, no system call. One
//! writer thread repeatedly takes *everything* queued (swapping the buffer), writes it
//! with one `write` (one commit per transaction, so a torn write loses whole
//! transactions, none of which was reported durable), fsyncs once, and then publishes
//! the new durable offset. While it writes and fsyncs, the next batch gathers, so
//! under load the number of fsyncs per second stays near what the disk allows while
//! transactions per second grow with the batch. The writer is only woken (a futex
//! call) when it sleeps on an empty queue, and it only wakes others when someone
//! waits: a producer on a full queue, or a blocking [`Durability::wait_durable`].
//!
//! Waiting for durability (confirmed reads) is offered both ways: blocking with
//! [`Durability::wait_durable`] (a mutex and condvar) and async with
//! [`DurableOffset::wait_for`] (a future that works on any executor). An async
//! waiter is filed under the offset it waits for, and a new durable offset wakes only
//! the waiters it satisfies: with many connections each waiting for its own
//! transaction, a fsync does not wake the ones whose transactions are in the next
//! batch.
//!
//! Once the writer fails (a write or fsync error), nothing more becomes durable:
//! appends and waits fail with [`DurabilityError::Failed`], which names the cause.
//! What was durable before stays durable; reopening the log recovers the rest that
//! reached the disk intact and cuts a torn tail.

use crate::commitlog::Commitlog;
use crate::error::{CommitlogError, DurabilityError};
use crate::format::{encode_commit_with, COMMIT_HEADER_LEN, CRC_LEN, MAX_RECORD_LEN, RECORD_PREFIX_LEN};
use crate::replicated::{AppendOutcome, Batch, ReplicatedLog, Standalone};
use std::collections::BTreeMap;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Called by the writer before each fsync with the highest tx offset the fsync
/// makes durable; see [`DurabilityOptions::before_sync`].
pub type BeforeSync = Arc<dyn Fn(u64) -> std::io::Result<()> + Send + Sync>;

/// Called by the writer after each fsync of a batch with how long the fsync took; see
/// [`DurabilityOptions::after_sync`].
pub type AfterSync = Arc<dyn Fn(std::time::Duration) + Send + Sync>;

/// Settings of a [`Durability`].
#[derive(Clone)]
#[non_exhaustive]
pub struct DurabilityOptions {
    /// Transactions that may wait in the queue for the writer. When the queue is full,
    /// [`Durability::append_tx`] blocks until the writer takes the batch (it takes all
    /// of it at once, before writing), instead of dropping data. Default 16384
    /// (4 × 4096, as upstream).
    pub queue_capacity: usize,
    /// Fault injection for tests: called on the writer thread before each fsync. It
    /// may block (holding durability back, to show that nothing waiting on it is
    /// released early) or return an error, which the writer treats as a failed fsync
    /// (it stops, as on a disk error). Default `None`.
    pub before_sync: Option<BeforeSync>,
    /// Called on the writer thread after each batch's fsync with its duration, for a
    /// latency metric. Default `None`.
    pub after_sync: Option<AfterSync>,
    /// The epoch (leader term) written into every commit's header: 0 for a
    /// standalone database, the leader's term under replication. It may not be lower
    /// than the log's last commit's ([`Commitlog::epoch`]). Default 0.
    pub epoch: u64,
    /// How long the writer keeps asking a [`ReplicatedLog`] whose appends end with
    /// an unknown outcome before it gives up and stops the database, as on a disk
    /// error. Default 30 s. Unused by [`Standalone`].
    pub unknown_outcome_timeout: Duration,
}

impl std::fmt::Debug for DurabilityOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurabilityOptions")
            .field("queue_capacity", &self.queue_capacity)
            .field("before_sync", &self.before_sync.as_ref().map(|_| "Fn"))
            .field("after_sync", &self.after_sync.as_ref().map(|_| "Fn"))
            .field("epoch", &self.epoch)
            .field("unknown_outcome_timeout", &self.unknown_outcome_timeout)
            .finish()
    }
}

impl Default for DurabilityOptions {
    fn default() -> Self {
        Self {
            queue_capacity: 4 * 4096,
            before_sync: None,
            after_sync: None,
            epoch: 0,
            unknown_outcome_timeout: Duration::from_secs(30),
        }
    }
}

impl DurabilityOptions {
    /// Sets [`Self::queue_capacity`] (at least 1).
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n.max(1);
        self
    }

    /// Sets [`Self::epoch`].
    pub fn epoch(mut self, epoch: u64) -> Self {
        self.epoch = epoch;
        self
    }

    /// Sets [`Self::unknown_outcome_timeout`].
    pub fn unknown_outcome_timeout(mut self, timeout: Duration) -> Self {
        self.unknown_outcome_timeout = timeout;
        self
    }

    /// Sets [`Self::after_sync`].
    pub fn after_sync(mut self, hook: impl Fn(std::time::Duration) + Send + Sync + 'static) -> Self {
        self.after_sync = Some(Arc::new(hook));
        self
    }

    /// Sets [`Self::before_sync`].
    pub fn before_sync(mut self, hook: impl Fn(u64) -> std::io::Result<()> + Send + Sync + 'static) -> Self {
        self.before_sync = Some(Arc::new(hook));
        self
    }
}

/// Counters of the writer, for benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurabilityStats {
    /// Batches written, each ended by one fsync (segment rotation adds an fsync of
    /// the closed segment, not counted here).
    pub syncs: u64,
    /// Transactions made durable.
    pub txs: u64,
    /// Record bytes made durable (payloads, without framing).
    pub bytes: u64,
}

/// What waiters see: how far durability got and whether it can go further.
#[derive(Debug, Clone, Default)]
struct Status {
    durable: Option<u64>,
    failed: Option<Arc<str>>,
    closed: bool,
}

impl Status {
    /// `None` while `offset` may still become durable.
    fn outcome(&self, offset: u64) -> Option<Result<(), DurabilityError>> {
        if self.durable.is_some_and(|d| d >= offset) {
            Some(Ok(()))
        } else if let Some(why) = &self.failed {
            Some(Err(DurabilityError::Failed(why.clone())))
        } else if self.closed {
            Some(Err(DurabilityError::Closed(offset)))
        } else {
            None
        }
    }
}

struct Queue {
    /// Framed commits waiting for the writer, one per transaction, in offset order.
    pending: Vec<u8>,
    /// How many commits `pending` holds.
    pending_txs: u64,
    /// Offset the next `append_tx` hands out.
    next_tx_offset: u64,
    closing: bool,
    failed: Option<Arc<str>>,
    prune_before: Option<u64>,
    /// The writer sleeps on `has_work` and must be woken.
    writer_idle: bool,
    /// Producers sleeping on `has_space`.
    space_waiters: usize,
}

/// [`Status`], how many threads block in [`Durability::wait_durable`], and the tasks
/// waiting in [`DurableOffset::wait_for`], by the offset each waits for.
struct StatusCell {
    status: Status,
    waiters: usize,
    tasks: BTreeMap<u64, Vec<Waker>>,
}

struct Shared {
    capacity: u64,
    queue: Mutex<Queue>,
    /// Signalled when work arrives for an idle writer (and on prune and close).
    has_work: Condvar,
    /// Signalled when the writer takes the queue while producers wait (and on failure
    /// or close).
    has_space: Condvar,
    status: Mutex<StatusCell>,
    status_changed: Condvar,
    /// Mirrors `Queue::next_tx_offset` for lock-free reads.
    appended: Arc<AtomicU64>,
    before_sync: Option<BeforeSync>,
    after_sync: Option<AfterSync>,
    /// Written into every commit header.
    epoch: u64,
    unknown_outcome_timeout: Duration,
    syncs: AtomicU64,
    txs: AtomicU64,
    bytes: AtomicU64,
}

/// Takes a lock even if a thread panicked while holding it: every critical section
/// here leaves the data consistent at each step.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn publish(&self, update: impl FnOnce(&mut Status)) {
        let mut cell = lock(&self.status);
        update(&mut cell.status);
        let ready = if cell.status.failed.is_some() || cell.status.closed {
            std::mem::take(&mut cell.tasks)
        } else {
            match cell.status.durable {
                // Keep the waiters of later offsets; take the rest.
                Some(durable) => {
                    let later = cell.tasks.split_off(&durable.saturating_add(1));
                    std::mem::replace(&mut cell.tasks, later)
                }
                None => BTreeMap::new(),
            }
        };
        let waiters = cell.waiters > 0;
        drop(cell);
        if waiters {
            self.status_changed.notify_all();
        }
        ready.into_values().flatten().for_each(Waker::wake);
    }

    /// Refuses appends and fails waits from now on. The first failure is the one kept.
    fn fail(&self, why: Arc<str>) {
        // Both under the queue lock: whoever sees an append refused, or a wait failed,
        // sees the other too.
        let mut q = lock(&self.queue);
        q.failed.get_or_insert(why.clone());
        q.writer_idle = false;
        self.publish(|s| {
            s.failed.get_or_insert(why);
        });
        drop(q);
        self.has_space.notify_all();
        self.has_work.notify_one();
    }
}

/// The group-commit writer of one database's log. See the module docs.
///
/// `Durability` is `Send + Sync`: share it (e.g. in an `Arc`) between the database
/// thread that appends and the tasks that wait.
pub struct Durability {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<Result<Commitlog, CommitlogError>>>,
}

impl std::fmt::Debug for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durability")
            .field("next_tx_offset", &self.next_tx_offset())
            .field("durable_offset", &self.durable_offset())
            .finish_non_exhaustive()
    }
}

impl Durability {
    /// Starts the writer thread over `log`, standalone (no cluster: a batch is
    /// durable once fsynced here). Offsets continue from [`Commitlog::next_tx_offset`],
    /// and what the log holds already counts as durable.
    ///
    /// # Errors
    /// [`CommitlogError::Io`] if the thread cannot be spawned;
    /// [`CommitlogError::EpochBehindLog`] if [`DurabilityOptions::epoch`] is lower
    /// than the log's.
    pub fn start(log: Commitlog, options: DurabilityOptions) -> Result<Self, CommitlogError> {
        Self::start_replicated(log, options, Box::new(Standalone))
    }

    /// As [`start`](Self::start), and every batch is also appended to `replicated`
    /// (in parallel with the local write and fsync) under
    /// [`DurabilityOptions::epoch`]; a batch becomes durable when both have it. If
    /// the replicated log answers that the cluster moved to a newer epoch, or an
    /// outcome stays unknown past [`DurabilityOptions::unknown_outcome_timeout`],
    /// the writer fails as on a disk error: nothing more is confirmed, appends and
    /// waits fail with [`DurabilityError::Failed`] naming the cause, and
    /// [`close`](Self::close) returns that error.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_replicated(
        log: Commitlog,
        options: DurabilityOptions,
        replicated: Box<dyn ReplicatedLog>,
    ) -> Result<Self, CommitlogError> {
        if options.epoch < log.epoch() {
            return Err(CommitlogError::EpochBehindLog {
                epoch: options.epoch,
                log_epoch: log.epoch(),
            });
        }
        let next = log.next_tx_offset();
        let status = Status {
            durable: log.durable_offset(),
            failed: None,
            closed: false,
        };
        let shared = Arc::new(Shared {
            capacity: options.queue_capacity.max(1) as u64,
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                pending_txs: 0,
                next_tx_offset: next,
                closing: false,
                failed: None,
                prune_before: None,
                writer_idle: false,
                space_waiters: 0,
            }),
            has_work: Condvar::new(),
            has_space: Condvar::new(),
            status: Mutex::new(StatusCell {
                status,
                waiters: 0,
                tasks: BTreeMap::new(),
            }),
            status_changed: Condvar::new(),
            appended: Arc::new(AtomicU64::new(next)),
            before_sync: options.before_sync,
            after_sync: options.after_sync,
            epoch: options.epoch,
            unknown_outcome_timeout: options.unknown_outcome_timeout,
            syncs: AtomicU64::new(0),
            txs: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        });
        let dir = log.dir().to_owned();
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("commitlog-writer".into())
                .spawn(move || run_writer(&shared, log, replicated))
                .map_err(|source| CommitlogError::Io {
                    op: "start the writer thread for",
                    path: dir,
                    source,
                })?
        };
        Ok(Self {
            shared,
            writer: Some(writer),
        })
    }

    /// Queues one transaction's record and returns its tx offset.
    ///
    /// Does not wait for I/O: the record is framed into the queue's buffer. Offsets
    /// are handed out in call order, consecutively, across all threads. If
    /// `queue_capacity` transactions are already waiting, this blocks until the writer
    /// takes them (one batch write away), so a burst slows the caller briefly instead
    /// of losing data or growing memory without bound.
    ///
    /// # Errors
    /// [`DurabilityError::RecordTooLarge`]; [`DurabilityError::Failed`] once the writer
    /// has failed; [`DurabilityError::Closed`] after [`close`](Self::close) began.
    pub fn append_tx(&self, payload: impl AsRef<[u8]>) -> Result<u64, DurabilityError> {
        let payload = payload.as_ref();
        if payload.len() > MAX_RECORD_LEN {
            return Err(DurabilityError::RecordTooLarge {
                len: payload.len(),
                max: MAX_RECORD_LEN,
            });
        }
        self.append_tx_with(|out| out.extend_from_slice(payload))
    }

    /// As [`append_tx`](Self::append_tx), but `encode` appends the record to the
    /// queue's buffer itself, so it is never copied. `encode` runs with the queue
    /// locked: it should only encode (a panic in it leaves the queue as it was).
    ///
    /// # Errors
    /// As [`append_tx`](Self::append_tx).
    pub fn append_tx_with(&self, encode: impl FnOnce(&mut Vec<u8>)) -> Result<u64, DurabilityError> {
        let mut q = lock(&self.shared.queue);
        loop {
            if let Some(why) = &q.failed {
                return Err(DurabilityError::Failed(why.clone()));
            }
            if q.closing {
                return Err(DurabilityError::Closed(q.next_tx_offset));
            }
            if q.pending_txs < self.shared.capacity {
                break;
            }
            q.space_waiters += 1;
            q = self.shared.has_space.wait(q).unwrap_or_else(|e| e.into_inner());
            q.space_waiters -= 1;
        }
        let offset = q.next_tx_offset;
        encode_commit_with(&mut q.pending, self.shared.epoch, offset, encode).map_err(|len| {
            DurabilityError::RecordTooLarge {
                len,
                max: MAX_RECORD_LEN,
            }
        })?;
        q.next_tx_offset += 1;
        q.pending_txs += 1;
        self.shared.appended.store(q.next_tx_offset, Ordering::Release);
        // Only a writer asleep on an empty queue needs the (system) call; a busy one
        // takes this commit with its next batch.
        let wake = std::mem::take(&mut q.writer_idle);
        drop(q);
        if wake {
            self.shared.has_work.notify_one();
        }
        Ok(offset)
    }

    /// The highest tx offset that is durable, or `None` if none is yet.
    pub fn durable_offset(&self) -> Option<u64> {
        lock(&self.shared.status).status.durable
    }

    /// The tx offset the next [`append_tx`](Self::append_tx) returns.
    pub fn next_tx_offset(&self) -> u64 {
        self.shared.appended.load(Ordering::Acquire)
    }

    /// Blocks until `offset` is durable, or until `deadline` if one is given.
    ///
    /// For a confirmed read of committed state (no transaction of its own), wait for
    /// `next_tx_offset() - 1` taken when the read is done.
    ///
    /// # Errors
    /// [`DurabilityError::NotAppended`] if `offset` was never handed out (waiting
    /// would never end); [`DurabilityError::Timeout`]; [`DurabilityError::Failed`] or
    /// [`DurabilityError::Closed`] if it can no longer become durable.
    pub fn wait_durable(&self, offset: u64, deadline: Option<Instant>) -> Result<(), DurabilityError> {
        let mut cell = lock(&self.shared.status);
        if let Some(Err(failed)) = cell.status.outcome(offset) {
            return Err(failed);
        }
        check_appended(&self.shared.appended, offset)?;
        loop {
            if let Some(outcome) = cell.status.outcome(offset) {
                return outcome;
            }
            cell.waiters += 1;
            cell = match deadline {
                None => self.shared.status_changed.wait(cell).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        cell.waiters -= 1;
                        return Err(DurabilityError::Timeout(offset));
                    }
                    let waited = self.shared.status_changed.wait_timeout(cell, deadline - now);
                    waited.unwrap_or_else(|e| e.into_inner()).0
                }
            };
            cell.waiters -= 1;
        }
    }

    /// A handle for waiting on the durable offset from async code; clone it freely.
    pub fn durable_offset_watch(&self) -> DurableOffset {
        DurableOffset {
            shared: self.shared.clone(),
        }
    }

    /// Counters of the writer so far.
    pub fn stats(&self) -> DurabilityStats {
        DurabilityStats {
            syncs: self.shared.syncs.load(Ordering::Relaxed),
            txs: self.shared.txs.load(Ordering::Relaxed),
            bytes: self.shared.bytes.load(Ordering::Relaxed),
        }
    }

    /// Stops durability for good, as a disk error would: later appends and waits
    /// for anything not yet durable fail with [`DurabilityError::Failed`] naming
    /// `why`. For a caller that could not log a transaction it already applied (its
    /// state and the log now differ, so nothing after it may be confirmed). What was
    /// queued before may still reach the disk, but is not reported durable unless it
    /// already was.
    pub fn fail(&self, why: impl Into<Arc<str>>) {
        self.shared.fail(why.into());
    }

    /// Why the writer stopped, if it failed.
    pub fn failure(&self) -> Option<Arc<str>> {
        lock(&self.shared.status).status.failed.clone()
    }

    /// Asks the writer to remove log segments holding only offsets below `tx_offset`
    /// (see [`Commitlog::prune_before`]) after its current batch; does not wait. A
    /// failure to prune is logged, not fatal.
    pub fn request_prune(&self, tx_offset: u64) {
        let mut q = lock(&self.shared.queue);
        q.prune_before = Some(q.prune_before.map_or(tx_offset, |p| p.max(tx_offset)));
        q.writer_idle = false;
        drop(q);
        self.shared.has_work.notify_one();
    }

    /// Stops accepting appends, writes and fsyncs everything queued, stops the writer
    /// and returns the log (for inspection or to start again).
    ///
    /// # Errors
    /// [`DurabilityError::Failed`] if the writer failed (now or earlier).
    pub fn close(mut self) -> Result<Commitlog, DurabilityError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<Commitlog, DurabilityError> {
        lock(&self.shared.queue).closing = true;
        self.shared.has_work.notify_one();
        self.shared.has_space.notify_all();
        let writer = self.writer.take().expect("shutdown runs once");
        let result = match writer.join() {
            Ok(Ok(log)) => Ok(log),
            Ok(Err(e)) => Err(DurabilityError::Failed(e.to_string().into())),
            Err(_) => Err(DurabilityError::Failed("the writer thread panicked".into())),
        };
        self.shared.publish(|s| s.closed = true);
        result
    }
}

impl Drop for Durability {
    fn drop(&mut self) {
        if self.writer.is_some() {
            if let Err(e) = self.shutdown() {
                log::error!("commit log writer stopped with an error: {e}");
            }
        }
    }
}

fn check_appended(appended: &AtomicU64, offset: u64) -> Result<(), DurabilityError> {
    let next = appended.load(Ordering::Acquire);
    if offset >= next {
        return Err(DurabilityError::NotAppended { offset, next });
    }
    Ok(())
}

/// Marks the writer failed if it unwinds, so nobody waits forever on a dead thread.
struct FailOnPanic<'a>(&'a Shared);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail("the writer thread panicked".into());
        }
    }
}

/// The largest batch buffer the writer keeps for reuse (16 MiB).
const KEEP_BUFFER_CAPACITY: usize = 16 << 20;

fn run_writer(
    shared: &Shared,
    mut log: Commitlog,
    mut replicated: Box<dyn ReplicatedLog>,
) -> Result<Commitlog, CommitlogError> {
    let _guard = FailOnPanic(shared);
    let mut batch: Vec<u8> = Vec::new();
    loop {
        let (txs, closing, prune, producers_wait) = {
            let mut q = lock(&shared.queue);
            while q.pending_txs == 0 && !q.closing && q.prune_before.is_none() {
                q.writer_idle = true;
                q = shared.has_work.wait(q).unwrap_or_else(|e| e.into_inner());
            }
            q.writer_idle = false;
            std::mem::swap(&mut q.pending, &mut batch);
            let txs = std::mem::take(&mut q.pending_txs);
            (txs, q.closing, q.prune_before.take(), q.space_waiters > 0)
        };
        if producers_wait {
            shared.has_space.notify_all();
        }
        if txs > 0 {
            if let Err(e) = write_batch(shared, &mut log, replicated.as_mut(), &batch, txs) {
                shared.fail(e.to_string().into());
                return Err(e);
            }
            shared.syncs.fetch_add(1, Ordering::Relaxed);
            shared.txs.fetch_add(txs, Ordering::Relaxed);
            let framing = (COMMIT_HEADER_LEN + RECORD_PREFIX_LEN + CRC_LEN) as u64;
            shared
                .bytes
                .fetch_add(batch.len() as u64 - txs * framing, Ordering::Relaxed);
            let durable = log.durable_offset();
            shared.publish(|s| s.durable = durable);
            batch.clear();
            // The buffers are swapped back and forth and keep their capacity; one
            // huge transaction should not pin that much memory for good.
            if batch.capacity() > KEEP_BUFFER_CAPACITY {
                batch = Vec::new();
            }
        }
        if let Some(before) = prune {
            match log.prune_before(before) {
                Ok(removed) if !removed.is_empty() => {
                    log::info!(
                        "commit log {}: pruned {} segment(s) before tx offset {before}",
                        log.dir().display(),
                        removed.len()
                    );
                }
                Ok(_) => {}
                Err(e) => log::warn!("commit log {}: cannot prune segments: {e}", log.dir().display()),
            }
        }
        // `append_tx` refuses new work once closing is set, so the batch just written
        // was the last.
        if closing {
            return Ok(log);
        }
    }
}

/// Writes `txs` framed commits and fsyncs them, and appends them to the replicated
/// log meanwhile; returns once both have them.
fn write_batch(
    shared: &Shared,
    log: &mut Commitlog,
    replicated: &mut dyn ReplicatedLog,
    batch: &[u8],
    txs: u64,
) -> Result<(), CommitlogError> {
    let first = log.next_tx_offset();
    let to_replicate = Batch {
        epoch: shared.epoch,
        first,
        last: first + txs - 1,
        frames: batch,
    };
    let patience = shared.unknown_outcome_timeout;
    if !replicated.in_parallel() {
        write_local(shared, log, batch, first, txs)?;
        return replicate(replicated, to_replicate, patience);
    }
    // The local write and fsync go to a helper thread and the replicated append stays
    // on this one: the append (a quorum's fsync and a network round trip) is nearly
    // always the slower, so the writer wakes once, when its answer arrives, instead
    // of a second time when a helper finishing last is joined.
    let dir = log.dir().to_owned();
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("commitlog-fsync".into())
            .spawn_scoped(scope, move || write_local(shared, log, batch, first, txs));
        match spawned {
            Ok(local) => {
                let remote = replicate(replicated, to_replicate, patience);
                let local = local.join().unwrap_or_else(|_| {
                    Err(CommitlogError::Io {
                        op: "write and fsync (the thread panicked)",
                        path: dir,
                        source: std::io::Error::other("the local write thread panicked"),
                    })
                });
                local.and(remote)
            }
            Err(source) => Err(CommitlogError::Io {
                op: "start the local write thread for",
                path: dir,
                source,
            }),
        }
    })
}

/// Appends `batch` to the replicated log; resolves unknown outcomes until
/// `patience` runs out. An error stops the writer.
fn replicate(replicated: &mut dyn ReplicatedLog, batch: Batch<'_>, patience: Duration) -> Result<(), CommitlogError> {
    let deadline = Instant::now() + patience;
    let mut backoff = Duration::from_millis(5);
    let mut outcome = replicated.append(batch);
    loop {
        match outcome {
            AppendOutcome::Committed => return Ok(()),
            AppendOutcome::Fenced { current } => {
                return Err(CommitlogError::Replication(
                    format!(
                        "deposed: this node writes epoch {}, the cluster is at epoch {current}; tx offsets from {} \
                         on were not committed by the cluster",
                        batch.epoch, batch.first
                    )
                    .into(),
                ))
            }
            AppendOutcome::Refused(why) => {
                return Err(CommitlogError::Replication(
                    format!(
                        "the replicated log refused tx offsets {}..={}: {why}",
                        batch.first, batch.last
                    )
                    .into(),
                ))
            }
            AppendOutcome::Unknown(why) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(CommitlogError::Replication(
                        format!(
                            "the replicated log did not confirm tx offsets {}..={} within {patience:?}: {why}",
                            batch.first, batch.last
                        )
                        .into(),
                    ));
                }
                log::warn!(
                    "replicated append of tx offsets {}..={}: outcome unknown ({why}); checking",
                    batch.first,
                    batch.last
                );
                // Backing off is the point here: the cluster is unreachable or slow.
                std::thread::sleep(backoff.min(deadline - now));
                backoff = (backoff * 2).min(Duration::from_secs(1));
                outcome = replicated.resolve(batch);
            }
        }
    }
}

/// Writes `txs` framed commits to the local log and fsyncs them.
fn write_local(shared: &Shared, log: &mut Commitlog, batch: &[u8], first: u64, txs: u64) -> Result<(), CommitlogError> {
    log.append_encoded(batch, first, txs)?;
    if let Some(hook) = &shared.before_sync {
        let last = log.next_tx_offset() - 1;
        hook(last).map_err(|source| CommitlogError::Io {
            op: "fsync",
            path: log.dir().to_owned(),
            source,
        })?;
    }
    let started = Instant::now();
    log.sync()?;
    if let Some(hook) = &shared.after_sync {
        hook(started.elapsed());
    }
    Ok(())
}

/// An async view of a [`Durability`]'s durable offset (works on any executor). Clone
/// one per waiting task; it outlives the [`Durability`] (then every offset not yet
/// durable fails with [`DurabilityError::Closed`]).
#[derive(Clone)]
pub struct DurableOffset {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DurableOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableOffset")
            .field("durable", &self.get())
            .finish_non_exhaustive()
    }
}

impl DurableOffset {
    /// The highest durable tx offset, or `None` if none is yet.
    pub fn get(&self) -> Option<u64> {
        lock(&self.shared.status).status.durable
    }

    /// Why the writer stopped, if it failed (see [`Durability::fail`]): nothing will
    /// become durable any more.
    pub fn failure(&self) -> Option<Arc<str>> {
        lock(&self.shared.status).status.failed.clone()
    }

    /// Waits until `offset` is durable. Wrap it in a timeout if one is needed; a
    /// dropped wait leaves nothing behind but a stale wake-up.
    ///
    /// # Errors
    /// As [`Durability::wait_durable`], without the timeout.
    pub async fn wait_for(&mut self, offset: u64) -> Result<(), DurabilityError> {
        {
            // A failed writer is the answer even for an offset never handed out: the
            // caller may be waiting for a transaction whose append the failure refused.
            let cell = lock(&self.shared.status);
            if let Some(Err(failed)) = cell.status.outcome(offset) {
                return Err(failed);
            }
        }
        check_appended(&self.shared.appended, offset)?;
        poll_fn(|cx| {
            let mut cell = lock(&self.shared.status);
            if let Some(outcome) = cell.status.outcome(offset) {
                return Poll::Ready(outcome);
            }
            // Filed under the status lock, so the publish that satisfies `offset`
            // (which takes the same lock) cannot be missed.
            let wakers = cell.tasks.entry(offset).or_default();
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}
