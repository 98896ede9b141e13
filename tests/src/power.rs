//! Power kills (design-replication §11): a SIGKILL keeps the page cache, so whatever a
//! server wrote survives it, fsynced or not, and a missing fsync never shows. A server
//! started with [`FSYNC_LEDGER`] keeps, per commit-log segment, the length its last
//! completed fsync covered (`spacetime_commitlog::lose_unsynced`); a power kill is a
//! SIGKILL followed by truncating every segment to that length, which is what an OS
//! crash or a power cut leaves. Other files (snapshots, the registry) are written
//! atomically with their own fsyncs and are left as they are.

use crate::server::TestServer;
use spacetime_commitlog::{lose_unsynced, unsynced, FSYNC_LEDGER_ENV, FSYNC_LEDGER_FILE};
use std::path::{Path, PathBuf};

/// The environment a server needs for [`TestServer::power_kill`]: pass it to
/// [`TestServer::start_with_env`].
pub const FSYNC_LEDGER: (&str, &str) = (FSYNC_LEDGER_ENV, "1");

/// What a power kill took away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PowerCut {
    /// Commit logs found (each with its ledger).
    pub logs: usize,
    /// Segments that lost bytes.
    pub segments: usize,
    /// Bytes lost in all: written but never fsynced.
    pub bytes: u64,
}

impl TestServer {
    /// A power cut: SIGKILLs the server, then truncates every commit-log segment
    /// under its data directory to what its last fsync covered. Start it again with
    /// [`TestServer::restart`].
    ///
    /// # Panics
    /// As [`lose_unsynced_under`].
    pub fn power_kill(&mut self) -> PowerCut {
        self.sigkill();
        lose_unsynced_under(&self.data_dir())
    }
}

/// Truncates every commit log under `data_dir` to its fsync ledger (see the module
/// docs); call it only while no server runs on `data_dir`.
///
/// # Panics
/// If no log under `data_dir` has a ledger (the server did not run with
/// [`FSYNC_LEDGER`], so nothing can be imitated), or one cannot be read or cut.
pub fn lose_unsynced_under(data_dir: &Path) -> PowerCut {
    let logs = ledgers_under(data_dir);
    assert!(
        !logs.is_empty(),
        "no commit log under {} has an fsync ledger: start the server with \
         TestServer::start_with_env(.., &[power::FSYNC_LEDGER])",
        data_dir.display()
    );
    let mut cut = PowerCut {
        logs: logs.len(),
        ..PowerCut::default()
    };
    for log in logs {
        let cuts = lose_unsynced(&log).unwrap_or_else(|e| panic!("power kill of {}: {e}", log.display()));
        cut.segments += cuts.len();
        cut.bytes += cuts.iter().map(|c| c.len - c.synced).sum::<u64>();
    }
    cut
}

/// Bytes written to the commit logs under `data_dir` since their last fsync (what a
/// power kill now would cut); 0 where no log keeps a ledger.
///
/// # Panics
/// If a ledger cannot be read.
pub fn unsynced_bytes(data_dir: &Path) -> u64 {
    ledgers_under(data_dir)
        .iter()
        .flat_map(|log| unsynced(log).unwrap_or_else(|e| panic!("{}: {e}", log.display())))
        .map(|c| c.len - c.synced)
        .sum()
}

/// The database directories (each holding a `clog/` with an fsync ledger) under
/// `data_dir`: where a test puts a database's `hold-fsync` file.
pub fn replica_dirs(data_dir: &Path) -> Vec<PathBuf> {
    ledgers_under(data_dir)
        .iter()
        .filter_map(|log| log.parent().map(Path::to_owned))
        .collect()
}

/// The directories under `dir` holding an fsync ledger.
fn ledgers_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(ledgers_under(&path));
        } else if path.file_name().is_some_and(|n| n == FSYNC_LEDGER_FILE) {
            found.push(dir.to_owned());
        }
    }
    found
}
