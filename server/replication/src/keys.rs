//! The etcd key layout of one replicated database (design §3), and how values are
//! written: numbers as decimal text, so `etcdctl get` shows them as they are.
//!
//! ```text
//! <prefix>/db/<db>/epoch                 u64, only ever incremented (by a campaign's Txn)
//! <prefix>/db/<db>/leader                {"node", "epoch", "addr"} under the leader's lease
//! <prefix>/db/<db>/head                  last committed tx offset [+ " " + rolling checksum there, 32 hex]
//! <prefix>/db/<db>/log/<offset:020>      one group-commit batch (commit frames), by first tx offset
//! <prefix>/db/<db>/trim                  first tx offset the log still holds
//! <prefix>/db/<db>/replica/<node>        progress of each replica: "<persisted>" (leader, standby) or "<persisted> reader"
//! <prefix>/db/<db>/handover              {"from", "to", "epoch"} under a short lease: a planned handover
//! <prefix>/db/<db>/placement             {"replicas", "nodes"}: the nodes that hold the database
//! <prefix>/controller                    {"node", "addr"} under the placement controller's lease
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

    /// The key range a follower watches, `[head, <base>/log0)`: the head key, every
    /// log key (`'/'` sorts just below `'0'`), and the leader key between them, whose
    /// events the follower ignores. One watch, so a batch and the head put with it in
    /// one `Txn` arrive together, in order.
    pub fn tail_range(&self) -> (String, String) {
        (self.head(), format!("{}/log0", self.base))
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

    /// The handover key: the node a resigning leader hands the database to.
    pub fn handover(&self) -> String {
        format!("{}/handover", self.base)
    }

    /// The placement key: the nodes chosen to hold the database.
    pub fn placement(&self) -> String {
        format!("{}/placement", self.base)
    }

    /// The prefix of every replica's progress key.
    pub fn replica_prefix(&self) -> String {
        format!("{}/replica/", self.base)
    }
}

/// The value of the head key: the last committed tx offset and, from leaders that
/// compute one, the database's rolling checksum after it (design §9), which every
/// follower checks its own copy against. Written `"<offset>"` or
/// `"<offset> <32 lowercase hex digits>"`; heads written before checksums existed
/// have none and still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The last committed tx offset.
    pub offset: u64,
    /// The rolling checksum of the database's contents after `offset`, if published.
    pub checksum: Option<u128>,
}

impl Head {
    /// The value written to the head key.
    pub fn encode(&self) -> String {
        match self.checksum {
            Some(checksum) => format!("{} {checksum:032x}", self.offset),
            None => number(self.offset),
        }
    }

    /// Reads a head key's value (either form).
    ///
    /// # Errors
    /// [`ReplicationError::BadValue`] naming `key`.
    pub fn parse(key: &str, value: &[u8]) -> Result<Self> {
        let bad = || ReplicationError::BadValue {
            key: key.to_owned(),
            value: String::from_utf8_lossy(value).into_owned(),
            expected: "a decimal u64, optionally followed by a space and 32 lowercase hex digits",
        };
        let text = std::str::from_utf8(value).map_err(|_| bad())?;
        let (offset, checksum) = match text.split_once(' ') {
            Some((offset, hex)) => {
                let lower_hex = hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                let checksum = u128::from_str_radix(hex, 16)
                    .ok()
                    .filter(|_| lower_hex)
                    .ok_or_else(bad)?;
                (offset, Some(checksum))
            }
            None => (text, None),
        };
        let offset = offset.parse().map_err(|_| bad())?;
        Ok(Self { offset, checksum })
    }
}

/// What a replica is, as its progress says: only electable replicas hold the log's
/// trimming back (design §7); a reader never leads, so it bootstraps from a peer
/// when it falls behind the trim instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaRole {
    /// The leader or a standby: may be elected, so trimming waits for it (within a bound).
    Standby,
    /// A read replica: never elected, never waited for.
    Reader,
}

/// The value of a replica's progress key: the last tx offset it has persisted and its
/// role. Written `"<persisted>"` for the leader and standbys (as nodes wrote before
/// roles existed) and `"<persisted> reader"` for readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaProgress {
    /// The last tx offset the replica holds on its own disk.
    pub persisted: u64,
    /// Whether trimming may wait for it.
    pub role: ReplicaRole,
}

impl ReplicaProgress {
    /// The value written to the progress key.
    pub fn encode(&self) -> String {
        match self.role {
            ReplicaRole::Standby => number(self.persisted),
            ReplicaRole::Reader => format!("{} reader", self.persisted),
        }
    }

    /// Reads a progress key's value (either form).
    ///
    /// # Errors
    /// [`ReplicationError::BadValue`] naming `key`.
    pub fn parse(key: &str, value: &[u8]) -> Result<Self> {
        let bad = || ReplicationError::BadValue {
            key: key.to_owned(),
            value: String::from_utf8_lossy(value).into_owned(),
            expected: "a decimal u64, optionally followed by \" reader\"",
        };
        let text = std::str::from_utf8(value).map_err(|_| bad())?;
        let (persisted, role) = match text.strip_suffix(" reader") {
            Some(persisted) => (persisted, ReplicaRole::Reader),
            None => (text, ReplicaRole::Standby),
        };
        let persisted = persisted.parse().map_err(|_| bad())?;
        Ok(Self { persisted, role })
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
        let (from, to) = k.tail_range();
        let inside = |key: &str| from.as_str() <= key && key < to.as_str();
        assert!(inside(&k.head()) && inside(&k.log(0)) && inside(&k.log(u64::MAX)));
        assert!(!inside(&k.epoch()) && !inside(&k.trim()) && !inside(&k.replica("n1")));
        assert_eq!(parse_number("k", b"17").unwrap(), 17);
        assert!(parse_number("k", b"x").unwrap_err().to_string().contains("decimal"));
    }

    #[test]
    fn progress_of_standbys_and_readers() {
        let standby = ReplicaProgress {
            persisted: 17,
            role: ReplicaRole::Standby,
        };
        let reader = ReplicaProgress {
            persisted: 9,
            role: ReplicaRole::Reader,
        };
        assert_eq!(standby.encode(), "17");
        assert_eq!(reader.encode(), "9 reader");
        for progress in [standby, reader] {
            assert_eq!(
                ReplicaProgress::parse("p", progress.encode().as_bytes()).unwrap(),
                progress
            );
        }
        for bad in [&b"x"[..], b"9 standby", b"reader", b" reader", b"9  reader"] {
            let err = ReplicaProgress::parse("p", bad).unwrap_err().to_string();
            assert!(err.contains("reader"), "{err}");
        }
    }

    #[test]
    fn heads_with_and_without_a_checksum() {
        let old = Head::parse("h", b"17").unwrap();
        assert_eq!(
            old,
            Head {
                offset: 17,
                checksum: None
            }
        );
        assert_eq!(old.encode(), "17");
        let new = Head {
            offset: 42,
            checksum: Some(0xabc),
        };
        assert_eq!(new.encode(), "42 00000000000000000000000000000abc");
        assert_eq!(Head::parse("h", new.encode().as_bytes()).unwrap(), new);
        for bad in [
            &b"42 abc"[..],
            b"42 ",
            b"x 00000000000000000000000000000abc",
            b"42 0000000000000000000000000000ABCD",
        ] {
            let err = Head::parse("h", bad).unwrap_err().to_string();
            assert!(err.contains("32 lowercase hex"), "{err}");
        }
    }
}
