//! The fsync ledger, for power-loss tests (design-replication §11): a test kills a
//! server with SIGKILL, which leaves the page cache intact, so everything the server
//! wrote survives whether it was fsynced or not and a missing fsync never shows. With
//! the ledger on, each log records, per segment, how many bytes its last completed
//! fsync covered; [`lose_unsynced`] then truncates every segment to that length,
//! which is what an OS crash or a power cut leaves behind.
//!
//! Off unless the server runs with [`FSYNC_LEDGER_ENV`]` = 1` (read once per log, at
//! open): a normal run writes no ledger and pays one branch per fsync.
//!
//! The ledger is the text file [`FSYNC_LEDGER_FILE`] in the log directory, one line
//! per segment, `<segment file name> <bytes>`, replaced (write, then rename) after
//! every fsync and before the writer reports anything durable, so whatever was
//! confirmed is within the lengths it names. It is not fsynced itself: a SIGKILL
//! keeps it, and only a SIGKILL is being turned into a power cut.

use crate::fsutil::TMP_SUFFIX;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The environment variable that turns the ledger on (`1`) for every log a process
/// opens.
pub const FSYNC_LEDGER_ENV: &str = "SPACETIME_TEST_FSYNC_LEDGER";

/// The ledger's file name in a log directory.
pub const FSYNC_LEDGER_FILE: &str = "fsync-ledger";

/// Whether this process keeps a ledger ([`FSYNC_LEDGER_ENV`] is `1`).
pub(crate) fn enabled_by_env() -> bool {
    std::env::var_os(FSYNC_LEDGER_ENV).is_some_and(|v| v == "1")
}

/// Removes a ledger an earlier process left in the log directory `dir`, which this
/// process, keeping none, would leave stating lengths it never fsynced.
pub(crate) fn remove_stale(dir: &Path) {
    match fs::remove_file(dir.join(FSYNC_LEDGER_FILE)) {
        Ok(()) => log::info!("commit log {}: removed a stale fsync ledger", dir.display()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => log::warn!("commit log {}: cannot remove a stale fsync ledger: {e}", dir.display()),
    }
}

/// One log's ledger: the fsynced length of each segment, by file name.
#[derive(Debug, Default)]
pub(crate) struct FsyncLedger {
    synced: BTreeMap<String, u64>,
}

impl FsyncLedger {
    /// Records that segment `path` is fsynced up to `len` bytes, forgets segments no
    /// longer in `segments` (pruned, or cut as `.dropped`), and rewrites the file in
    /// `dir`. A failure is logged, not returned: the ledger only serves tests, and a
    /// test that power-kills this log then sees the stale ledger as lost commits.
    pub(crate) fn record<'a>(&mut self, dir: &Path, segments: impl Iterator<Item = &'a Path>, path: &Path, len: u64) {
        let live: Vec<String> = segments.filter_map(file_name).collect();
        self.synced.retain(|name, _| live.contains(name));
        if let Some(name) = file_name(path) {
            self.synced.insert(name, len);
        }
        if let Err(e) = self.write(dir) {
            log::error!(
                "commit log {}: cannot write the fsync ledger (power-loss tests will misread this log): {e}",
                dir.display()
            );
        }
    }

    fn write(&self, dir: &Path) -> io::Result<()> {
        let text: String = self
            .synced
            .iter()
            .map(|(name, len)| format!("{name} {len}\n"))
            .collect();
        let tmp = dir.join(format!("{FSYNC_LEDGER_FILE}{TMP_SUFFIX}"));
        fs::write(&tmp, text)?;
        fs::rename(&tmp, dir.join(FSYNC_LEDGER_FILE))
    }
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().and_then(|n| n.to_str()).map(str::to_owned)
}

/// A segment that [`lose_unsynced`] cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsyncedCut {
    /// The segment file.
    pub segment: PathBuf,
    /// Its length before the cut.
    pub len: u64,
    /// Its length after: what its last fsync covered.
    pub synced: u64,
}

/// The segments of the log in `dir` holding bytes past their last fsync, as
/// [`lose_unsynced`] would cut them, without changing anything.
///
/// # Errors
/// As [`lose_unsynced`].
pub fn unsynced(dir: &Path) -> io::Result<Vec<UnsyncedCut>> {
    let ledger = dir.join(FSYNC_LEDGER_FILE);
    let text = fs::read_to_string(&ledger).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot read the fsync ledger {} ({e}): run the server with {FSYNC_LEDGER_ENV}=1",
                ledger.display()
            ),
        )
    })?;
    let mut found = Vec::new();
    for line in text.lines() {
        let parsed = line
            .rsplit_once(' ')
            .and_then(|(name, len)| Some((name, len.parse::<u64>().ok()?)));
        let Some((name, synced)) = parsed else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: malformed line {line:?}", ledger.display()),
            ));
        };
        let segment = dir.join(name);
        let len = match fs::metadata(&segment) {
            Ok(meta) => meta.len(),
            // Removed after the ledger was written (pruned, or renamed `.dropped`).
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if len > synced {
            found.push(UnsyncedCut { segment, len, synced });
        }
    }
    Ok(found)
}

/// What an OS crash does to the log in `dir` whose writer is dead: truncates every
/// segment the ledger names to the length its last fsync covered, and returns the
/// segments that lost bytes. Segments the ledger does not name are left as they are
/// (the ledger names every segment from the log's open on). Call it only once the
/// process writing the log has exited.
///
/// # Errors
/// [`io::ErrorKind::NotFound`] if `dir` holds no ledger (the writer ran without
/// [`FSYNC_LEDGER_ENV`]` = 1`, so no power loss can be imitated); a malformed line
/// ([`io::ErrorKind::InvalidData`]); I/O errors while truncating.
pub fn lose_unsynced(dir: &Path) -> io::Result<Vec<UnsyncedCut>> {
    let cuts = unsynced(dir)?;
    for cut in &cuts {
        fs::OpenOptions::new()
            .write(true)
            .open(&cut.segment)?
            .set_len(cut.synced)?;
    }
    Ok(cuts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_names_live_segments_and_lose_unsynced_cuts_to_it() {
        let dir = tempfile::tempdir().expect("a directory");
        let (a, b) = (dir.path().join("a.stdb.log"), dir.path().join("b.stdb.log"));
        fs::write(&a, [1u8; 100]).expect("write a");
        fs::write(&b, [2u8; 50]).expect("write b");
        let mut ledger = FsyncLedger::default();
        ledger.record(dir.path(), [a.as_path()].into_iter(), &a, 80);
        ledger.record(dir.path(), [a.as_path(), b.as_path()].into_iter(), &b, 50);
        let text = fs::read_to_string(dir.path().join(FSYNC_LEDGER_FILE)).expect("the ledger");
        assert_eq!(text, "a.stdb.log 80\nb.stdb.log 50\n");

        let cuts = lose_unsynced(dir.path()).expect("cut");
        assert_eq!(
            cuts,
            vec![UnsyncedCut {
                segment: a.clone(),
                len: 100,
                synced: 80
            }]
        );
        assert_eq!(fs::metadata(&a).expect("a").len(), 80);
        assert_eq!(fs::metadata(&b).expect("b").len(), 50);

        // A segment gone from the log is forgotten.
        ledger.record(dir.path(), [b.as_path()].into_iter(), &b, 50);
        let text = fs::read_to_string(dir.path().join(FSYNC_LEDGER_FILE)).expect("the ledger");
        assert_eq!(text, "b.stdb.log 50\n");
    }

    #[test]
    fn lose_unsynced_without_a_ledger_says_how_to_get_one() {
        let dir = tempfile::tempdir().expect("a directory");
        let err = lose_unsynced(dir.path()).expect_err("no ledger");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains(FSYNC_LEDGER_ENV), "{err}");
    }
}
