//! What opening a log or restoring a database found and did: the [`RecoveryReport`],
//! with the [`TailCut`] that says exactly what a damaged tail cost, and the snapshots
//! that were passed over ([`SkippedSnapshot`]). Displayed, these are the log lines an
//! operator reads after a crash.

use crate::format::Bytes;
use crate::segment::Damage;
use std::fmt;
use std::path::PathBuf;

/// What [`Commitlog::open`](crate::Commitlog::open) (and [`recover`](crate::recover))
/// found on disk.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// The log directory.
    pub dir: PathBuf,
    /// Segments kept.
    pub segments: usize,
    /// Commits read and verified (CRC, framing, consecutive offsets).
    pub commits: u64,
    /// Tx offset of the first commit the log holds (earlier ones were pruned).
    pub first_tx_offset: u64,
    /// The tx offset the next append gets.
    pub next_tx_offset: u64,
    /// Segment headers that were damaged and rewritten, keeping the commits behind them.
    pub repaired_headers: Vec<HeaderRepair>,
    /// The damaged tail that was cut off, if there was one.
    pub cut: Option<TailCut>,
    /// All-zero bytes after the last commit (preallocation or an unwritten tail) that
    /// were truncated. Not damage: nothing is lost.
    pub zero_tail_bytes: u64,
    /// Leftover `.tmp` files of interrupted segment creations that were removed.
    pub removed_temp_files: Vec<PathBuf>,
    /// Files in the log directory that are not segments and were left alone.
    pub ignored_files: Vec<String>,
    /// Snapshots passed over by [`recover`](crate::recover) (empty from `Commitlog::open`).
    pub skipped_snapshots: Vec<SkippedSnapshot>,
}

impl RecoveryReport {
    /// True when nothing was cut or repaired and no snapshot was skipped.
    pub fn is_clean(&self) -> bool {
        self.cut.is_none() && self.repaired_headers.is_empty() && self.skipped_snapshots.is_empty()
    }
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "commit log {}: {} segment(s), {} commit(s), tx offsets {}..{}",
            self.dir.display(),
            self.segments,
            self.commits,
            self.first_tx_offset,
            self.next_tx_offset
        )?;
        for repair in &self.repaired_headers {
            write!(f, "; {repair}")?;
        }
        if let Some(cut) = &self.cut {
            write!(f, "; {cut}")?;
        }
        if self.zero_tail_bytes > 0 {
            write!(f, "; truncated an all-zero tail of {}", Bytes(self.zero_tail_bytes))?;
        }
        for skipped in &self.skipped_snapshots {
            write!(f, "; {skipped}")?;
        }
        Ok(())
    }
}

/// A segment header that was damaged and rewritten on open: the commits behind it
/// verified (or there were none), so none was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeaderRepair {
    /// The segment.
    pub segment: PathBuf,
    /// What was wrong with the header.
    pub reason: String,
    /// The header bytes as found (fewer than 10 when the file was shorter).
    pub found: Vec<u8>,
}

impl fmt::Display for HeaderRepair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "repaired the damaged header of {} ({}; found bytes {:02x?}): its commits verify and are all kept",
            self.segment.display(),
            self.reason,
            self.found
        )
    }
}

/// A damaged log tail that recovery cut off at the last good commit.
///
/// Every commit before `byte_offset` of `segment` (and every earlier segment) was
/// kept. Everything after it was removed from the log: the bytes of the damaged
/// segment's tail are preserved in `saved_to`, later segments are renamed to
/// `…stdb.log.dropped`, so an operator can inspect them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TailCut {
    /// The segment where the damage is.
    pub segment: PathBuf,
    /// Byte offset in `segment` of the first damaged commit; the segment was truncated here.
    pub byte_offset: u64,
    /// What is wrong there.
    pub damage: Damage,
    /// The first tx offset no longer in the log (the next append reuses it).
    pub first_lost_tx_offset: u64,
    /// Bytes removed from the log, later segments included.
    pub bytes_dropped: u64,
    /// Commits removed, as far as they could be counted: frames with a valid CRC after
    /// a damaged one whose length was readable, plus the damaged one, plus those of
    /// dropped later segments. A damaged length field hides what follows, so this is
    /// a lower bound (0 when only a partial header or stray bytes were cut).
    pub commits_dropped: u64,
    /// Where the cut bytes of `segment` were saved (none when they were all zero).
    pub saved_to: Option<PathBuf>,
    /// Later segments that could no longer continue the log, as renamed.
    pub dropped_segments: Vec<PathBuf>,
}

impl fmt::Display for TailCut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "damaged tail cut at {} byte {} ({}): dropped {} holding at least {} commit(s), \
             from tx offset {} on; every earlier commit is kept",
            self.segment.display(),
            self.byte_offset,
            self.damage,
            Bytes(self.bytes_dropped),
            self.commits_dropped,
            self.first_lost_tx_offset,
        )?;
        if let Some(saved) = &self.saved_to {
            write!(f, "; the cut bytes are saved in {}", saved.display())?;
        }
        if !self.dropped_segments.is_empty() {
            let names: Vec<_> = self.dropped_segments.iter().map(|p| p.display().to_string()).collect();
            write!(f, "; later segments set aside as {}", names.join(", "))?;
        }
        Ok(())
    }
}

/// A snapshot that restore did not use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedSnapshot {
    /// The snapshot file as it was found.
    pub path: PathBuf,
    /// Its tx offset (from the file name).
    pub tx_offset: u64,
    /// Why it was skipped.
    pub reason: String,
    /// Where it was moved (`….snapshot.invalid`).
    pub moved_to: PathBuf,
}

impl fmt::Display for SkippedSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "skipped snapshot at tx offset {} ({}): {}; moved to {}",
            self.tx_offset,
            self.path.display(),
            self.reason,
            self.moved_to.display()
        )
    }
}
