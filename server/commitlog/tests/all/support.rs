//! Helpers shared by the tests: temp directories, deterministic payloads, reading a
//! whole log back, and byte-level surgery on segment files.

use spacetime_commitlog::{Commitlog, CommitlogOptions, RecoveryReport};
use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes of framing around each single-record commit: 22-byte header, 4-byte record
/// length, 4-byte CRC.
pub const FRAME_OVERHEAD: u64 = 30;
/// Bytes of the segment header.
pub const SEGMENT_HEADER: u64 = 10;

/// A payload that differs per offset and in length (1..=64 bytes).
pub fn payload(tx_offset: u64) -> Vec<u8> {
    let len = 1 + (tx_offset * 7 % 64) as usize;
    (0..len).map(|i| (tx_offset as u8).wrapping_add(i as u8)).collect()
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create a temp dir")
}

pub fn open(dir: &Path) -> (Commitlog, RecoveryReport) {
    Commitlog::open(dir, CommitlogOptions::default()).expect("open the log")
}

pub fn open_with(dir: &Path, max_segment_size: u64) -> (Commitlog, RecoveryReport) {
    Commitlog::open(dir, CommitlogOptions::default().max_segment_size(max_segment_size)).expect("open the log")
}

/// Appends `payload(o)` for every offset in `range` and syncs.
pub fn append_range(log: &mut Commitlog, range: std::ops::Range<u64>) {
    for o in range {
        assert_eq!(log.append(&payload(o)).expect("append"), o);
    }
    log.sync().expect("sync");
}

/// Every record of the log from `from` on.
pub fn read_from(log: &Commitlog, from: u64) -> Vec<(u64, Vec<u8>)> {
    log.replay_from(from).collect::<Result<_, _>>().expect("replay")
}

/// Asserts the log holds exactly `payload(o)` for `o` in `range`.
pub fn assert_holds(log: &Commitlog, range: std::ops::Range<u64>) {
    let got = read_from(log, range.start);
    let want: Vec<_> = range.map(|o| (o, payload(o))).collect();
    assert_eq!(got.len(), want.len(), "number of records");
    assert_eq!(got, want);
}

/// The segment files of `dir`, sorted.
pub fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".stdb.log")))
        .collect();
    files.sort();
    files
}

/// File names in `dir` ending with `suffix`, sorted.
pub fn names_ending(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.expect("entry").file_name().into_string().ok())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

/// Byte offset of the commit of `tx_offset` in a segment starting at `start` whose
/// commits hold `payload(o)`.
pub fn commit_position(start: u64, tx_offset: u64) -> u64 {
    SEGMENT_HEADER
        + (start..tx_offset)
            .map(|o| FRAME_OVERHEAD + payload(o).len() as u64)
            .sum::<u64>()
}

pub fn flip_byte(path: &Path, at: u64) {
    let mut bytes = fs::read(path).expect("read");
    bytes[at as usize] ^= 0x01;
    fs::write(path, bytes).expect("write");
}

pub fn truncate(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len))
        .expect("truncate");
}

pub fn append_bytes(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new().write(true).open(path).expect("open");
    f.seek(SeekFrom::End(0)).expect("seek");
    f.write_all(bytes).expect("write");
}

pub fn file_len(path: &Path) -> u64 {
    fs::metadata(path).expect("stat").len()
}
