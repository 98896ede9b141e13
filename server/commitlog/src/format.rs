//! The bytes on disk of the commit log: the segment header, the commit frame
//! (header, records, CRC32C) and segment file names. Pure encoding and decoding;
//! no file handling. `FORMAT.md` at the crate root is the prose version of this file.

use std::fmt;

/// The first six bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 6] = *b"(ds)^2";
/// The log format version this crate writes and reads.
pub const LOG_FORMAT_VERSION: u8 = 1;
/// Checksum algorithm id 0: CRC32C (Castagnoli), the only one defined.
pub const CHECKSUM_CRC32C: u8 = 0;
/// Length of the segment header: magic, version, checksum algorithm, 2 reserved bytes.
pub const SEGMENT_HEADER_LEN: usize = 10;
/// Length of a commit header: `min_tx_offset: u64`, `epoch: u64`, `n: u16`, `len: u32`.
pub const COMMIT_HEADER_LEN: usize = 22;
/// Length of the CRC32C that closes a commit.
pub const CRC_LEN: usize = 4;
/// Bytes of framing around one record inside a commit (its `u32` length).
pub const RECORD_PREFIX_LEN: usize = 4;
/// The largest record payload a commit can frame: the commit's `len` field is a `u32`.
pub const MAX_RECORD_LEN: usize = u32::MAX as usize - RECORD_PREFIX_LEN;

/// The file name suffix of a segment.
pub const SEGMENT_SUFFIX: &str = ".stdb.log";

/// The header every segment starts with.
pub fn segment_header() -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[..6].copy_from_slice(&SEGMENT_MAGIC);
    h[6] = LOG_FORMAT_VERSION;
    h[7] = CHECKSUM_CRC32C;
    h
}

/// Checks a segment header; the error says what is wrong with it.
pub fn check_segment_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < SEGMENT_HEADER_LEN {
        return Err(format!(
            "segment header is {} bytes, expected {SEGMENT_HEADER_LEN}",
            bytes.len()
        ));
    }
    if bytes[..6] != SEGMENT_MAGIC {
        return Err(format!(
            "bad segment magic {:02x?}, expected {:02x?}",
            &bytes[..6],
            SEGMENT_MAGIC
        ));
    }
    if bytes[6] != LOG_FORMAT_VERSION {
        return Err(format!(
            "unsupported log format version {}, this build reads {LOG_FORMAT_VERSION}",
            bytes[6]
        ));
    }
    if bytes[7] != CHECKSUM_CRC32C {
        return Err(format!(
            "unknown checksum algorithm {}, only 0 (CRC32C) is defined",
            bytes[7]
        ));
    }
    Ok(())
}

/// The fixed-size header of a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitHeader {
    /// Tx offset of the commit's first record; the others follow consecutively.
    pub min_tx_offset: u64,
    /// Leader term: 0 on a standalone database; under replication the epoch of the
    /// leader that wrote the commit. Never decreases along a log.
    pub epoch: u64,
    /// Number of records, at least 1 (an all-zero header means end of data instead).
    pub n: u16,
    /// Bytes of records after the header.
    pub len: u32,
}

impl CommitHeader {
    /// Decodes a header. `None` means all zero: the end of the data in this segment.
    pub fn decode(bytes: &[u8; COMMIT_HEADER_LEN]) -> Option<Self> {
        if bytes.iter().all(|&b| b == 0) {
            return None;
        }
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8-byte slice"));
        Some(Self {
            min_tx_offset: u64_at(0),
            epoch: u64_at(8),
            n: u16::from_le_bytes([bytes[16], bytes[17]]),
            len: u32::from_le_bytes(bytes[18..22].try_into().expect("4-byte slice")),
        })
    }

    /// Encodes the header.
    pub fn encode(&self) -> [u8; COMMIT_HEADER_LEN] {
        let mut out = [0u8; COMMIT_HEADER_LEN];
        out[0..8].copy_from_slice(&self.min_tx_offset.to_le_bytes());
        out[8..16].copy_from_slice(&self.epoch.to_le_bytes());
        out[16..18].copy_from_slice(&self.n.to_le_bytes());
        out[18..22].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    /// Total bytes of the commit on disk: header, records and CRC.
    pub fn frame_len(&self) -> u64 {
        (COMMIT_HEADER_LEN + CRC_LEN) as u64 + u64::from(self.len)
    }
}

/// Appends one commit of leader term `epoch` (0 when standalone) holding the single
/// record `payload` to `out`; returns its length.
///
/// The caller has checked `payload.len() <= MAX_RECORD_LEN`.
pub fn encode_commit(out: &mut Vec<u8>, epoch: u64, tx_offset: u64, payload: &[u8]) -> usize {
    encode_commit_with(out, epoch, tx_offset, |out| out.extend_from_slice(payload))
        .unwrap_or_else(|len| panic!("a {len}-byte record passed the caller's MAX_RECORD_LEN check"))
}

/// Appends one commit of leader term `epoch` to `out` whose single record `encode` writes in place (after
/// the header and length prefix, which are filled in afterwards), so the record is
/// never copied. Returns the commit's length, or, if the record is longer than
/// [`MAX_RECORD_LEN`], its length (and `out` is left as it was).
///
/// If `encode` panics, `out` is cut back to where it was, so no half commit remains.
pub fn encode_commit_with(
    out: &mut Vec<u8>,
    epoch: u64,
    tx_offset: u64,
    encode: impl FnOnce(&mut Vec<u8>),
) -> Result<usize, usize> {
    /// Cuts `out` back to `start` unless disarmed: a panicking `encode` leaves no frame.
    struct Rewind<'a> {
        out: &'a mut Vec<u8>,
        start: usize,
        armed: bool,
    }
    impl Drop for Rewind<'_> {
        fn drop(&mut self) {
            if self.armed {
                self.out.truncate(self.start);
            }
        }
    }
    let start = out.len();
    let records_at = start + COMMIT_HEADER_LEN;
    let payload_at = records_at + RECORD_PREFIX_LEN;
    out.resize(payload_at, 0);
    let mut guard = Rewind {
        out,
        start,
        armed: true,
    };
    encode(guard.out);
    let out = &mut *guard.out;
    let payload_len = out.len() - payload_at;
    if payload_len > MAX_RECORD_LEN {
        return Err(payload_len);
    }
    let len = (payload_len + RECORD_PREFIX_LEN) as u32;
    let header = CommitHeader {
        min_tx_offset: tx_offset,
        epoch,
        n: 1,
        len,
    };
    out[start..records_at].copy_from_slice(&header.encode());
    out[records_at..payload_at].copy_from_slice(&(payload_len as u32).to_le_bytes());
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
    guard.armed = false;
    Ok(guard.out.len() - start)
}

/// What identifies one commit when two copies of a log are compared: its first tx
/// offset, record count, epoch and CRC32C (which covers the rest of its bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitId {
    /// Tx offset of the commit's first record.
    pub tx_offset: u64,
    /// Number of records.
    pub n: u16,
    /// Epoch (leader term) that wrote it.
    pub epoch: u64,
    /// Its CRC32C.
    pub crc: u32,
}

/// Reads the commits framed back to back in `frames` (a batch as the group-commit
/// writer writes it, e.g. read back from a replicated log), checking each one's
/// CRC32C, record framing and that their tx offsets follow on.
///
/// # Errors
/// A description of the first commit that is cut off or does not verify.
pub fn commit_ids(frames: &[u8]) -> Result<Vec<CommitId>, String> {
    Ok(split_commits(frames)?.into_iter().map(|(id, _)| id).collect())
}

/// As [`commit_ids`], with the byte range of each commit in `frames`, so a batch can
/// be split at commit boundaries.
///
/// # Errors
/// As [`commit_ids`].
pub fn split_commits(frames: &[u8]) -> Result<Vec<(CommitId, std::ops::Range<usize>)>, String> {
    let (out, end) = split_commits_prefix(frames);
    match end {
        FramesEnd::Complete => Ok(out),
        FramesEnd::Zeroes { at } => Err(format!("all-zero commit header at byte {at}")),
        FramesEnd::CutOff(why) | FramesEnd::Damaged(why) => Err(why),
    }
}

/// Where [`split_commits_prefix`] stopped reading commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramesEnd {
    /// At the end of the bytes: every byte belongs to a verifying commit.
    Complete,
    /// At an all-zero commit header (end of data, as in a preallocated segment).
    Zeroes {
        /// Its byte offset.
        at: usize,
    },
    /// At a commit cut off by the end of the bytes (a write in progress, or a copy
    /// taken while one was).
    CutOff(String),
    /// At a commit that is whole but does not verify (CRC32C, framing, tx offset).
    Damaged(String),
}

/// As [`split_commits`], but instead of failing it returns the commits read before
/// the first one that is cut off, zero or does not verify, and why it stopped there:
/// what a node receiving a copy of a segment that was still being written keeps.
pub fn split_commits_prefix(frames: &[u8]) -> (Vec<(CommitId, std::ops::Range<usize>)>, FramesEnd) {
    let mut out: Vec<(CommitId, std::ops::Range<usize>)> = Vec::new();
    let mut rest = frames;
    while !rest.is_empty() {
        let at = frames.len() - rest.len();
        let Some((raw, after)) = rest.split_first_chunk::<COMMIT_HEADER_LEN>() else {
            return (out, FramesEnd::CutOff(format!("commit header at byte {at} is cut off")));
        };
        let Some(header) = CommitHeader::decode(raw) else {
            return (out, FramesEnd::Zeroes { at });
        };
        let body_len = header.len as usize;
        if after.len() < body_len + CRC_LEN {
            return (out, FramesEnd::CutOff(format!("commit at byte {at} is cut off")));
        }
        let (records, after) = after.split_at(body_len);
        let (crc, after) = after.split_at(CRC_LEN);
        let crc = u32::from_le_bytes(crc.try_into().expect("4-byte slice"));
        let damaged = |why: String| FramesEnd::Damaged(why);
        if commit_crc(raw, records) != crc {
            return (out, damaged(format!("commit at byte {at} fails its CRC32C")));
        }
        if header.n == 0 {
            return (out, damaged(format!("commit at byte {at} counts 0 records")));
        }
        if let Err(why) = split_records(records, header.n) {
            return (out, damaged(format!("commit at byte {at}: {why}")));
        }
        if let Some((prev, _)) = out.last() {
            let next = prev.tx_offset + u64::from(prev.n);
            if header.min_tx_offset != next {
                let why = format!(
                    "commit at byte {at} has tx offset {} but {next} was next",
                    header.min_tx_offset
                );
                return (out, damaged(why));
            }
        }
        let id = CommitId {
            tx_offset: header.min_tx_offset,
            n: header.n,
            epoch: header.epoch,
            crc,
        };
        out.push((id, at..frames.len() - after.len()));
        rest = after;
    }
    (out, FramesEnd::Complete)
}

/// The records of the commits framed back to back in `frames`, each with its tx
/// offset, in order, checked as [`split_commits`] checks them: what a follower that
/// is fed a replicated batch applies, record by record, as replay does.
///
/// # Errors
/// As [`split_commits`].
pub fn batch_records(frames: &[u8]) -> Result<Vec<(u64, &[u8])>, String> {
    let mut out = Vec::new();
    for (id, range) in split_commits(frames)? {
        let records = &frames[range.start + COMMIT_HEADER_LEN..range.end - CRC_LEN];
        let split = split_records(records, id.n)?;
        out.extend((id.tx_offset..).zip(split));
    }
    Ok(out)
}

/// The CRC32C of a commit: over its header and its records.
pub fn commit_crc(header: &[u8; COMMIT_HEADER_LEN], records: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(header), records)
}

/// Splits the records area of a commit into its `n` records, or says why it cannot.
pub fn split_records(records: &[u8], n: u16) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::with_capacity(usize::from(n));
    let mut rest = records;
    for i in 0..n {
        let Some((len, tail)) = rest.split_first_chunk::<RECORD_PREFIX_LEN>() else {
            return Err(format!("record {i} of {n}: its length prefix is cut off"));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if len > tail.len() {
            return Err(format!(
                "record {i} of {n} claims {len} bytes but {} remain in the commit",
                tail.len()
            ));
        }
        let (record, tail) = tail.split_at(len);
        out.push(record);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes left over after the commit's {n} records", rest.len()));
    }
    Ok(out)
}

/// The file name of the segment whose first commit has tx offset `start`.
pub fn segment_file_name(start: u64) -> String {
    format!("{start:020}{SEGMENT_SUFFIX}")
}

/// Parses a segment file name; `None` for any other file.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Formats a byte count for reports.
pub(crate) struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 1 {
            write!(f, "1 byte")
        } else {
            write!(f, "{} bytes", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_of_whole_commits_and_why_it_stopped() {
        let mut frames = Vec::new();
        for offset in 5..8 {
            encode_commit(&mut frames, 2, offset, b"record");
        }
        let whole = frames.len();
        let (commits, end) = split_commits_prefix(&frames);
        assert_eq!((commits.len(), end), (3, FramesEnd::Complete));
        // A copy taken while the third commit was being written.
        let (commits, end) = split_commits_prefix(&frames[..whole - 3]);
        assert_eq!(commits.len(), 2);
        assert!(matches!(end, FramesEnd::CutOff(_)), "{end:?}");
        // A zero-filled tail after two commits.
        let second_end = commits[1].1.end;
        let mut zeroed = frames.clone();
        zeroed[second_end..].fill(0);
        assert_eq!(split_commits_prefix(&zeroed).1, FramesEnd::Zeroes { at: second_end });
        // A flipped bit in the second commit: only the first is kept.
        let mut damaged = frames.clone();
        damaged[commits[1].1.start + 25] ^= 1;
        let (kept, end) = split_commits_prefix(&damaged);
        assert_eq!(kept.len(), 1);
        assert!(
            matches!(end, FramesEnd::Damaged(ref why) if why.contains("CRC32C")),
            "{end:?}"
        );
        assert!(split_commits(&damaged).is_err());
    }

    #[test]
    fn commit_round_trip() {
        let mut buf = Vec::new();
        let n = encode_commit(&mut buf, 0, 42, b"hello");
        assert_eq!(n, buf.len());
        assert_eq!(n, COMMIT_HEADER_LEN + RECORD_PREFIX_LEN + 5 + CRC_LEN);
        let header = CommitHeader::decode(buf[..COMMIT_HEADER_LEN].try_into().unwrap()).unwrap();
        assert_eq!(
            header,
            CommitHeader {
                min_tx_offset: 42,
                epoch: 0,
                n: 1,
                len: 9
            }
        );
        assert_eq!(header.frame_len(), n as u64);
        let records = &buf[COMMIT_HEADER_LEN..n - CRC_LEN];
        let crc = u32::from_le_bytes(buf[n - CRC_LEN..].try_into().unwrap());
        assert_eq!(commit_crc(buf[..COMMIT_HEADER_LEN].try_into().unwrap(), records), crc);
        assert_eq!(split_records(records, 1).unwrap(), vec![&b"hello"[..]]);
    }

    #[test]
    fn empty_payload_is_not_an_end_marker() {
        let mut buf = Vec::new();
        encode_commit(&mut buf, 0, 0, b"");
        assert!(CommitHeader::decode(buf[..COMMIT_HEADER_LEN].try_into().unwrap()).is_some());
    }

    #[test]
    fn zero_header_is_end_of_data() {
        assert_eq!(CommitHeader::decode(&[0; COMMIT_HEADER_LEN]), None);
    }

    #[test]
    fn split_records_rejects_bad_framing() {
        let mut recs = Vec::new();
        recs.extend_from_slice(&3u32.to_le_bytes());
        recs.extend_from_slice(b"abc");
        recs.extend_from_slice(&1u32.to_le_bytes());
        recs.extend_from_slice(b"z");
        assert_eq!(split_records(&recs, 2).unwrap(), vec![&b"abc"[..], &b"z"[..]]);
        assert!(split_records(&recs, 1).unwrap_err().contains("left over"));
        assert!(split_records(&recs, 3).unwrap_err().contains("cut off"));
        assert!(split_records(&recs[..6], 1).unwrap_err().contains("claims 3 bytes"));
    }

    #[test]
    fn segment_names() {
        assert_eq!(segment_file_name(7), "00000000000000000007.stdb.log");
        assert_eq!(parse_segment_file_name("00000000000000000007.stdb.log"), Some(7));
        assert_eq!(parse_segment_file_name("7.stdb.log"), None);
        assert_eq!(parse_segment_file_name("00000000000000000007.stdb.log.dropped"), None);
        assert_eq!(parse_segment_file_name("0000000000000000000x.stdb.log"), None);
        assert_eq!(parse_segment_file_name("99999999999999999999.stdb.log"), None);
    }

    #[test]
    fn segment_header_checks() {
        assert_eq!(check_segment_header(&segment_header()), Ok(()));
        let mut h = segment_header();
        h[0] = b'X';
        assert!(check_segment_header(&h).unwrap_err().contains("magic"));
        let mut h = segment_header();
        h[6] = 9;
        assert!(check_segment_header(&h).unwrap_err().contains("version 9"));
        let mut h = segment_header();
        h[7] = 3;
        assert!(check_segment_header(&h).unwrap_err().contains("checksum algorithm 3"));
        assert!(check_segment_header(&h[..4]).unwrap_err().contains("4 bytes"));
    }
}
