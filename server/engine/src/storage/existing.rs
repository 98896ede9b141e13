//! What a database that already exists must find on disk. The registry lists a
//! database only once its log holds it (see [`super::StorageConfig::expecting_data`]),
//! so at a restart an absent or empty log means its data was lost or moved, not that
//! the database is new: starting it would run `init` again and serve an empty database
//! as if nothing had happened. These checks turn that into a refusal naming the files.

use super::RestoreError;
use spacetime_commitlog::{segment_file_name, Recovered, LOG_DIR, SEGMENT_SUFFIX, SNAPSHOT_DIR, SNAPSHOT_SUFFIX};
use std::path::Path;

/// Checks, before anything is opened (opening a missing log would create an empty
/// one), that the replica directory `dir` holds a log segment or a snapshot.
///
/// # Errors
/// [`RestoreError::Missing`] naming what is absent or cannot be listed.
pub(super) fn check_present(dir: &Path) -> Result<(), RestoreError> {
    let log_dir = dir.join(LOG_DIR);
    let snapshot_dir = dir.join(SNAPSHOT_DIR);
    let found = has_file_ending(&log_dir, SEGMENT_SUFFIX)
        .and_then(|log| Ok(log || has_file_ending(&snapshot_dir, SNAPSHOT_SUFFIX)?));
    match found {
        Ok(true) => Ok(()),
        Ok(false) => Err(missing(
            dir,
            format!(
                "its commit log is missing: there is no segment (*{SEGMENT_SUFFIX}, the first one named {}) \
                 in {} and no snapshot (*{SNAPSHOT_SUFFIX}) in {}",
                segment_file_name(0),
                log_dir.display(),
                snapshot_dir.display()
            ),
        )),
        Err(unreadable) => Err(missing(dir, format!("its commit log is unreadable: {unreadable}"))),
    }
}

/// Checks that what recovery found holds at least one transaction or a snapshot (a
/// segment emptied by damage, say, leaves nothing to restore).
///
/// # Errors
/// [`RestoreError::Missing`] saying the log is empty.
pub(super) fn check_not_empty(dir: &Path, recovered: &Recovered) -> Result<(), RestoreError> {
    if recovered.snapshot.is_some() || recovered.commitlog.next_tx_offset() > 0 {
        return Ok(());
    }
    Err(missing(
        dir,
        format!(
            "its commit log in {} holds no transaction and there is no snapshot",
            dir.join(LOG_DIR).display()
        ),
    ))
}

fn missing(dir: &Path, what: String) -> RestoreError {
    RestoreError::Missing {
        dir: dir.to_owned(),
        what,
    }
}

/// Whether `dir` holds a file whose name ends with `suffix`; a missing `dir` holds
/// none. The error names a directory that exists but cannot be listed.
fn has_file_ending(dir: &Path, suffix: &str) -> Result<bool, String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries
            .flatten()
            .any(|e| e.file_name().to_str().is_some_and(|n| n.ends_with(suffix)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("cannot list {}: {e}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{logged_program, record, RestoreError, StorageConfig};
    use crate::module_logs::ModuleLogs;
    use spacetime_commitlog::{Commitlog, CommitlogOptions, LOG_DIR};
    use std::path::Path;
    use std::sync::Arc;

    fn restore(dir: &Path, existing: bool) -> Result<Option<String>, RestoreError> {
        let storage = StorageConfig::new(dir.to_owned(), 0);
        let storage = if existing { storage.expecting_data() } else { storage };
        logged_program(&storage, &Arc::new(ModuleLogs::in_memory()))
    }

    /// A log in `dir` holding the records a new database writes first.
    fn write_created(dir: &Path) {
        let (mut log, _) = Commitlog::open(dir.join(LOG_DIR), CommitlogOptions::default()).expect("open");
        log.append(&record::encode_created()).expect("append");
        log.append(&record::encode_module("abc")).expect("append");
        log.sync().expect("sync");
    }

    #[track_caller]
    fn assert_missing(result: Result<Option<String>, RestoreError>, needles: &[&str]) {
        match result {
            Err(e @ RestoreError::Missing { .. }) => {
                let text = e.to_string();
                for needle in needles {
                    assert!(text.contains(needle), "{needle:?} not in {text}");
                }
            }
            other => panic!("expected RestoreError::Missing, got {other:?}"),
        }
    }

    #[test]
    fn a_new_database_starts_on_an_empty_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert_eq!(restore(tmp.path(), false).expect("restore"), None);
        assert!(tmp.path().join(LOG_DIR).is_dir(), "the log is created");
    }

    #[test]
    fn an_existing_database_without_a_log_is_refused_and_nothing_is_created() {
        // Regression test for issue 12 (D7): a deleted log became an empty database.
        let tmp = tempfile::tempdir().expect("tempdir");
        let clog = tmp.path().join(LOG_DIR);
        assert_missing(
            restore(tmp.path(), true),
            &[
                "its commit log is missing",
                "00000000000000000000.stdb.log",
                clog.to_str().expect("utf-8 path"),
                "not started as a new, empty database",
            ],
        );
        assert!(!clog.exists(), "refusing creates no empty log");
        let gone = tmp.path().join("gone");
        assert_missing(restore(&gone, true), &[gone.to_str().expect("utf-8 path")]);
        assert!(!gone.exists());
    }

    #[test]
    fn an_existing_database_whose_log_is_empty_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        drop(Commitlog::open(tmp.path().join(LOG_DIR), CommitlogOptions::default()).expect("open"));
        assert_missing(restore(tmp.path(), true), &["holds no transaction"]);
    }

    #[test]
    fn an_existing_database_with_its_log_is_restored() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write_created(tmp.path());
        assert_eq!(restore(tmp.path(), true).expect("restore"), Some("abc".to_owned()));
    }
}
