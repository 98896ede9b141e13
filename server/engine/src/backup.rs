//! Hot backups: the actor encodes the whole state between two requests, so the copy
//! is at a commit boundary while the database keeps serving; [`crate::Database::backup`]
//! hands it out once that commit is durable. The state is in the snapshot format, and a
//! new database is started from it with [`crate::storage::StorageConfig::with_seed`].

use crate::actor::Actor;

/// A database's state for a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupState {
    /// Every row, in the snapshot format (connected clients left out: they belong to
    /// this server, not to a restored copy).
    pub state: Vec<u8>,
    /// The tx offset of the last transaction it holds; `None` if nothing was logged
    /// (an in-memory server, or a database with no transaction yet).
    pub tx_offset: Option<u64>,
}

impl Actor {
    /// The state now, at the last commit.
    pub(crate) fn backup_state(&self) -> BackupState {
        BackupState {
            state: crate::storage::snapshot::encode(&self.db.datastore, &[], &[]),
            tx_offset: self.db.last_offset(),
        }
    }
}
