//! The handle tables of an instance: row iterators, bytes sources, bytes sinks and
//! console timers. A handle is a `u32`; 0 is never issued, so the guest can use it as
//! INVALID. Tables are emptied after every call, and freed objects are kept in a pool
//! so their buffers are reused instead of reallocated on the hot path.

use crate::limits::SinkKind;
use std::time::Instant;

/// A slab of objects addressed by `u32` handles (slot index + 1).
#[derive(Debug)]
pub(crate) struct Handles<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Handles<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Handles<T> {
    /// Stores `value` and returns its handle (never 0).
    pub(crate) fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(handle) => {
                self.slots[handle as usize - 1] = Some(value);
                handle
            }
            None => {
                self.slots.push(Some(value));
                self.slots.len() as u32
            }
        }
    }

    /// The object behind `handle`.
    pub(crate) fn get_mut(&mut self, handle: u32) -> Option<&mut T> {
        self.slots.get_mut((handle as usize).checked_sub(1)?)?.as_mut()
    }

    /// Removes and returns the object behind `handle`.
    pub(crate) fn take(&mut self, handle: u32) -> Option<T> {
        let value = self.slots.get_mut((handle as usize).checked_sub(1)?)?.take()?;
        self.free.push(handle);
        Some(value)
    }

    /// Removes every object, handing each to `recycle`.
    pub(crate) fn drain(&mut self, mut recycle: impl FnMut(T)) {
        self.free.clear();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(value) = slot.take() {
                recycle(value);
            }
            self.free.push(i as u32 + 1);
        }
        // Hand out low handles first, as a fresh table would.
        self.free.reverse();
    }
}

/// Rows of a finished scan, copied out of the datastore, handed to the guest in
/// chunks of whole rows.
#[derive(Debug, Default)]
pub(crate) struct RowIter {
    /// The rows' BSATN, back to back.
    pub(crate) bytes: Vec<u8>,
    /// The end offset of each chunk in `bytes`.
    pub(crate) chunk_ends: Vec<u32>,
    /// The next chunk to hand out.
    pub(crate) next_chunk: usize,
}

/// Chunks are cut at about this size, so a guest buffer of that size takes a chunk
/// per call; a row larger than this is a chunk of its own.
pub(crate) const ROW_CHUNK_SIZE: usize = 32 * 1024;

impl RowIter {
    /// Clears the iterator for reuse, keeping its buffers.
    pub(crate) fn reset(&mut self) {
        self.bytes.clear();
        self.chunk_ends.clear();
        self.next_chunk = 0;
    }

    /// Appends one row, starting a new chunk when the current one is full.
    #[inline]
    pub(crate) fn push_row(&mut self, row: &[u8]) {
        let chunk_start = self.chunk_ends.last().map_or(0, |&end| end as usize);
        if self.bytes.len() > chunk_start && self.bytes.len() - chunk_start + row.len() > ROW_CHUNK_SIZE {
            self.chunk_ends.push(self.bytes.len() as u32);
        }
        self.bytes.extend_from_slice(row);
    }

    /// Closes the last chunk once all rows are in.
    pub(crate) fn finish(&mut self) {
        let chunk_start = self.chunk_ends.last().map_or(0, |&end| end as usize);
        if self.bytes.len() > chunk_start {
            self.chunk_ends.push(self.bytes.len() as u32);
        }
    }

    /// The next whole chunks that fit in `capacity` bytes, as a byte range; or
    /// `Err(needed)` if not even the next chunk fits.
    pub(crate) fn next_chunks(&mut self, capacity: usize) -> Result<std::ops::Range<usize>, usize> {
        let start = match self.next_chunk {
            0 => 0,
            n => self.chunk_ends[n - 1] as usize,
        };
        let mut end = start;
        while let Some(&chunk_end) = self.chunk_ends.get(self.next_chunk) {
            if chunk_end as usize - start > capacity {
                break;
            }
            end = chunk_end as usize;
            self.next_chunk += 1;
        }
        match self.chunk_ends.get(self.next_chunk) {
            Some(&chunk_end) if end == start => Err(chunk_end as usize - start),
            _ => Ok(start..end),
        }
    }

    /// Whether every chunk has been handed out.
    pub(crate) fn is_exhausted(&self) -> bool {
        self.next_chunk >= self.chunk_ends.len()
    }
}

/// Bytes the guest reads with `bytes_source_read`.
#[derive(Debug, Default)]
pub(crate) struct BytesSource {
    pub(crate) bytes: Vec<u8>,
    pub(crate) pos: usize,
}

/// Bytes the guest writes with `bytes_sink_write`, up to the cap of its kind.
#[derive(Debug)]
pub(crate) struct BytesSink {
    pub(crate) bytes: Vec<u8>,
    pub(crate) kind: SinkKind,
}

/// A running console timer.
#[derive(Debug)]
pub(crate) struct ConsoleTimer {
    pub(crate) name: String,
    pub(crate) started: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iter_of(rows: &[usize]) -> RowIter {
        let mut it = RowIter::default();
        for &len in rows {
            it.push_row(&vec![7u8; len]);
        }
        it.finish();
        it
    }

    #[test]
    fn rows_are_cut_into_chunks_of_whole_rows() {
        let it = iter_of(&[20_000, 20_000, 20_000]);
        assert_eq!(it.chunk_ends, [20_000, 40_000, 60_000]);
        let it = iter_of(&[10_000, 10_000, 10_000, 10_000]);
        assert_eq!(it.chunk_ends, [30_000, 40_000]);
    }

    #[test]
    fn advance_hands_out_as_many_chunks_as_fit() {
        let mut it = iter_of(&[20_000, 20_000, 20_000]);
        assert_eq!(it.next_chunks(10_000), Err(20_000), "buffer too small: the size needed");
        assert_eq!(it.next_chunks(45_000), Ok(0..40_000));
        assert!(!it.is_exhausted());
        assert_eq!(it.next_chunks(45_000), Ok(40_000..60_000));
        assert!(it.is_exhausted());
        let mut empty = iter_of(&[]);
        assert_eq!(empty.next_chunks(0), Ok(0..0));
        assert!(empty.is_exhausted());
    }

    #[test]
    fn handles_start_at_one_and_are_reused() {
        let mut h = Handles::default();
        assert_eq!(h.insert('a'), 1);
        assert_eq!(h.insert('b'), 2);
        assert_eq!(h.take(1), Some('a'));
        assert_eq!(h.take(1), None);
        assert_eq!(h.get_mut(0), None);
        assert_eq!(h.insert('c'), 1);
        h.drain(drop);
        assert_eq!(h.insert('d'), 1);
    }
}
