//! Module binaries, content-addressed by their blake3 hash.
//!
//! On disk each program is `program-bytes/<hash hex>`, written once through a temporary
//! file and a rename, so a crash never leaves a truncated program under its hash.
//! In-memory servers keep them in a map instead.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The blake3 hash of a program, as 64 lower-case hex digits.
pub type ProgramHash = String;

/// Hashes `bytes` the way the store addresses them.
pub fn program_hash(bytes: &[u8]) -> ProgramHash {
    blake3::hash(bytes).to_hex().to_string()
}

/// Where programs are kept.
pub enum ProgramStore {
    /// In `dir`, one file per program.
    Disk {
        /// The `program-bytes` directory.
        dir: PathBuf,
    },
    /// In memory only.
    Memory(Mutex<HashMap<ProgramHash, Arc<[u8]>>>),
}

impl ProgramStore {
    /// Stores `bytes`, returning their hash; storing the same bytes twice is a no-op.
    ///
    /// # Errors
    /// Fails if the file cannot be written.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<ProgramHash> {
        let hash = program_hash(bytes);
        match self {
            Self::Disk { dir } => {
                let path = dir.join(&hash);
                if !path.exists() {
                    fs::create_dir_all(dir)?;
                    let tmp = dir.join(format!("{hash}.tmp"));
                    let mut file = fs::File::create(&tmp)?;
                    file.write_all(bytes)?;
                    file.sync_all()?;
                    fs::rename(&tmp, &path)?;
                }
            }
            Self::Memory(map) => {
                map.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(hash.clone())
                    .or_insert_with(|| bytes.into());
            }
        }
        Ok(hash)
    }

    /// The program with hash `hash`.
    ///
    /// # Errors
    /// Fails if it is missing or cannot be read.
    pub fn get(&self, hash: &str) -> std::io::Result<Arc<[u8]>> {
        match self {
            Self::Disk { dir } => fs::read(dir.join(hash)).map(Arc::from),
            Self::Memory(map) => map
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(hash)
                .cloned()
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, format!("no program with hash {hash}"))
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_round_trip_by_hash_on_disk_and_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        for store in [
            ProgramStore::Disk {
                dir: dir.path().join("p"),
            },
            ProgramStore::Memory(Default::default()),
        ] {
            let hash = store.put(b"\0asm").unwrap();
            assert_eq!(hash, program_hash(b"\0asm"));
            assert_eq!(&*store.get(&hash).unwrap(), b"\0asm");
            assert_eq!(store.put(b"\0asm").unwrap(), hash);
            assert!(store.get(&program_hash(b"other")).is_err());
        }
    }
}
