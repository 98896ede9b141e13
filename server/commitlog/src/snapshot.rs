//! Snapshot files: the whole state of a database at one tx offset, as opaque bytes
//! the server produces, stored one file per snapshot in the snapshots directory.
//!
//! Each file is written atomically (temp file, fsync, rename, directory fsync) and
//! carries a header with its tx offset, length and a BLAKE3 hash over header and
//! payload, so a torn, truncated or bit-flipped snapshot is recognised on restore,
//! set aside as `.invalid` and an older one used instead.

use crate::error::{snap_io_err, SnapshotError};
use crate::fsutil::{create_dir, list_names, remove_tmp_files, set_aside, sync_dir, write_atomically};
use crate::report::SkippedSnapshot;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The first four bytes of a snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 4] = *b"txyz";
/// The snapshot format version this crate writes and reads.
pub const SNAPSHOT_VERSION: u8 = 1;
/// Hash algorithm id 1: BLAKE3, 32 bytes.
const HASH_BLAKE3: u8 = 1;
/// Magic, version, hash algorithm, 2 reserved, tx offset, payload length.
const HASHED_HEADER_LEN: usize = 4 + 1 + 1 + 2 + 8 + 8;
/// The whole header: the hashed part and the 32-byte hash.
pub const SNAPSHOT_HEADER_LEN: usize = HASHED_HEADER_LEN + 32;
/// The file name suffix of a snapshot.
pub const SNAPSHOT_SUFFIX: &str = ".snapshot";
/// Appended to a snapshot that restore refused.
const INVALID_SUFFIX: &str = ".invalid";

/// A database state at a tx offset: everything up to and including `tx_offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The last transaction the state includes; replay continues at `tx_offset + 1`.
    pub tx_offset: u64,
    /// The server's encoding of the state.
    pub payload: Vec<u8>,
}

/// The result of [`SnapshotStore::latest_valid`].
#[derive(Debug, Clone, Default)]
pub struct LatestSnapshot {
    /// The newest usable snapshot, if any.
    pub snapshot: Option<Snapshot>,
    /// Newer snapshots that were not usable, newest first, now renamed `.invalid`.
    pub skipped: Vec<SkippedSnapshot>,
}

/// The snapshots of one database, in one directory.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dir: PathBuf,
    keep: usize,
}

/// The file name of the snapshot at `tx_offset`.
pub fn snapshot_file_name(tx_offset: u64) -> String {
    format!("{tx_offset:020}{SNAPSHOT_SUFFIX}")
}

fn parse_snapshot_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SNAPSHOT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn encode_header(tx_offset: u64, payload: &[u8]) -> [u8; SNAPSHOT_HEADER_LEN] {
    let mut h = [0u8; SNAPSHOT_HEADER_LEN];
    h[0..4].copy_from_slice(&SNAPSHOT_MAGIC);
    h[4] = SNAPSHOT_VERSION;
    h[5] = HASH_BLAKE3;
    h[8..16].copy_from_slice(&tx_offset.to_le_bytes());
    h[16..24].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    let hash = hash(&h[..HASHED_HEADER_LEN], payload);
    h[HASHED_HEADER_LEN..].copy_from_slice(&hash);
    h
}

fn hash(header: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(header);
    hasher.update(payload);
    *hasher.finalize().as_bytes()
}

/// Checks a snapshot file's bytes against the offset in its name; returns the payload
/// or says what is wrong.
fn decode(mut bytes: Vec<u8>, expected_offset: u64) -> Result<Vec<u8>, String> {
    verify_snapshot(&bytes, expected_offset)?;
    bytes.drain(..SNAPSHOT_HEADER_LEN);
    Ok(bytes)
}

/// Checks the bytes of a whole snapshot file (as [`snapshot_file_name`]`(tx_offset)`
/// holds them, e.g. received from another node): header, length and BLAKE3 hash.
/// Returns the hash the header carries, which names the snapshot's contents.
///
/// # Errors
/// A description of what is wrong.
pub fn verify_snapshot(bytes: &[u8], expected_offset: u64) -> Result<[u8; 32], String> {
    if bytes.len() < SNAPSHOT_HEADER_LEN {
        return Err(format!(
            "the file is {} bytes, shorter than the {SNAPSHOT_HEADER_LEN}-byte header",
            bytes.len()
        ));
    }
    let (h, payload) = bytes.split_at(SNAPSHOT_HEADER_LEN);
    let tx_offset = snapshot_header(h)?.0;
    let len = u64::from_le_bytes(h[16..24].try_into().expect("8 bytes"));
    if tx_offset != expected_offset {
        return Err(format!(
            "the header says tx offset {tx_offset} but the file name says {expected_offset}"
        ));
    }
    if len != payload.len() as u64 {
        return Err(format!(
            "the header announces {len} payload bytes but the file holds {}",
            payload.len()
        ));
    }
    if hash(&h[..HASHED_HEADER_LEN], payload) != h[HASHED_HEADER_LEN..] {
        return Err("BLAKE3 hash mismatch: the contents changed after writing".to_owned());
    }
    Ok(h[HASHED_HEADER_LEN..].try_into().expect("32 bytes"))
}

/// Reads a snapshot header (the first [`SNAPSHOT_HEADER_LEN`] bytes of its file):
/// its tx offset, payload length and BLAKE3 hash, without checking the payload.
///
/// # Errors
/// A description of what is wrong with the header.
pub fn snapshot_header(h: &[u8]) -> Result<(u64, u64, [u8; 32]), String> {
    if h.len() < SNAPSHOT_HEADER_LEN {
        return Err(format!(
            "the header is {} bytes, shorter than {SNAPSHOT_HEADER_LEN}",
            h.len()
        ));
    }
    if h[0..4] != SNAPSHOT_MAGIC {
        return Err(format!("bad magic {:02x?}, expected {:02x?}", &h[0..4], SNAPSHOT_MAGIC));
    }
    if h[4] != SNAPSHOT_VERSION {
        return Err(format!(
            "unsupported snapshot version {}, this build reads {SNAPSHOT_VERSION}",
            h[4]
        ));
    }
    if h[5] != HASH_BLAKE3 {
        return Err(format!("unknown hash algorithm {}, only 1 (BLAKE3) is defined", h[5]));
    }
    let tx_offset = u64::from_le_bytes(h[8..16].try_into().expect("8 bytes"));
    let len = u64::from_le_bytes(h[16..24].try_into().expect("8 bytes"));
    let hash = h[HASHED_HEADER_LEN..SNAPSHOT_HEADER_LEN].try_into().expect("32 bytes");
    Ok((tx_offset, len, hash))
}

impl SnapshotStore {
    /// Default number of snapshots [`write`](Self::write) keeps.
    pub const DEFAULT_KEEP: usize = 2;

    /// Opens (or creates) the snapshot directory `dir`, removing leftovers of
    /// interrupted writes.
    ///
    /// # Errors
    /// I/O errors.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, SnapshotError> {
        let dir = dir.as_ref().to_owned();
        create_dir(&dir)?;
        for tmp in remove_tmp_files(&dir)? {
            log::info!("snapshots: removed {}, left by an interrupted write", tmp.display());
        }
        Ok(Self {
            dir,
            keep: Self::DEFAULT_KEEP,
        })
    }

    /// Sets how many snapshots [`write`](Self::write) keeps (at least 1).
    pub fn keep(mut self, n: usize) -> Self {
        self.keep = n.max(1);
        self
    }

    /// The snapshot directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the snapshot of the state after `tx_offset` atomically, then removes
    /// all but the newest `keep` snapshots. Returns the file written.
    ///
    /// Write a snapshot only of state whose `tx_offset` is durable in the log: restore
    /// sets aside any snapshot newer than the log's end.
    ///
    /// # Errors
    /// I/O errors; a failed write leaves no partial snapshot behind.
    pub fn write(&self, tx_offset: u64, payload: &[u8]) -> Result<PathBuf, SnapshotError> {
        let name = snapshot_file_name(tx_offset);
        write_atomically(&self.dir, &name, &[&encode_header(tx_offset, payload), payload])?;
        self.prune()?;
        Ok(self.dir.join(name))
    }

    /// The tx offsets of the snapshot files present (unverified), ascending.
    ///
    /// # Errors
    /// I/O errors.
    pub fn offsets(&self) -> Result<Vec<u64>, SnapshotError> {
        let mut offsets: Vec<u64> = list_names(&self.dir)?
            .iter()
            .filter_map(|n| parse_snapshot_file_name(n))
            .collect();
        offsets.sort_unstable();
        Ok(offsets)
    }

    /// Reads and verifies the snapshot at `tx_offset`.
    ///
    /// # Errors
    /// [`SnapshotError::NotFound`], [`SnapshotError::Invalid`], or I/O errors.
    pub fn read(&self, tx_offset: u64) -> Result<Snapshot, SnapshotError> {
        let path = self.dir.join(snapshot_file_name(tx_offset));
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(SnapshotError::NotFound(tx_offset)),
            Err(e) => return Err(snap_io_err("read snapshot", &path)(e)),
        };
        match decode(bytes, tx_offset) {
            Ok(payload) => Ok(Snapshot { tx_offset, payload }),
            Err(reason) => Err(SnapshotError::Invalid { path, reason }),
        }
    }

    /// The newest valid snapshot at or below `max_tx_offset` (the log's durable
    /// offset; `None` for an empty log).
    ///
    /// Damaged snapshots are renamed `….snapshot.invalid` and reported in
    /// [`LatestSnapshot::skipped`]. So are snapshots newer than `max_tx_offset`: the
    /// log lost the transactions they include and will reuse those offsets for
    /// different ones, so they can never become valid.
    ///
    /// # Errors
    /// I/O errors (damage is not an error).
    pub fn latest_valid(&self, max_tx_offset: Option<u64>) -> Result<LatestSnapshot, SnapshotError> {
        let mut result = LatestSnapshot::default();
        for tx_offset in self.offsets()?.into_iter().rev() {
            let reason = if max_tx_offset.is_none_or(|max| tx_offset > max) {
                let end = max_tx_offset.map_or("the log is empty".to_owned(), |m| format!("the log ends at {m}"));
                format!("it is newer than the log ({end}): the transactions it includes were lost with the log's tail")
            } else {
                match self.read(tx_offset) {
                    Ok(snapshot) => {
                        result.snapshot = Some(snapshot);
                        break;
                    }
                    Err(SnapshotError::Invalid { reason, .. }) => reason,
                    // Removed meanwhile: nothing to set aside.
                    Err(SnapshotError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                }
            };
            let path = self.dir.join(snapshot_file_name(tx_offset));
            let moved_to = set_aside(&path, INVALID_SUFFIX)?;
            result.skipped.push(SkippedSnapshot {
                path,
                tx_offset,
                reason,
                moved_to,
            });
        }
        if !result.skipped.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(result)
    }

    /// The oldest snapshot kept, if any: prune the log only below it
    /// (`Durability::request_prune(oldest + 1)`), so every kept snapshot stays usable.
    ///
    /// # Errors
    /// I/O errors.
    pub fn oldest(&self) -> Result<Option<u64>, SnapshotError> {
        Ok(self.offsets()?.first().copied())
    }

    /// Removes all but the newest `keep` snapshots; returns the removed files.
    ///
    /// # Errors
    /// I/O errors.
    pub fn prune(&self) -> Result<Vec<PathBuf>, SnapshotError> {
        let offsets = self.offsets()?;
        let excess = offsets.len().saturating_sub(self.keep);
        let mut removed = Vec::new();
        for &tx_offset in &offsets[..excess] {
            let path = self.dir.join(snapshot_file_name(tx_offset));
            fs::remove_file(&path).map_err(snap_io_err("remove snapshot", &path))?;
            removed.push(path);
        }
        if !removed.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_checks_every_field() {
        let payload = b"state".to_vec();
        let file = [&encode_header(9, &payload)[..], &payload].concat();
        assert_eq!(decode(file.clone(), 9).unwrap(), payload);
        assert!(decode(file.clone(), 8).unwrap_err().contains("file name says 8"));
        assert!(decode(file[..file.len() - 1].to_vec(), 9)
            .unwrap_err()
            .contains("announces 5"));
        assert!(decode(file[..10].to_vec(), 9).unwrap_err().contains("shorter"));
        for (i, needle) in [
            (0, "magic"),
            (4, "version"),
            (5, "hash algorithm"),
            (30, "BLAKE3"),
            (60, "BLAKE3"),
        ] {
            let mut bad = file.clone();
            bad[i] ^= 0x40;
            assert!(decode(bad, 9).unwrap_err().contains(needle), "flip at {i}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(snapshot_file_name(12), "00000000000000000012.snapshot");
        assert_eq!(parse_snapshot_file_name("00000000000000000012.snapshot"), Some(12));
        assert_eq!(parse_snapshot_file_name("00000000000000000012.snapshot.invalid"), None);
        assert_eq!(parse_snapshot_file_name("12.snapshot"), None);
    }
}
