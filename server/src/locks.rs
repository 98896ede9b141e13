//! Database locks (`spacetime lock`/`unlock`): a locked database cannot be deleted or reset
//! (`clear=true`), only updated. The set of locked databases is small, kept whole in memory
//! and rewritten whole to `control-db/locks.json` (temporary file, fsync, rename) after each
//! change; in-memory servers skip the file.

use spacetime_sats::Identity;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why the lock file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("the database lock file {path} cannot be {action}: {message}")]
pub struct LocksError {
    path: PathBuf,
    action: &'static str,
    message: String,
}

/// The locked databases.
pub struct Locks {
    path: Option<PathBuf>,
    locked: Mutex<BTreeSet<Identity>>,
}

impl Locks {
    /// Locks kept only in memory.
    pub fn in_memory() -> Self {
        Self {
            path: None,
            locked: Mutex::default(),
        }
    }

    /// The locks saved at `path` (none if the file does not exist yet).
    ///
    /// # Errors
    /// When the file exists but cannot be read or parsed.
    pub fn open(path: &Path) -> Result<Self, LocksError> {
        let error = |action, message: String| LocksError {
            path: path.to_owned(),
            action,
            message,
        };
        let locked = match std::fs::read(path) {
            Ok(bytes) => {
                let hex: Vec<String> = serde_json::from_slice(&bytes).map_err(|e| error("read", e.to_string()))?;
                hex.iter()
                    .map(|h| Identity::from_hex(h).map_err(|e| error("read", format!("`{h}`: {e}"))))
                    .collect::<Result<_, _>>()?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
            Err(e) => return Err(error("read", e.to_string())),
        };
        Ok(Self {
            path: Some(path.to_owned()),
            locked: Mutex::new(locked),
        })
    }

    /// Whether `identity` is locked.
    pub fn is_locked(&self, identity: Identity) -> bool {
        self.guard().contains(&identity)
    }

    /// Locks or unlocks `identity` (either is idempotent) and saves the set.
    ///
    /// # Errors
    /// When the file cannot be written; the change is then undone.
    pub fn set(&self, identity: Identity, locked: bool) -> Result<(), LocksError> {
        let mut set = self.guard();
        let changed = if locked {
            set.insert(identity)
        } else {
            set.remove(&identity)
        };
        if !changed {
            return Ok(());
        }
        if let Some(path) = &self.path {
            if let Err(e) = save(path, &set) {
                if locked {
                    set.remove(&identity);
                } else {
                    set.insert(identity);
                }
                return Err(LocksError {
                    path: path.clone(),
                    action: "written",
                    message: e.to_string(),
                });
            }
        }
        Ok(())
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, BTreeSet<Identity>> {
        // A panic while holding the lock cannot leave the set half-changed.
        self.locked.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn save(path: &Path, set: &BTreeSet<Identity>) -> std::io::Result<()> {
    let hex: Vec<String> = set.iter().map(|i| i.to_hex().to_string()).collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut out = std::fs::File::create(&tmp)?;
    out.write_all(&serde_json::to_vec_pretty(&hex).map_err(std::io::Error::other)?)?;
    out.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_survive_reopening_and_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control-db/locks.json");
        let a = Identity::from_byte_array([1; 32]);
        let locks = Locks::open(&path).unwrap();
        assert!(!locks.is_locked(a));
        locks.set(a, true).unwrap();
        locks.set(a, true).unwrap();
        assert!(Locks::open(&path).unwrap().is_locked(a));
        locks.set(a, false).unwrap();
        locks.set(a, false).unwrap();
        assert!(!Locks::open(&path).unwrap().is_locked(a));
    }
}
