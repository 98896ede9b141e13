//! The registry (control data): which databases exist, who owns them, their names, which
//! program each runs and which replica directory holds its state.
//!
//! It is small and changes rarely, so it is kept whole in memory and rewritten whole to
//! `control-db/registry.json` after each change (temporary file, fsync, rename), which
//! survives a crash at any point. In-memory servers skip the file.
//!
//! Each database's version history ([`crate::versions`]) is kept here too, so a program
//! change and its version are one write.

use crate::names::DatabaseName;
use crate::program_store::ProgramHash;
use crate::versions::{NewVersion, Version};
use serde::{Deserialize, Serialize};
use spacetime_sats::Identity;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseRecord {
    /// The database's own identity.
    pub database_identity: Identity,
    /// Who published it first; only they may change it.
    pub owner_identity: Identity,
    /// The program it runs.
    pub program_hash: ProgramHash,
    /// The directory of its current state under `replicas/`; a reset picks a new one.
    pub replica_id: u64,
}

/// Why a registry change was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The name belongs to another database.
    #[error("the name `{0}` is already taken by another database; choose another name")]
    NameTaken(String),
    /// No database with that identity.
    #[error("no database with identity {0}")]
    NoSuchDatabase(Identity),
    /// The registry file could not be read, parsed or written.
    #[error("registry file {path}: {detail}")]
    Storage {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

#[derive(Default)]
struct State {
    next_replica_id: u64,
    databases: BTreeMap<Identity, DatabaseRecord>,
    names: BTreeMap<String, Identity>,
    versions: BTreeMap<Identity, Vec<Version>>,
}

/// The registry. All methods are cheap and never block on anything but a short lock.
pub struct Registry {
    path: Option<PathBuf>,
    state: Mutex<State>,
}

impl Registry {
    /// An empty registry that is never written to disk.
    pub fn in_memory() -> Self {
        Self {
            path: None,
            state: Mutex::new(State {
                next_replica_id: 1,
                ..State::default()
            }),
        }
    }

    /// Opens the registry at `path`, empty if the file does not exist yet.
    ///
    /// # Errors
    /// Fails if the file exists but cannot be read or parsed.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        let storage = |detail: String| RegistryError::Storage {
            path: path.to_owned(),
            detail,
        };
        let state = match fs::read(path) {
            Ok(bytes) => {
                let file: RegistryFile = serde_json::from_slice(&bytes).map_err(|e| storage(e.to_string()))?;
                file.into_state().map_err(storage)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State {
                next_replica_id: 1,
                ..State::default()
            },
            Err(e) => return Err(storage(e.to_string())),
        };
        Ok(Self {
            path: Some(path.to_owned()),
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` half-changed: every change
        // is computed first and applied with infallible inserts.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The database with identity `identity`.
    pub fn get(&self, identity: Identity) -> Option<DatabaseRecord> {
        self.lock().databases.get(&identity).cloned()
    }

    /// The identity the name `name` points at.
    pub fn resolve_name(&self, name: &str) -> Option<Identity> {
        self.lock().names.get(name).copied()
    }

    /// Every database, for reloading at start.
    pub fn all(&self) -> Vec<DatabaseRecord> {
        self.lock().databases.values().cloned().collect()
    }

    /// The names of database `identity`, sorted.
    pub fn names_of(&self, identity: Identity) -> Vec<String> {
        let state = self.lock();
        state
            .names
            .iter()
            .filter(|(_, id)| **id == identity)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The databases owned by `owner`.
    pub fn owned_by(&self, owner: Identity) -> Vec<Identity> {
        let state = self.lock();
        state
            .databases
            .values()
            .filter(|d| d.owner_identity == owner)
            .map(|d| d.database_identity)
            .collect()
    }

    /// A fresh replica id, never handed out before.
    pub fn allocate_replica_id(&self) -> Result<u64, RegistryError> {
        self.change(|state| {
            let id = state.next_replica_id;
            state.next_replica_id += 1;
            Ok(id)
        })
    }

    /// Adds a new database, with `name` if given; its owner's publish is version 1.
    ///
    /// # Errors
    /// [`RegistryError::NameTaken`] if `name` points at another database.
    pub fn insert(&self, record: DatabaseRecord, name: Option<&DatabaseName>) -> Result<(), RegistryError> {
        self.change(|state| {
            if let Some(name) = name {
                check_free(state, name.as_str(), record.database_identity)?;
                state.names.insert(name.as_str().to_owned(), record.database_identity);
            }
            let first = NewVersion {
                publisher: record.owner_identity,
                summary: "created".to_owned(),
            };
            state
                .versions
                .insert(record.database_identity, vec![first.after(&[], &record.program_hash)]);
            state.databases.insert(record.database_identity, record);
            Ok(())
        })
    }

    /// Replaces the record of an existing database after a publish (a new program or
    /// replica) and records `version` in its history, in one write.
    ///
    /// # Errors
    /// [`RegistryError::NoSuchDatabase`], or the registry file cannot be written.
    pub fn publish(&self, record: DatabaseRecord, version: NewVersion) -> Result<(), RegistryError> {
        self.change(|state| {
            let identity = record.database_identity;
            let Some(slot) = state.databases.get_mut(&identity) else {
                return Err(RegistryError::NoSuchDatabase(identity));
            };
            let history = state.versions.entry(identity).or_default();
            let version = version.after(history, &record.program_hash);
            history.push(version);
            *slot = record;
            Ok(())
        })
    }

    /// The version history of database `identity`, oldest first (empty for a database
    /// registered before histories were kept, until its next publish).
    pub fn versions(&self, identity: Identity) -> Vec<Version> {
        self.lock().versions.get(&identity).cloned().unwrap_or_default()
    }

    /// Replaces the record of an existing database (new program or replica).
    pub fn update(&self, record: DatabaseRecord) -> Result<(), RegistryError> {
        self.change(|state| match state.databases.get_mut(&record.database_identity) {
            Some(slot) => {
                *slot = record;
                Ok(())
            }
            None => Err(RegistryError::NoSuchDatabase(record.database_identity)),
        })
    }

    /// Removes a database and its names; removing a missing one is a no-op.
    pub fn remove(&self, identity: Identity) -> Result<Option<DatabaseRecord>, RegistryError> {
        self.change(|state| {
            state.names.retain(|_, id| *id != identity);
            state.versions.remove(&identity);
            Ok(state.databases.remove(&identity))
        })
    }

    /// Replaces all names of `identity` with `names`.
    ///
    /// # Errors
    /// [`RegistryError::NameTaken`] if any of them points at another database; then
    /// nothing changes.
    pub fn set_names(&self, identity: Identity, names: &[DatabaseName]) -> Result<(), RegistryError> {
        self.change(|state| {
            if !state.databases.contains_key(&identity) {
                return Err(RegistryError::NoSuchDatabase(identity));
            }
            for name in names {
                check_free(state, name.as_str(), identity)?;
            }
            state.names.retain(|_, id| *id != identity);
            state
                .names
                .extend(names.iter().map(|n| (n.as_str().to_owned(), identity)));
            Ok(())
        })
    }

    /// Applies `f` to a copy of the state, persists the copy, and only then installs it,
    /// so a failed write leaves memory and disk agreeing.
    fn change<T>(&self, f: impl FnOnce(&mut State) -> Result<T, RegistryError>) -> Result<T, RegistryError> {
        let mut state = self.lock();
        let mut next = State {
            next_replica_id: state.next_replica_id,
            databases: state.databases.clone(),
            names: state.names.clone(),
            versions: state.versions.clone(),
        };
        let out = f(&mut next)?;
        if let Some(path) = &self.path {
            write_atomically(path, &RegistryFile::from_state(&next)).map_err(|e| RegistryError::Storage {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        }
        *state = next;
        Ok(out)
    }
}

fn check_free(state: &State, name: &str, owner: Identity) -> Result<(), RegistryError> {
    match state.names.get(name) {
        Some(id) if *id != owner => Err(RegistryError::NameTaken(name.to_owned())),
        _ => Ok(()),
    }
}

fn write_atomically(path: &Path, file: &RegistryFile) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut out = fs::File::create(&tmp)?;
    out.write_all(&serde_json::to_vec_pretty(file).map_err(std::io::Error::other)?)?;
    out.sync_all()?;
    fs::rename(&tmp, path)
}

/// The on-disk form: identities as hex, names inside their database.
#[derive(Serialize, Deserialize)]
struct RegistryFile {
    next_replica_id: u64,
    databases: Vec<DatabaseFile>,
}

#[derive(Serialize, Deserialize)]
struct DatabaseFile {
    database_identity: String,
    owner_identity: String,
    program_hash: String,
    replica_id: u64,
    names: Vec<String>,
    /// Absent in files written before version histories.
    #[serde(default)]
    versions: Vec<Version>,
}

impl RegistryFile {
    fn from_state(state: &State) -> Self {
        let databases = state
            .databases
            .values()
            .map(|d| DatabaseFile {
                database_identity: d.database_identity.to_hex().to_string(),
                owner_identity: d.owner_identity.to_hex().to_string(),
                program_hash: d.program_hash.clone(),
                replica_id: d.replica_id,
                names: state
                    .names
                    .iter()
                    .filter(|(_, id)| **id == d.database_identity)
                    .map(|(n, _)| n.clone())
                    .collect(),
                versions: state.versions.get(&d.database_identity).cloned().unwrap_or_default(),
            })
            .collect();
        Self {
            next_replica_id: state.next_replica_id,
            databases,
        }
    }

    fn into_state(self) -> Result<State, String> {
        let mut state = State {
            next_replica_id: self.next_replica_id,
            ..State::default()
        };
        for d in self.databases {
            let parse = |hex: &str| Identity::from_hex(hex).map_err(|e| e.to_string());
            let record = DatabaseRecord {
                database_identity: parse(&d.database_identity)?,
                owner_identity: parse(&d.owner_identity)?,
                program_hash: d.program_hash,
                replica_id: d.replica_id,
            };
            state.next_replica_id = state.next_replica_id.max(record.replica_id + 1);
            for name in d.names {
                state.names.insert(name, record.database_identity);
            }
            if !d.versions.is_empty() {
                state.versions.insert(record.database_identity, d.versions);
            }
            state.databases.insert(record.database_identity, record);
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sub: &str, replica_id: u64) -> DatabaseRecord {
        DatabaseRecord {
            database_identity: Identity::from_claims("localhost", sub),
            owner_identity: Identity::from_claims("localhost", "owner"),
            program_hash: "ab".repeat(32),
            replica_id,
        }
    }

    #[test]
    fn changes_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control-db/registry.json");
        let registry = Registry::open(&path).unwrap();
        let db = record("db1", registry.allocate_replica_id().unwrap());
        let name = DatabaseName::parse("chat").unwrap();
        registry.insert(db.clone(), Some(&name)).unwrap();

        let reopened = Registry::open(&path).unwrap();
        assert_eq!(reopened.get(db.database_identity), Some(db.clone()));
        assert_eq!(reopened.resolve_name("chat"), Some(db.database_identity));
        assert_eq!(reopened.owned_by(db.owner_identity), vec![db.database_identity]);
        assert!(reopened.allocate_replica_id().unwrap() > db.replica_id);
    }

    #[test]
    fn a_taken_name_is_refused_and_changes_nothing() {
        let registry = Registry::in_memory();
        let (a, b) = (record("a", 1), record("b", 2));
        let chat = DatabaseName::parse("chat").unwrap();
        registry.insert(a.clone(), Some(&chat)).unwrap();
        registry.insert(b.clone(), None).unwrap();
        let other = DatabaseName::parse("other").unwrap();
        let err = registry.set_names(b.database_identity, &[other, chat]).unwrap_err();
        assert!(matches!(err, RegistryError::NameTaken(n) if n == "chat"));
        assert!(registry.names_of(b.database_identity).is_empty());

        registry.remove(a.database_identity).unwrap();
        assert_eq!(registry.resolve_name("chat"), None);
    }

    #[test]
    fn each_publish_is_a_numbered_version_that_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control-db/registry.json");
        let registry = Registry::open(&path).unwrap();
        let db = record("db1", 1);
        registry.insert(db.clone(), None).unwrap();
        let publisher = Identity::from_claims("localhost", "someone");
        let next = DatabaseRecord {
            program_hash: "cd".repeat(32),
            ..db.clone()
        };
        let version = NewVersion {
            publisher,
            summary: "add table `pet`".into(),
        };
        registry.publish(next.clone(), version).unwrap();

        let reopened = Registry::open(&path).unwrap();
        assert_eq!(reopened.get(db.database_identity), Some(next));
        let history = reopened.versions(db.database_identity);
        let seen: Vec<_> = history
            .iter()
            .map(|v| (v.number, &v.program_hash[..2], v.summary.as_str()))
            .collect();
        assert_eq!(seen, vec![(1, "ab", "created"), (2, "cd", "add table `pet`")]);
        assert_eq!(history[1].publisher, publisher.to_hex().to_string());
        assert!(history[1].published_at_micros >= history[0].published_at_micros);
        reopened.remove(db.database_identity).unwrap();
        assert!(reopened.versions(db.database_identity).is_empty());
        let missing = reopened.publish(
            record("nope", 9),
            NewVersion {
                publisher,
                summary: String::new(),
            },
        );
        assert!(matches!(missing, Err(RegistryError::NoSuchDatabase(_))));
    }
}
