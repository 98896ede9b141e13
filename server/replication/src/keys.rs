//! The etcd key layout of one replicated database (design §3), and how values are
//! written: numbers as decimal text, so `etcdctl get` shows them as they are.
//!
//! ```text
//! <prefix>/db/<db>/epoch                 u64, only ever incremented (by a campaign's Txn)
//! <prefix>/db/<db>/leader                {"node", "epoch", "addr"} under the leader's lease
//! <prefix>/db/<db>/head                  last committed tx offset
//! <prefix>/db/<db>/log/<offset:020>      one group-commit batch (commit frames), by first tx offset
//! <prefix>/db/<db>/trim                  first tx offset the log still holds
//! <prefix>/db/<db>/replica/<node>        {"persisted": ..} progress of each replica
//! ```

use crate::error::{ReplicationError, Result};

/// The keys of one database under a cluster prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbKeys {
    base: String,
}

impl DbKeys {
    /// The keys of database `db` under `prefix` (e.g. `/stdb/v1`).
    pub fn new(prefix: &str, db: &str) -> Self {
        Self {
            base: format!("{}/db/{db}", prefix.trim_end_matches('/')),
        }
    }

    /// The epoch key.
    pub fn epoch(&self) -> String {
        format!("{}/epoch", self.base)
    }

    /// The leader key.
    pub fn leader(&self) -> String {
        format!("{}/leader", self.base)
    }

    /// The head key: the last committed tx offset.
    pub fn head(&self) -> String {
        format!("{}/head", self.base)
    }

    /// The trim key: the first tx offset the log still holds.
    pub fn trim(&self) -> String {
        format!("{}/trim", self.base)
    }

    /// The key of the batch whose first tx offset is `first`.
    pub fn log(&self, first: u64) -> String {
        format!("{}/log/{first:020}", self.base)
    }

    /// The prefix of every log key.
    pub fn log_prefix(&self) -> String {
        format!("{}/log/", self.base)
    }

    /// The first tx offset of a log key, if `key` is one.
    pub fn log_offset(&self, key: &[u8]) -> Option<u64> {
        let digits = std::str::from_utf8(key).ok()?.strip_prefix(&self.log_prefix())?;
        (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse().ok())
            .flatten()
    }

    /// The progress key of replica `node`.
    pub fn replica(&self, node: &str) -> String {
        format!("{}/replica/{node}", self.base)
    }

    /// The prefix of every replica's progress key.
    pub fn replica_prefix(&self) -> String {
        format!("{}/replica/", self.base)
    }
}

/// The value of a number key.
pub(crate) fn number(n: u64) -> String {
    n.to_string()
}

/// Reads a number key's value.
pub(crate) fn parse_number(key: &str, value: &[u8]) -> Result<u64> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ReplicationError::BadValue {
            key: key.to_owned(),
            value: String::from_utf8_lossy(value).into_owned(),
            expected: "a decimal u64",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let k = DbKeys::new("/stdb/v1/", "bank");
        assert_eq!(k.epoch(), "/stdb/v1/db/bank/epoch");
        assert_eq!(k.log(42), "/stdb/v1/db/bank/log/00000000000000000042");
        assert_eq!(k.log_offset(k.log(42).as_bytes()), Some(42));
        assert_eq!(k.log_offset(b"/stdb/v1/db/bank/log/42"), None);
        assert_eq!(k.log_offset(b"/stdb/v1/db/bank/head"), None);
        assert_eq!(k.replica("n1"), "/stdb/v1/db/bank/replica/n1");
        assert_eq!(parse_number("k", b"17").unwrap(), 17);
        assert!(parse_number("k", b"x").unwrap_err().to_string().contains("decimal"));
    }
}
