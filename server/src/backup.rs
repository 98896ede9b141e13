//! The backup file: one database's program and state at a commit boundary, checked by
//! a BLAKE3 checksum over everything before it.
//!
//! Layout: the line `SPACETIME-BACKUP 1`, a one-line JSON [`Manifest`], the program
//! (`program_len` bytes), the state in the snapshot format (`state_len` bytes), then
//! the 32-byte BLAKE3 hash of all that precedes it. A file that is truncated, extended
//! or changed anywhere fails the check and is refused before anything is created.

use serde::{Deserialize, Serialize};

/// The first line of every backup.
const MAGIC: &[u8] = b"SPACETIME-BACKUP 1\n";
/// The checksum's length.
const CHECKSUM_LEN: usize = 32;

/// What a backup says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The database backed up.
    pub database_identity: String,
    /// Its owner then.
    pub owner_identity: String,
    /// The program's hash in the program store (BLAKE3 hex).
    pub program_hash: String,
    /// The tx offset of the last transaction the state holds, if any.
    pub tx_offset: Option<u64>,
    /// When the state was taken, in microseconds since the Unix epoch.
    pub taken_at_micros: i64,
    /// The program's length.
    pub program_len: u64,
    /// The state's length.
    pub state_len: u64,
}

/// A decoded, verified backup.
#[derive(Debug)]
pub struct Backup<'a> {
    /// The manifest.
    pub manifest: Manifest,
    /// The module.
    pub program: &'a [u8],
    /// The state, in the snapshot format.
    pub state: &'a [u8],
}

/// Why a file is not a usable backup.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// It does not start as a backup does.
    #[error("this is not a Spacetime backup (it does not start with `SPACETIME-BACKUP 1`); pass a file made by `spacetime backup`")]
    NotABackup,
    /// The checksum does not match: changed, truncated or extended.
    #[error(
        "the backup is corrupted: its BLAKE3 checksum does not match its contents (the file was changed, truncated \
         or extended after `spacetime backup` wrote it); nothing was restored. Use another copy of the backup"
    )]
    Checksum,
    /// The manifest does not parse or does not fit the file.
    #[error("the backup's manifest is invalid: {0}; nothing was restored")]
    Manifest(String),
}

/// Writes a backup of `program` and `state`.
pub fn encode(manifest: &Manifest, program: &[u8], state: &[u8]) -> Vec<u8> {
    // Serializing a struct of strings and numbers cannot fail.
    let line = serde_json::to_vec(manifest).unwrap_or_default();
    let mut out = Vec::with_capacity(MAGIC.len() + line.len() + 1 + program.len() + state.len() + CHECKSUM_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&line);
    out.push(b'\n');
    out.extend_from_slice(program);
    out.extend_from_slice(state);
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

/// Reads and verifies a backup.
///
/// # Errors
/// [`BackupError`]: not a backup, a checksum mismatch, or a manifest that does not fit.
pub fn decode(bytes: &[u8]) -> Result<Backup<'_>, BackupError> {
    if !bytes.starts_with(MAGIC) {
        return Err(BackupError::NotABackup);
    }
    let Some(body_len) = bytes.len().checked_sub(CHECKSUM_LEN).filter(|&n| n >= MAGIC.len()) else {
        return Err(BackupError::Checksum);
    };
    let (body, checksum) = bytes.split_at(body_len);
    if blake3::hash(body).as_bytes() != checksum {
        return Err(BackupError::Checksum);
    }
    let rest = &body[MAGIC.len()..];
    let newline = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| BackupError::Manifest("no manifest line".into()))?;
    let manifest: Manifest =
        serde_json::from_slice(&rest[..newline]).map_err(|e| BackupError::Manifest(e.to_string()))?;
    let payload = &rest[newline + 1..];
    let program_len = usize::try_from(manifest.program_len).unwrap_or(usize::MAX);
    let state_len = usize::try_from(manifest.state_len).unwrap_or(usize::MAX);
    if program_len.checked_add(state_len) != Some(payload.len()) {
        return Err(BackupError::Manifest(format!(
            "it announces {program_len} + {state_len} bytes but holds {}",
            payload.len()
        )));
    }
    let (program, state) = payload.split_at(program_len);
    Ok(Backup {
        manifest,
        program,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let manifest = Manifest {
            database_identity: "c200".into(),
            owner_identity: "c201".into(),
            program_hash: "ab".into(),
            tx_offset: Some(7),
            taken_at_micros: 1,
            program_len: 3,
            state_len: 4,
        };
        encode(&manifest, b"wsm", b"rows")
    }

    #[test]
    fn round_trips() {
        let bytes = sample();
        let backup = decode(&bytes).unwrap();
        assert_eq!((backup.program, backup.state), (&b"wsm"[..], &b"rows"[..]));
        assert_eq!(backup.manifest.tx_offset, Some(7));
    }

    #[test]
    fn any_change_is_refused() {
        let bytes = sample();
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 0x01;
            assert!(decode(&changed).is_err(), "a flipped bit at {i} was accepted");
        }
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "a cut at {len} was accepted");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(decode(&longer), Err(BackupError::Checksum)));
        assert!(matches!(decode(b"PK\x03\x04"), Err(BackupError::NotABackup)));
    }
}
