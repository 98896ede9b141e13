//! The commit log of one database: a directory of segment files, opened with a full
//! check that cuts a damaged tail at the last good commit, then appended to one
//! record (transaction) per commit, rotating to a new segment at a size limit.
//!
//! This is the synchronous core. It does no batching of its own beyond a write
//! buffer: [`Commitlog::sync`] is the caller's group commit. [`crate::Durability`]
//! runs it on a background thread; tests and tools use it directly.

use crate::error::{io_err, CommitlogError};
use crate::format::{
    encode_commit, parse_segment_file_name, segment_file_name, segment_header, CommitHeader, CommitId,
    COMMIT_HEADER_LEN, CRC_LEN, MAX_RECORD_LEN, RECORD_PREFIX_LEN, SEGMENT_HEADER_LEN,
};
use crate::fsutil::{create_dir, list_names, remove_tmp_files, set_aside, sync_dir, write_atomically};
use crate::fsync_ledger::{self, FsyncLedger, FSYNC_LEDGER_FILE};
use crate::header_repair::repair_header;
use crate::replay::Replay;
use crate::report::{RecoveryReport, TailCut};
use crate::segment::{Damage, SegmentReader, Step};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Settings of a [`Commitlog`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CommitlogOptions {
    /// A segment is closed and a new one started before a commit would take it past
    /// this many bytes (a single commit larger than this gets a segment of its own).
    /// Default 1 GiB, as upstream's `max-segment-size`.
    pub max_segment_size: u64,
    /// Appended commits are buffered in memory and written to the file once this many
    /// bytes are pending (and always by [`Commitlog::flush`] and [`Commitlog::sync`]).
    /// Default 1 MiB.
    pub write_buffer_size: usize,
}

impl Default for CommitlogOptions {
    fn default() -> Self {
        Self {
            max_segment_size: 1 << 30,
            write_buffer_size: 1 << 20,
        }
    }
}

impl CommitlogOptions {
    /// Sets [`Self::max_segment_size`].
    pub fn max_segment_size(mut self, bytes: u64) -> Self {
        self.max_segment_size = bytes;
        self
    }

    /// Sets [`Self::write_buffer_size`].
    pub fn write_buffer_size(mut self, bytes: usize) -> Self {
        self.write_buffer_size = bytes;
        self
    }
}

/// A segment file and the tx offset of its first commit.
#[derive(Debug, Clone)]
pub(crate) struct SegmentMeta {
    pub start: u64,
    pub path: PathBuf,
}

/// The append-only commit log of one database.
///
/// Tx offsets are consecutive from the first commit the log holds; each
/// [`append`](Self::append) writes one commit of one record and returns its offset.
/// A commit is durable once a later [`sync`](Self::sync) returned.
///
/// # Errors
/// After a failed write or fsync the log is poisoned: the state of the file is
/// unknown (and after a failed fsync the page cache cannot be trusted), so every
/// later call fails with [`CommitlogError::Poisoned`]. Reopening the directory
/// recovers: anything not durable is either intact or cut as a torn tail.
#[derive(Debug)]
pub struct Commitlog {
    dir: PathBuf,
    options: CommitlogOptions,
    /// Every segment in order; the last is the one being appended to.
    segments: Vec<SegmentMeta>,
    active: File,
    /// Bytes of the active segment, buffered ones included.
    active_len: u64,
    /// Encoded commits not yet written to `active`.
    buf: Vec<u8>,
    /// The offset the next append gets.
    next_tx_offset: u64,
    /// Every offset below this is written to the file (maybe not yet synced).
    written_tx_offset: u64,
    /// Every offset below this is fsynced.
    synced_tx_offset: u64,
    /// The epoch (leader term) of the last commit: appends may not go below it.
    epoch: u64,
    poisoned: Option<Arc<str>>,
    /// Each segment's fsynced length, kept only for power-loss tests
    /// ([`crate::fsync_ledger`]); `None` in a normal run.
    ledger: Option<FsyncLedger>,
}

/// Where the scan of the segments stopped on damage.
struct CutPoint {
    /// Index of the damaged segment.
    segment: usize,
    at: u64,
    damage: Damage,
    /// Commits counted in the damaged segment from `at` on.
    commits: u64,
}

impl Commitlog {
    /// Opens (or creates) the log in `dir`, verifying every commit.
    ///
    /// Reads every segment in order and checks each commit's frame, CRC32C, records
    /// and tx offset. A damaged segment header is rewritten when the commits behind it
    /// verify (reported in [`RecoveryReport::repaired_headers`]). At the first damaged
    /// commit it cuts: the damaged segment is truncated at the last good commit (its
    /// cut bytes saved to `<segment>.<byte>.dropped`), later segments are renamed
    /// `<segment>.dropped`, and the [`RecoveryReport`] (also logged at `warn`) says
    /// where, why and how much was lost. Commits before the damage are never dropped.
    /// An all-zero tail is end of data, truncated silently. What was recovered is
    /// fsynced before this returns, so it is all durable.
    ///
    /// # Errors
    /// [`CommitlogError::UnreadableSegment`] when a segment's header is damaged and its
    /// first commit does not verify either (nothing is changed then: dropping the
    /// segment could lose a whole segment of commits); I/O errors. Other damage is
    /// repaired and reported, not returned.
    pub fn open(dir: impl AsRef<Path>, options: CommitlogOptions) -> Result<(Self, RecoveryReport), CommitlogError> {
        Self::open_visiting(dir, options, |_, _| {})
    }

    /// As [`open`](Self::open), and calls `visit(tx offset, record)` for every record
    /// the check reads and keeps, in order: a caller that needs one look at the whole
    /// log (say, for the last record of some kind) gets it from the same read.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_visiting(
        dir: impl AsRef<Path>,
        options: CommitlogOptions,
        mut visit: impl FnMut(u64, &[u8]),
    ) -> Result<(Self, RecoveryReport), CommitlogError> {
        let dir = dir.as_ref().to_owned();
        create_dir(&dir)?;
        let mut report = RecoveryReport {
            dir: dir.clone(),
            ..RecoveryReport::default()
        };
        report.removed_temp_files = remove_tmp_files(&dir)?;
        let mut segments = Vec::new();
        for name in list_names(&dir)? {
            match parse_segment_file_name(&name) {
                Some(start) => segments.push(SegmentMeta {
                    start,
                    path: dir.join(name),
                }),
                None if name == FSYNC_LEDGER_FILE => {}
                None => report.ignored_files.push(name),
            }
        }
        report.ignored_files.sort();
        segments.sort_by_key(|s| s.start);

        if segments.is_empty() {
            let name = segment_file_name(0);
            let active = write_atomically(&dir, &name, &[&segment_header()])?;
            segments.push(SegmentMeta {
                start: 0,
                path: dir.join(name),
            });
            report.segments = 1;
            let log = Self::assemble(dir, options, segments, active, SEGMENT_HEADER_LEN as u64, 0, 0);
            return Ok((log, report));
        }

        let (next_tx_offset, active_len, epoch, cut) = scan(&segments, &mut report, &mut visit)?;
        if let Some(cut) = cut {
            let tail = cut_tail(&mut segments, cut, next_tx_offset)?;
            log::warn!("commit log {}: {tail}", dir.display());
            report.cut = Some(tail);
        }
        if report.zero_tail_bytes > 0 {
            log::info!(
                "commit log {}: truncated {} all-zero bytes after the last commit",
                dir.display(),
                report.zero_tail_bytes
            );
        }
        // A cut is never at byte 0 of a kept segment: a damaged header is repaired or
        // refused by the scan, and a gap drops the whole segment.
        let last = segments.last().expect("the first segment is never dropped");
        let mut active = OpenOptions::new()
            .write(true)
            .open(&last.path)
            .map_err(io_err("open segment", &last.path))?;
        active
            .set_len(active_len)
            .map_err(io_err("truncate segment", &last.path))?;
        active
            .seek(SeekFrom::Start(active_len))
            .map_err(io_err("seek segment", &last.path))?;
        // The previous process may have died before fsyncing what we just read back.
        active.sync_all().map_err(io_err("fsync segment", &last.path))?;
        sync_dir(&dir)?;

        report.segments = segments.len();
        report.first_tx_offset = segments[0].start;
        report.next_tx_offset = next_tx_offset;
        Ok((
            Self::assemble(dir, options, segments, active, active_len, next_tx_offset, epoch),
            report,
        ))
    }

    fn assemble(
        dir: PathBuf,
        options: CommitlogOptions,
        segments: Vec<SegmentMeta>,
        active: File,
        active_len: u64,
        next_tx_offset: u64,
        epoch: u64,
    ) -> Self {
        let mut log = Self {
            dir,
            options,
            segments,
            active,
            active_len,
            buf: Vec::new(),
            next_tx_offset,
            written_tx_offset: next_tx_offset,
            synced_tx_offset: next_tx_offset,
            epoch,
            poisoned: None,
            ledger: None,
        };
        if fsync_ledger::enabled_by_env() {
            log.start_ledger();
        } else {
            fsync_ledger::remove_stale(&log.dir);
        }
        log
    }

    /// Keeps the fsync ledger of this log from now on (what
    /// `SPACETIME_TEST_FSYNC_LEDGER=1` does for every log a process opens): each
    /// segment's fsynced length, for [`crate::lose_unsynced`]. For power-loss tests.
    ///
    /// # Errors
    /// As [`sync`](Self::sync), which this calls first.
    pub fn record_fsyncs(&mut self) -> Result<(), CommitlogError> {
        self.sync()?;
        self.start_ledger();
        Ok(())
    }

    /// Starts the ledger with every segment at its full length: called when nothing
    /// is unsynced (every segment but the active one was fsynced when it was closed).
    fn start_ledger(&mut self) {
        let mut ledger = FsyncLedger::default();
        let live = || self.segments.iter().map(|s| s.path.as_path());
        for seg in &self.segments[..self.segments.len() - 1] {
            if let Ok(meta) = fs::metadata(&seg.path) {
                ledger.record(&self.dir, live(), &seg.path, meta.len());
            }
        }
        let active = &self.segments[self.segments.len() - 1].path;
        ledger.record(&self.dir, live(), active, self.active_len);
        self.ledger = Some(ledger);
    }

    /// Records in the ledger (if kept) that the active segment is fsynced to its end.
    fn note_synced(&mut self) {
        if let Some(ledger) = &mut self.ledger {
            let active = &self.segments[self.segments.len() - 1].path;
            let live = self.segments.iter().map(|s| s.path.as_path());
            ledger.record(&self.dir, live, active, self.active_len);
        }
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The tx offset the next [`append`](Self::append) returns.
    pub fn next_tx_offset(&self) -> u64 {
        self.next_tx_offset
    }

    /// The first tx offset the log holds (0 unless segments were pruned).
    pub fn first_tx_offset(&self) -> u64 {
        self.segments[0].start
    }

    /// The epoch (leader term) of the last commit; 0 for a log only ever written
    /// standalone. Commits appended later may not have a lower one.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The highest durable tx offset: everything up to it survived a crash.
    /// `None` when no transaction was ever logged.
    pub fn durable_offset(&self) -> Option<u64> {
        self.synced_tx_offset.checked_sub(1)
    }

    /// The segment files in order, with the tx offset each starts at.
    pub fn segments(&self) -> Vec<(u64, PathBuf)> {
        self.segments.iter().map(|s| (s.start, s.path.clone())).collect()
    }

    /// Appends one transaction's record as its own commit (of the log's current
    /// [`epoch`](Self::epoch)) and returns its tx offset.
    ///
    /// The commit is buffered; it is on disk after [`flush`](Self::flush) and
    /// durable after [`sync`](Self::sync).
    ///
    /// # Errors
    /// [`CommitlogError::RecordTooLarge`] for a payload over 4 GiB − 5 bytes; I/O
    /// errors while writing (the log is then poisoned).
    pub fn append(&mut self, payload: &[u8]) -> Result<u64, CommitlogError> {
        self.check_poisoned()?;
        if payload.len() > MAX_RECORD_LEN {
            return Err(CommitlogError::RecordTooLarge {
                len: payload.len(),
                max: MAX_RECORD_LEN,
            });
        }
        let frame_len = (COMMIT_HEADER_LEN + RECORD_PREFIX_LEN + payload.len() + CRC_LEN) as u64;
        if self.active_len > SEGMENT_HEADER_LEN as u64 && self.active_len + frame_len > self.options.max_segment_size {
            self.rotate()?;
        }
        let offset = self.next_tx_offset;
        encode_commit(&mut self.buf, self.epoch, offset, payload);
        self.active_len += frame_len;
        self.next_tx_offset += 1;
        if self.buf.len() >= self.options.write_buffer_size {
            self.write_buf()?;
        }
        Ok(offset)
    }

    /// Writes commits that are already framed (by [`encode_commit`]) straight to the
    /// segment file, without copying them: `commits` holds `n` consecutive commits,
    /// the first at tx offset `first`, which must be [`next_tx_offset`](Self::next_tx_offset).
    /// This is how the group-commit writer appends a batch its producers framed.
    /// Segments rotate between commits as [`append`](Self::append) does. Durable after
    /// [`sync`](Self::sync).
    ///
    /// # Errors
    /// [`CommitlogError::BadBatch`] if `commits` does not hold `n` whole commits
    /// following on from the log, or a commit's epoch is lower than the one before it
    /// (a deposed leader's write; nothing is written then, unless a rotation came
    /// first); I/O errors (the log is then poisoned).
    pub fn append_encoded(&mut self, commits: &[u8], first: u64, n: u64) -> Result<(), CommitlogError> {
        self.check_poisoned()?;
        if first != self.next_tx_offset {
            return Err(CommitlogError::BadBatch(format!(
                "the batch starts at tx offset {first}, the log at {}",
                self.next_tx_offset
            )));
        }
        self.write_buf()?;
        // Check every frame first, so a malformed batch writes nothing.
        let mut frames = Vec::with_capacity(n.min(1 << 16) as usize);
        let mut at = 0usize;
        let mut epoch = self.epoch;
        while at < commits.len() {
            let header = header_at(commits, at)?;
            if header.epoch < epoch {
                return Err(CommitlogError::BadBatch(format!(
                    "the commit at byte {at} has epoch {}, lower than the log's epoch {epoch}",
                    header.epoch
                )));
            }
            epoch = header.epoch;
            let len = header.frame_len() as usize;
            frames.push(len);
            at += len;
        }
        if frames.len() as u64 != n {
            let found = frames.len();
            return Err(CommitlogError::BadBatch(format!(
                "the batch holds {found} commits, not the {n} announced"
            )));
        }
        let mut rest = commits;
        let mut frames = frames.as_slice();
        while !frames.is_empty() {
            // As many whole commits as fit in the active segment (at least one in a
            // fresh segment); then rotate.
            let room = self.options.max_segment_size.saturating_sub(self.active_len);
            let fresh = self.active_len == SEGMENT_HEADER_LEN as u64;
            let (mut len, mut count) = (0u64, 0usize);
            for &frame in frames {
                if len + frame as u64 > room && !(fresh && count == 0) {
                    break;
                }
                len += frame as u64;
                count += 1;
            }
            if count == 0 {
                self.rotate()?;
                continue;
            }
            let (chunk, tail) = rest.split_at(len as usize);
            let result = self.active.write_all(chunk);
            self.poison_on_err(result, "write segment")?;
            self.active_len += len;
            self.next_tx_offset += count as u64;
            self.written_tx_offset = self.next_tx_offset;
            rest = tail;
            frames = &frames[count..];
        }
        self.epoch = epoch;
        Ok(())
    }

    /// Writes buffered commits to the segment file (without fsync).
    ///
    /// # Errors
    /// I/O errors (the log is then poisoned).
    pub fn flush(&mut self) -> Result<(), CommitlogError> {
        self.check_poisoned()?;
        self.write_buf()
    }

    /// Writes buffered commits and fsyncs them; returns the new durable offset.
    ///
    /// One call makes every append before it durable: this is the group commit.
    ///
    /// # Errors
    /// I/O errors (the log is then poisoned).
    pub fn sync(&mut self) -> Result<Option<u64>, CommitlogError> {
        self.check_poisoned()?;
        self.write_buf()?;
        if self.synced_tx_offset < self.written_tx_offset {
            let result = self.active.sync_data();
            self.poison_on_err(result, "fsync segment")?;
            self.synced_tx_offset = self.written_tx_offset;
            self.note_synced();
        }
        Ok(self.durable_offset())
    }

    /// Reads the log from `tx_offset` on: `(tx offset, record)` for every commit
    /// written to the file when this is called, checking each commit again.
    ///
    /// The iterator reads files on its own and borrows nothing, so appends may go on
    /// meanwhile (they are not seen). Asking for an offset at or past the end gives
    /// an empty iterator.
    ///
    /// # Errors
    /// Items are [`CommitlogError::OffsetBeforeLog`] if `tx_offset` was pruned,
    /// [`CommitlogError::Corrupt`] if the files changed since [`open`](Self::open),
    /// or I/O errors; iteration ends after an error.
    pub fn replay_from(&self, tx_offset: u64) -> Replay {
        Replay::new(self.segments.clone(), tx_offset, self.written_tx_offset)
    }

    /// Removes the segments whose commits all have tx offsets below `tx_offset`
    /// (never the segment being appended to); returns the removed files.
    ///
    /// Call it with `s + 1` where `s` is the oldest snapshot kept, so every kept
    /// snapshot can still be restored (a newer one might later prove damaged).
    ///
    /// # Errors
    /// I/O errors; segments removed before the error stay removed.
    pub fn prune_before(&mut self, tx_offset: u64) -> Result<Vec<PathBuf>, CommitlogError> {
        let mut removed = Vec::new();
        while self.segments.len() > 1 && self.segments[1].start <= tx_offset {
            let seg = self.segments.remove(0);
            fs::remove_file(&seg.path).map_err(io_err("remove segment", &seg.path))?;
            removed.push(seg.path);
        }
        if !removed.is_empty() {
            sync_dir(&self.dir)?;
            self.note_synced();
        }
        Ok(removed)
    }

    /// The identities of the commits holding tx offsets `from` and later (the one
    /// holding `from` included), as written to the files so far, in order.
    ///
    /// # Errors
    /// [`CommitlogError::Corrupt`] if a file changed since it was opened; I/O errors.
    pub fn commit_ids_from(&mut self, from: u64) -> Result<Vec<CommitId>, CommitlogError> {
        self.flush()?;
        let first = self.segments.partition_point(|s| s.start <= from).saturating_sub(1);
        let mut out = Vec::new();
        let mut epoch = 0;
        for seg in &self.segments[first..] {
            let mut reader = SegmentReader::open(&seg.path, seg.start)?.after_epoch(epoch);
            loop {
                match reader.next_step()? {
                    Step::Commit { header, crc, .. } => {
                        if header.min_tx_offset + u64::from(header.n) > from {
                            out.push(CommitId {
                                tx_offset: header.min_tx_offset,
                                n: header.n,
                                epoch: header.epoch,
                                crc,
                            });
                        }
                    }
                    Step::End { .. } => break,
                    Step::Damage { at, damage } => {
                        return Err(CommitlogError::Corrupt {
                            segment: seg.path.clone(),
                            byte_offset: at,
                            damage,
                        })
                    }
                }
            }
            epoch = reader.epoch();
        }
        Ok(out)
    }

    /// Cuts every commit from the one starting at `tx_offset` on, as recovery cuts a
    /// damaged tail: the rest of that segment is saved to `<segment>.<byte>.dropped`
    /// and the segment truncated, later segments are renamed `<segment>.dropped`.
    /// Appending continues at `tx_offset`. `damage` says why, for the report.
    ///
    /// # Errors
    /// [`CommitlogError::BadBatch`] if no commit starts at `tx_offset` (it lies in
    /// the middle of a commit, or outside the log); I/O errors (the log is then
    /// poisoned, and reopening it recovers).
    pub(crate) fn cut_from(&mut self, tx_offset: u64, damage: Damage) -> Result<TailCut, CommitlogError> {
        self.sync()?;
        if tx_offset < self.first_tx_offset() || tx_offset >= self.next_tx_offset {
            return Err(CommitlogError::BadBatch(format!(
                "cannot cut the log at tx offset {tx_offset}: it holds {}..{}",
                self.first_tx_offset(),
                self.next_tx_offset
            )));
        }
        let index = self.segments.partition_point(|s| s.start <= tx_offset) - 1;
        let seg = &self.segments[index];
        let mut reader = SegmentReader::open(&seg.path, seg.start)?;
        // The epoch of the last kept commit, which later appends may not go below.
        let mut epoch = match index.checked_sub(1) {
            Some(prev) => last_epoch(&self.segments[prev])?,
            None => 0,
        };
        let (mut at, mut commits) = (None, 0u64);
        loop {
            match reader.next_step()? {
                Step::Commit { header, at: here, .. } => {
                    if header.min_tx_offset == tx_offset {
                        at = Some(here);
                    }
                    if at.is_some() {
                        commits += 1;
                    } else {
                        epoch = header.epoch;
                    }
                }
                Step::End { .. } => break,
                Step::Damage { at, damage } => {
                    return Err(CommitlogError::Corrupt {
                        segment: seg.path.clone(),
                        byte_offset: at,
                        damage,
                    })
                }
            }
        }
        let at = at
            .ok_or_else(|| CommitlogError::BadBatch(format!("no commit of the log starts at tx offset {tx_offset}")))?;
        let cut = CutPoint {
            segment: index,
            at,
            damage,
            commits,
        };
        let result = cut_tail(&mut self.segments, cut, tx_offset).and_then(|tail| {
            let last = self.segments.last().expect("the cut segment is kept");
            let mut active = OpenOptions::new()
                .write(true)
                .open(&last.path)
                .map_err(io_err("open segment", &last.path))?;
            active
                .seek(SeekFrom::Start(at))
                .map_err(io_err("seek segment", &last.path))?;
            sync_dir(&self.dir)?;
            Ok((tail, active))
        });
        match result {
            Ok((tail, active)) => {
                self.active = active;
                self.active_len = at;
                self.next_tx_offset = tx_offset;
                self.written_tx_offset = tx_offset;
                self.synced_tx_offset = tx_offset;
                self.epoch = epoch;
                self.note_synced();
                log::warn!("commit log {}: {tail}", self.dir.display());
                Ok(tail)
            }
            Err(e) => {
                self.poisoned = Some(format!("cutting the log at tx offset {tx_offset} failed: {e}").into());
                Err(e)
            }
        }
    }

    fn rotate(&mut self) -> Result<(), CommitlogError> {
        // The old segment must be durable on its own: the batch's final fsync only
        // covers the new one.
        self.sync()?;
        let name = segment_file_name(self.next_tx_offset);
        let created = write_atomically(&self.dir, &name, &[&segment_header()]);
        let active = match created {
            Ok(file) => file,
            Err(e) => {
                self.poisoned = Some(format!("cannot start segment {name}: {}", e.source).into());
                return Err(e.into());
            }
        };
        self.segments.push(SegmentMeta {
            start: self.next_tx_offset,
            path: self.dir.join(name),
        });
        self.active = active;
        self.active_len = SEGMENT_HEADER_LEN as u64;
        self.note_synced();
        Ok(())
    }

    fn write_buf(&mut self) -> Result<(), CommitlogError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.active.write_all(&self.buf);
        self.poison_on_err(result, "write segment")?;
        self.buf.clear();
        self.written_tx_offset = self.next_tx_offset;
        Ok(())
    }

    fn check_poisoned(&self) -> Result<(), CommitlogError> {
        match &self.poisoned {
            Some(why) => Err(CommitlogError::Poisoned(why.clone())),
            None => Ok(()),
        }
    }

    fn poison_on_err<T>(&mut self, result: io::Result<T>, op: &'static str) -> Result<T, CommitlogError> {
        result.map_err(|source| {
            let path = self
                .segments
                .last()
                .expect("there is always an active segment")
                .path
                .clone();
            self.poisoned = Some(format!("{op} {}: {source}", path.display()).into());
            CommitlogError::Io { op, path, source }
        })
    }
}

impl Drop for Commitlog {
    fn drop(&mut self) {
        // Hand buffered commits to the OS so an orderly drop loses nothing; they were
        // never reported durable, so a failure here loses no promise.
        if self.poisoned.is_none() && !self.buf.is_empty() {
            if let Err(e) = self.active.write_all(&self.buf) {
                log::warn!(
                    "commit log {}: cannot write buffered commits on drop: {e}",
                    self.dir.display()
                );
            }
        }
    }
}

/// The header of the commit framed at `at` in `commits`, checked to lie within it.
fn header_at(commits: &[u8], at: usize) -> Result<CommitHeader, CommitlogError> {
    let header = commits
        .get(at..at + COMMIT_HEADER_LEN)
        .and_then(|h| CommitHeader::decode(h.try_into().ok()?));
    let header = header.filter(|h| at as u64 + h.frame_len() <= commits.len() as u64);
    header.ok_or_else(|| {
        CommitlogError::BadBatch(format!(
            "no whole commit at byte {at} of a {}-byte batch",
            commits.len()
        ))
    })
}

/// Reads every segment; returns the next tx offset, the length of the last kept
/// segment's data, the last kept commit's epoch and where the damage is, if any.
/// Truncates all-zero tails.
fn scan(
    segments: &[SegmentMeta],
    report: &mut RecoveryReport,
    visit: &mut dyn FnMut(u64, &[u8]),
) -> Result<(u64, u64, u64, Option<CutPoint>), CommitlogError> {
    let mut next = segments[0].start;
    let mut data_len = 0;
    let mut epoch = 0;
    for (i, seg) in segments.iter().enumerate() {
        if seg.start != next {
            let damage = Damage::SegmentGap {
                expected: next,
                segment_start: seg.start,
            };
            return Ok((
                next,
                data_len,
                epoch,
                Some(CutPoint {
                    segment: i,
                    at: 0,
                    damage,
                    commits: 0,
                }),
            ));
        }
        if let Some(repair) = repair_header(seg)? {
            log::warn!("commit log: {repair}");
            report.repaired_headers.push(repair);
        }
        let mut reader = SegmentReader::open(&seg.path, seg.start)?.after_epoch(epoch);
        loop {
            match reader.next_step()? {
                Step::Commit { header, records, .. } => {
                    report.commits += 1;
                    for (offset, record) in (header.min_tx_offset..).zip(records) {
                        visit(offset, record);
                    }
                }
                Step::End { at, zero_tail } => {
                    if zero_tail > 0 {
                        let file = OpenOptions::new().write(true).open(&seg.path);
                        file.and_then(|f| f.set_len(at))
                            .map_err(io_err("truncate segment", &seg.path))?;
                        report.zero_tail_bytes += zero_tail;
                    }
                    data_len = at;
                    break;
                }
                Step::Damage {
                    damage: damage @ Damage::BadSegmentHeader(_),
                    ..
                } => {
                    // `repair_header` just found it valid or rewrote it: the file
                    // changed under us, so cutting here would drop the whole segment.
                    return Err(CommitlogError::Corrupt {
                        segment: seg.path.clone(),
                        byte_offset: 0,
                        damage,
                    });
                }
                Step::Damage { at, damage } => {
                    let next = reader.next_tx();
                    let partial_commit = matches!(
                        damage,
                        Damage::TruncatedHeader { .. }
                            | Damage::TruncatedCommit { .. }
                            | Damage::ChecksumMismatch { .. }
                            | Damage::BadRecords(_)
                            | Damage::UnexpectedTxOffset { .. }
                            | Damage::EpochRegression { .. }
                    );
                    let commits = u64::from(partial_commit) + reader.count_frames_after_damage(at)?;
                    return Ok((
                        next,
                        at,
                        reader.epoch(),
                        Some(CutPoint {
                            segment: i,
                            at,
                            damage,
                            commits,
                        }),
                    ));
                }
            }
        }
        next = reader.next_tx();
        epoch = reader.epoch();
    }
    Ok((next, data_len, epoch, None))
}

/// Cuts the log at `cut`: saves and truncates the damaged segment's tail, sets later
/// segments aside, and removes them from `segments`.
fn cut_tail(segments: &mut Vec<SegmentMeta>, cut: CutPoint, next_tx_offset: u64) -> Result<TailCut, CommitlogError> {
    let damaged = segments[cut.segment].path.clone();
    let mut tail = TailCut {
        segment: damaged.clone(),
        byte_offset: cut.at,
        damage: cut.damage,
        first_lost_tx_offset: next_tx_offset,
        bytes_dropped: 0,
        commits_dropped: cut.commits,
        saved_to: None,
        dropped_segments: Vec::new(),
    };
    let first_dropped = if matches!(tail.damage, Damage::SegmentGap { .. }) {
        cut.segment
    } else {
        let len = fs::metadata(&damaged).map_err(io_err("stat segment", &damaged))?.len();
        if len > cut.at {
            tail.saved_to = Some(save_tail(&damaged, cut.at)?);
            tail.bytes_dropped += len - cut.at;
            let file = OpenOptions::new().write(true).open(&damaged);
            file.and_then(|f| f.set_len(cut.at).and_then(|()| f.sync_all()))
                .map_err(io_err("truncate segment", &damaged))?;
        }
        cut.segment + 1
    };
    for seg in segments.drain(first_dropped..) {
        let (bytes, commits) = count_segment(&seg)?;
        tail.bytes_dropped += bytes;
        tail.commits_dropped += commits;
        tail.dropped_segments.push(set_aside(&seg.path, ".dropped")?);
    }
    Ok(tail)
}

/// Copies `path` from byte `at` to the end into `<path>.<at>.dropped`, fsynced.
fn save_tail(path: &Path, at: u64) -> Result<PathBuf, CommitlogError> {
    let mut target = path.as_os_str().to_owned();
    target.push(format!(".{at}.dropped"));
    let target = PathBuf::from(target);
    let mut src = File::open(path).map_err(io_err("open segment", path))?;
    src.seek(SeekFrom::Start(at)).map_err(io_err("seek segment", path))?;
    let mut dst = File::create(&target).map_err(io_err("create", &target))?;
    io::copy(&mut src, &mut dst).map_err(io_err("copy the cut tail to", &target))?;
    dst.sync_all().map_err(io_err("fsync", &target))?;
    Ok(target)
}

/// The epoch of the last commit of a segment (0 if it has none).
fn last_epoch(seg: &SegmentMeta) -> Result<u64, CommitlogError> {
    let mut reader = SegmentReader::open(&seg.path, seg.start)?;
    while let Step::Commit { .. } = reader.next_step()? {}
    Ok(reader.epoch())
}

/// Bytes and readable commits of a segment that is being dropped.
fn count_segment(seg: &SegmentMeta) -> Result<(u64, u64), CommitlogError> {
    let mut reader = SegmentReader::open(&seg.path, seg.start)?;
    let mut commits = 0;
    while let Step::Commit { .. } = reader.next_step()? {
        commits += 1;
    }
    Ok((reader.file_len(), commits))
}
