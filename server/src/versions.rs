//! The version history of a database: one [`Version`] per successful publish (create,
//! update, clear, rollback), kept in the registry beside the program it names, so it
//! is written in the same atomic registry write as the program change. A rollback
//! republishes an earlier version's program from the program store.

use serde::{Deserialize, Serialize};
use spacetime_sats::{Identity, Timestamp};

/// One publish of a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// 1 for the first publish, then counting up.
    pub number: u32,
    /// The program published.
    pub program_hash: String,
    /// When, in microseconds since the Unix epoch.
    pub published_at_micros: i64,
    /// Who published it (hex identity).
    pub publisher: String,
    /// What the publish did, in plain words (the migration plan's summary).
    pub summary: String,
}

/// A publish about to be recorded: the number and time are filled in by the registry.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// Who publishes.
    pub publisher: Identity,
    /// What the publish does.
    pub summary: String,
}

impl NewVersion {
    /// Numbers this publish after `history` (and stamps it now) for program `hash`.
    pub(crate) fn after(self, history: &[Version], hash: &str) -> Version {
        Version {
            number: history.last().map_or(1, |v| v.number + 1),
            program_hash: hash.to_owned(),
            published_at_micros: Timestamp::now().to_micros_since_unix_epoch(),
            publisher: self.publisher.to_hex().to_string(),
            summary: self.summary,
        }
    }
}

impl Version {
    /// The version as the HTTP API shows it.
    pub fn to_json(&self) -> serde_json::Value {
        let published_at = Timestamp::from_micros_since_unix_epoch(self.published_at_micros).to_string();
        serde_json::json!({
            "version": self.number,
            "program_hash": self.program_hash,
            "published_at": published_at,
            "publisher": self.publisher,
            "summary": self.summary,
        })
    }
}
