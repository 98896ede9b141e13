//! Reading the log back: [`Replay`] walks the segments from a tx offset to the end of
//! what was written, yielding each transaction's record with its offset. This is
//! what a restart folds into the in-memory state after restoring a snapshot.

use crate::commitlog::SegmentMeta;
use crate::error::CommitlogError;
use crate::segment::{SegmentReader, Step};
use std::collections::VecDeque;

/// An iterator over `(tx offset, record)` from [`Commitlog::replay_from`](crate::Commitlog::replay_from).
///
/// Owns its file handles; ends after the first error.
#[derive(Debug)]
pub struct Replay {
    segments: VecDeque<SegmentMeta>,
    reader: Option<SegmentReader>,
    from: u64,
    end: u64,
    /// Records of a multi-record commit not yet handed out.
    pending: VecDeque<(u64, Vec<u8>)>,
    /// The epoch of the last commit read: the next segment's commits may not be lower.
    reader_epoch: u64,
    failed: Option<CommitlogError>,
    done: bool,
}

impl Replay {
    pub(crate) fn new(segments: Vec<SegmentMeta>, from: u64, end: u64) -> Self {
        let first = segments.first().map_or(0, |s| s.start);
        let mut replay = Self {
            segments: VecDeque::new(),
            reader: None,
            from,
            end,
            pending: VecDeque::new(),
            reader_epoch: 0,
            failed: None,
            done: from >= end,
        };
        if from < first {
            replay.failed = Some(CommitlogError::OffsetBeforeLog { requested: from, first });
            replay.done = false;
            return replay;
        }
        // Start at the last segment that begins at or before `from`.
        let skip = segments.partition_point(|s| s.start <= from).saturating_sub(1);
        replay.segments = segments.into_iter().skip(skip).collect();
        replay
    }

    /// Reads the next commit into `pending`; `Ok(false)` at the end.
    fn fill(&mut self) -> Result<bool, CommitlogError> {
        loop {
            if self.reader.is_none() {
                let Some(seg) = self.segments.pop_front() else {
                    return Ok(false);
                };
                if seg.start >= self.end {
                    return Ok(false);
                }
                let epoch = self.reader_epoch;
                self.reader = Some(SegmentReader::open(&seg.path, seg.start)?.after_epoch(epoch));
            }
            let reader = self.reader.as_mut().expect("set above");
            let next_tx = reader.next_tx();
            if next_tx >= self.end {
                return Ok(false);
            }
            match reader.next_step()? {
                Step::Commit { header, records, .. } => {
                    self.reader_epoch = header.epoch;
                    let base = header.min_tx_offset;
                    for (i, record) in records.into_iter().enumerate() {
                        let offset = base + i as u64;
                        if offset >= self.from && offset < self.end {
                            self.pending.push_back((offset, record.to_vec()));
                        }
                    }
                    if !self.pending.is_empty() {
                        return Ok(true);
                    }
                }
                Step::End { .. } => self.reader = None,
                Step::Damage { at, damage } => {
                    let segment = reader.path().to_owned();
                    return Err(CommitlogError::Corrupt {
                        segment,
                        byte_offset: at,
                        damage,
                    });
                }
            }
        }
    }
}

impl Iterator for Replay {
    type Item = Result<(u64, Vec<u8>), CommitlogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.failed.take() {
            self.done = true;
            return Some(Err(e));
        }
        if let Some(item) = self.pending.pop_front() {
            return Some(Ok(item));
        }
        if self.done {
            return None;
        }
        match self.fill() {
            Ok(true) => self.pending.pop_front().map(Ok),
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
