//! Repairing a damaged segment header on open. The 10-byte header holds no data of its
//! own, and each commit behind it carries its own CRC32C and tx offset, so when the
//! commits still verify the header is rewritten and every commit is kept; when they do
//! not, the segment's contents cannot be told apart from garbage, and opening refuses
//! rather than dropping up to a whole segment of commits.
//!
//! A header is written once, atomically, when its segment is created (see `FORMAT.md`),
//! so a crash never damages one: damage here is the disk's or someone's editing.

use crate::commitlog::SegmentMeta;
use crate::error::{io_err, CommitlogError};
use crate::format::{check_segment_header, segment_header, SEGMENT_HEADER_LEN};
use crate::report::HeaderRepair;
use crate::segment::{SegmentReader, Step};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};

/// Checks the header of `seg` and rewrites it if it is damaged but the segment's first
/// commit verifies (its CRC32C, record framing and the tx offset the file name gives),
/// or if nothing but zero bytes follows it. Later damage in the segment is left for the
/// normal scan, which cuts there as for any damaged commit.
///
/// Returns what was repaired (`None` for a valid header). The rewrite is fsynced.
///
/// # Errors
/// [`CommitlogError::UnreadableSegment`] if the header is damaged and the data behind
/// it does not verify (the file is left untouched); I/O errors.
pub(crate) fn repair_header(seg: &SegmentMeta) -> Result<Option<HeaderRepair>, CommitlogError> {
    let found = read_header(seg)?;
    let Err(reason) = check_segment_header(&found) else {
        return Ok(None);
    };
    if found.len() == SEGMENT_HEADER_LEN {
        let mut reader = SegmentReader::open_past_header(&seg.path, seg.start)?;
        if let Step::Damage { at, damage } = reader.next_step()? {
            return Err(CommitlogError::UnreadableSegment {
                segment: seg.path.clone(),
                header: reason,
                byte_offset: at,
                damage,
            });
        }
    }
    // A file shorter than a header holds no commit: writing the header loses nothing.
    let mut file = OpenOptions::new()
        .write(true)
        .open(&seg.path)
        .map_err(io_err("open segment", &seg.path))?;
    file.write_all(&segment_header())
        .and_then(|()| file.sync_all())
        .map_err(io_err("rewrite the header of segment", &seg.path))?;
    Ok(Some(HeaderRepair {
        segment: seg.path.clone(),
        reason,
        found,
    }))
}

/// The first bytes of the segment, up to a header's length.
fn read_header(seg: &SegmentMeta) -> Result<Vec<u8>, CommitlogError> {
    let file = File::open(&seg.path).map_err(io_err("open segment", &seg.path))?;
    let mut found = Vec::with_capacity(SEGMENT_HEADER_LEN);
    file.take(SEGMENT_HEADER_LEN as u64)
        .read_to_end(&mut found)
        .map_err(io_err("read segment", &seg.path))?;
    Ok(found)
}
