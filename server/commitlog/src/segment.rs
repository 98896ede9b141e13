//! Reading one segment file commit by commit, checking everything the format lets us
//! check: the segment header, each commit's length against the file, its CRC32C, its
//! record framing and that its tx offset follows the previous commit's. Recovery
//! ([`crate::commitlog`]) and replay ([`crate::replay`]) both read through here, so a
//! commit replay accepts is exactly a commit recovery kept.

use crate::error::{io_err, CommitlogError};
use crate::format::{
    check_segment_header, commit_crc, split_records, CommitHeader, COMMIT_HEADER_LEN, CRC_LEN, SEGMENT_HEADER_LEN,
};
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What is wrong at the point where a log stops being readable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Damage {
    /// The segment does not start with a valid header.
    BadSegmentHeader(String),
    /// Fewer bytes than a commit header remain, and they are not all zero.
    TruncatedHeader {
        /// Bytes left in the file.
        remaining: u64,
    },
    /// The commit header announces more bytes than the file holds (a torn write).
    TruncatedCommit {
        /// Bytes the commit should take, header and CRC included.
        frame_len: u64,
        /// Bytes left in the file from the commit's start.
        remaining: u64,
    },
    /// The stored CRC32C does not match the commit's bytes.
    ChecksumMismatch {
        /// CRC32C stored after the commit.
        stored: u32,
        /// CRC32C of the header and records as read.
        computed: u32,
    },
    /// The checksum matched but the records inside are not framed correctly.
    BadRecords(String),
    /// A well-formed commit whose tx offset does not follow the previous commit's.
    UnexpectedTxOffset {
        /// The offset the log expected next.
        expected: u64,
        /// The commit's `min_tx_offset`.
        found: u64,
    },
    /// After an all-zero header (end of data) there are non-zero bytes: data was
    /// written past a hole, so something between is missing.
    DataAfterEndMarker {
        /// Byte offset of the first non-zero byte.
        nonzero_at: u64,
    },
    /// A commit's epoch (leader term) is lower than the one before it: a leader of an
    /// older term wrote after a newer one, which replication never does.
    EpochRegression {
        /// The epoch of the commit before.
        previous: u64,
        /// The commit's epoch.
        found: u64,
    },
    /// The commit is not in the replicated log the cluster committed: this node wrote
    /// it locally as a leader that was then deposed (the cluster's log differs from
    /// here on). Cut when the node rejoins; never damage found on open.
    NotCommittedByCluster {
        /// The cluster's next tx offset when the node rejoined (its head + 1).
        cluster_next: u64,
    },
    /// The segment's file name says it starts at one tx offset but the log before it
    /// ends at another, so the segment cannot continue the log.
    SegmentGap {
        /// The offset the log expected next.
        expected: u64,
        /// The start offset in the segment's name.
        segment_start: u64,
    },
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::BadSegmentHeader(why) => write!(f, "bad segment header: {why}"),
            Damage::TruncatedHeader { remaining } => {
                write!(
                    f,
                    "torn commit header: only {remaining} of {COMMIT_HEADER_LEN} bytes present"
                )
            }
            Damage::TruncatedCommit { frame_len, remaining } => {
                write!(
                    f,
                    "torn commit: its header announces {frame_len} bytes but only {remaining} are present"
                )
            }
            Damage::ChecksumMismatch { stored, computed } => {
                write!(
                    f,
                    "checksum mismatch: stored CRC32C {stored:08x}, computed {computed:08x}"
                )
            }
            Damage::BadRecords(why) => write!(f, "malformed records: {why}"),
            Damage::UnexpectedTxOffset { expected, found } => {
                write!(f, "commit has tx offset {found} but the log expected {expected}")
            }
            Damage::DataAfterEndMarker { nonzero_at } => {
                write!(
                    f,
                    "non-zero bytes at byte {nonzero_at}, after the all-zero end-of-data header"
                )
            }
            Damage::EpochRegression { previous, found } => {
                write!(f, "commit has epoch {found}, lower than the epoch {previous} before it")
            }
            Damage::NotCommittedByCluster { cluster_next } => write!(
                f,
                "never committed by the replicated log (a deposed leader's local tail; the cluster's log \
                 differs from here on and continues to tx offset {cluster_next})"
            ),
            Damage::SegmentGap {
                expected,
                segment_start,
            } => write!(
                f,
                "segment starts at tx offset {segment_start} but the log before it ends before {expected}"
            ),
        }
    }
}

/// One step of reading a segment.
pub(crate) enum Step<'a> {
    /// A valid commit at byte `at`, with its CRC32C.
    Commit {
        header: CommitHeader,
        records: Vec<&'a [u8]>,
        at: u64,
        crc: u32,
    },
    /// The clean end of the segment's data at byte `at`; `zero_tail` zero bytes follow.
    End { at: u64, zero_tail: u64 },
    /// The segment cannot be read past byte `at`.
    Damage { at: u64, damage: Damage },
}

/// Reads the commits of one segment file in order.
#[derive(Debug)]
pub(crate) struct SegmentReader {
    path: PathBuf,
    reader: BufReader<File>,
    file_len: u64,
    /// Byte offset of the next unread byte.
    pos: u64,
    /// The tx offset the next commit must have.
    next_tx: u64,
    /// The epoch of the last commit read (or of the log before this segment): the next
    /// one may not be lower.
    epoch: u64,
    header_checked: bool,
    /// The records of the last commit returned (reused between commits).
    body: Vec<u8>,
    /// Frame length of the commit a [`Step::Damage`] was reported for, when its header
    /// was readable and the frame fits the file: lets
    /// [`Self::count_frames_after_damage`] step over it.
    damaged_frame_len: Option<u64>,
}

const READ_BUFFER: usize = 256 * 1024;

impl SegmentReader {
    /// Opens the segment at `path` whose first commit must have tx offset `start`.
    pub(crate) fn open(path: &Path, start: u64) -> Result<Self, CommitlogError> {
        let file = File::open(path).map_err(io_err("open segment", path))?;
        let file_len = file.metadata().map_err(io_err("stat segment", path))?.len();
        Ok(Self {
            path: path.to_owned(),
            reader: BufReader::with_capacity(READ_BUFFER, file),
            file_len,
            pos: 0,
            next_tx: start,
            epoch: 0,
            header_checked: false,
            body: Vec::new(),
            damaged_frame_len: None,
        })
    }

    /// Opens the segment at `path` positioned after its header, which is not checked:
    /// recovery reads the first commit this way to judge whether a damaged header hides
    /// commits that verify (see [`crate::header_repair`]). The file holds at least a
    /// header's length.
    pub(crate) fn open_past_header(path: &Path, start: u64) -> Result<Self, CommitlogError> {
        let mut reader = Self::open(path, start)?;
        reader.header_checked = true;
        let mut skipped = [0u8; SEGMENT_HEADER_LEN];
        reader.read_exact(&mut skipped)?;
        Ok(reader)
    }

    /// The segment's length in bytes when it was opened.
    pub(crate) fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The segment file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The tx offset the next commit must have.
    pub(crate) fn next_tx(&self) -> u64 {
        self.next_tx
    }

    /// The epoch of the last commit read (or the one given to [`Self::after_epoch`]).
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Continues a log whose last commit (in an earlier segment) had `epoch`.
    pub(crate) fn after_epoch(mut self, epoch: u64) -> Self {
        self.epoch = epoch;
        self
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), CommitlogError> {
        self.reader
            .read_exact(buf)
            .map_err(io_err("read segment", &self.path))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// Reads the next commit, or says where and why the data ends.
    ///
    /// After `End` or `Damage` the reader must not be asked again (except
    /// [`Self::count_frames_after_damage`]).
    pub(crate) fn next_step(&mut self) -> Result<Step<'_>, CommitlogError> {
        if !self.header_checked {
            self.header_checked = true;
            if self.file_len < SEGMENT_HEADER_LEN as u64 {
                let why = format!(
                    "the file is {} bytes, shorter than the {SEGMENT_HEADER_LEN}-byte header",
                    self.file_len
                );
                return Ok(Step::Damage {
                    at: 0,
                    damage: Damage::BadSegmentHeader(why),
                });
            }
            let mut h = [0u8; SEGMENT_HEADER_LEN];
            self.read_exact(&mut h)?;
            if let Err(why) = check_segment_header(&h) {
                return Ok(Step::Damage {
                    at: 0,
                    damage: Damage::BadSegmentHeader(why),
                });
            }
        }
        let at = self.pos;
        let remaining = self.file_len - at;
        if remaining == 0 {
            return Ok(Step::End { at, zero_tail: 0 });
        }
        if remaining < COMMIT_HEADER_LEN as u64 {
            return match self.first_nonzero(remaining)? {
                None => Ok(Step::End {
                    at,
                    zero_tail: remaining,
                }),
                Some(_) => Ok(Step::Damage {
                    at,
                    damage: Damage::TruncatedHeader { remaining },
                }),
            };
        }
        let mut raw = [0u8; COMMIT_HEADER_LEN];
        self.read_exact(&mut raw)?;
        let Some(header) = CommitHeader::decode(&raw) else {
            return match self.first_nonzero(remaining - COMMIT_HEADER_LEN as u64)? {
                None => Ok(Step::End {
                    at,
                    zero_tail: remaining,
                }),
                Some(nonzero_at) => Ok(Step::Damage {
                    at,
                    damage: Damage::DataAfterEndMarker { nonzero_at },
                }),
            };
        };
        let frame_len = header.frame_len();
        if frame_len > remaining {
            return Ok(Step::Damage {
                at,
                damage: Damage::TruncatedCommit { frame_len, remaining },
            });
        }
        self.damaged_frame_len = Some(frame_len);
        let mut body = std::mem::take(&mut self.body);
        body.resize(header.len as usize, 0);
        self.read_exact(&mut body)?;
        let mut crc = [0u8; CRC_LEN];
        self.read_exact(&mut crc)?;
        self.body = body;
        let stored = u32::from_le_bytes(crc);
        let computed = commit_crc(&raw, &self.body);
        if stored != computed {
            return Ok(Step::Damage {
                at,
                damage: Damage::ChecksumMismatch { stored, computed },
            });
        }
        if header.n == 0 {
            let why = "the header is not all zero but counts 0 records".to_owned();
            return Ok(Step::Damage {
                at,
                damage: Damage::BadRecords(why),
            });
        }
        if header.min_tx_offset != self.next_tx {
            let damage = Damage::UnexpectedTxOffset {
                expected: self.next_tx,
                found: header.min_tx_offset,
            };
            return Ok(Step::Damage { at, damage });
        }
        if header.epoch < self.epoch {
            let damage = Damage::EpochRegression {
                previous: self.epoch,
                found: header.epoch,
            };
            return Ok(Step::Damage { at, damage });
        }
        let records = match split_records(&self.body, header.n) {
            Ok(records) => records,
            Err(why) => {
                return Ok(Step::Damage {
                    at,
                    damage: Damage::BadRecords(why),
                })
            }
        };
        self.damaged_frame_len = None;
        self.next_tx += u64::from(header.n);
        self.epoch = header.epoch;
        Ok(Step::Commit {
            header,
            records,
            at,
            crc: stored,
        })
    }

    /// Position of the first non-zero byte among the next `len` bytes, if any.
    fn first_nonzero(&mut self, len: u64) -> Result<Option<u64>, CommitlogError> {
        let mut chunk = vec![0u8; READ_BUFFER.min(len as usize)];
        let mut left = len;
        while left > 0 {
            let n = chunk.len().min(left as usize);
            let start = self.pos;
            self.read_exact(&mut chunk[..n])?;
            if let Some(i) = chunk[..n].iter().position(|&b| b != 0) {
                return Ok(Some(start + i as u64));
            }
            left -= n as u64;
        }
        Ok(None)
    }

    /// After a [`Step::Damage`], counts how many commits follow the damaged one with a
    /// valid CRC, stepping over it when its length was readable. This estimates how
    /// many commits the cut loses; with an unreadable length it counts nothing more.
    pub(crate) fn count_frames_after_damage(&mut self, damage_at: u64) -> Result<u64, CommitlogError> {
        let Some(frame_len) = self.damaged_frame_len.take() else {
            return Ok(0);
        };
        let mut pos = damage_at + frame_len;
        let mut count = 0;
        let mut file = File::open(&self.path).map_err(io_err("open segment", &self.path))?;
        file.seek(SeekFrom::Start(pos))
            .map_err(io_err("seek segment", &self.path))?;
        let mut reader = BufReader::with_capacity(READ_BUFFER, file);
        let mut raw = [0u8; COMMIT_HEADER_LEN];
        let mut body = Vec::new();
        loop {
            if self.file_len - pos < COMMIT_HEADER_LEN as u64 {
                return Ok(count);
            }
            reader
                .read_exact(&mut raw)
                .map_err(io_err("read segment", &self.path))?;
            let Some(header) = CommitHeader::decode(&raw) else {
                return Ok(count);
            };
            if header.frame_len() > self.file_len - pos {
                return Ok(count);
            }
            body.resize(header.len as usize + CRC_LEN, 0);
            reader
                .read_exact(&mut body)
                .map_err(io_err("read segment", &self.path))?;
            let (records, crc) = body.split_at(header.len as usize);
            if commit_crc(&raw, records) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
                return Ok(count);
            }
            count += 1;
            pos += header.frame_len();
        }
    }
}
