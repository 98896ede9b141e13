//! Snapshots and restore: atomic writes, falling back past damaged snapshots,
//! snapshots newer than the log, pruning, and `recover` putting a snapshot and the
//! log suffix together.

use crate::support::*;
use spacetime_commitlog::{
    recover, snapshot_file_name, CommitlogError, CommitlogOptions, Durability, DurabilityOptions, Snapshot,
    SnapshotError, SnapshotStore,
};
use std::fs;
use std::path::Path;

fn state(tx_offset: u64) -> Vec<u8> {
    format!("state after tx {tx_offset}").repeat(10).into_bytes()
}

#[test]
fn write_and_read_back() {
    let dir = tempdir();
    let store = SnapshotStore::open(dir.path()).unwrap();
    let path = store.write(41, &state(41)).unwrap();
    assert_eq!(path, dir.path().join(snapshot_file_name(41)));
    assert_eq!(
        store.read(41).unwrap(),
        Snapshot {
            tx_offset: 41,
            payload: state(41)
        }
    );
    assert!(matches!(store.read(40), Err(SnapshotError::NotFound(40))));
    let latest = store.latest_valid(Some(100)).unwrap();
    assert_eq!(latest.snapshot.unwrap().tx_offset, 41);
    assert!(latest.skipped.is_empty());
    assert!(names_ending(dir.path(), ".tmp").is_empty());
}

#[test]
fn only_the_newest_are_kept() {
    let dir = tempdir();
    let store = SnapshotStore::open(dir.path()).unwrap().keep(3);
    for o in [10, 20, 30, 40, 50] {
        store.write(o, &state(o)).unwrap();
    }
    assert_eq!(store.offsets().unwrap(), vec![30, 40, 50]);
    assert_eq!(store.oldest().unwrap(), Some(30));
}

/// Damages the snapshot at `tx_offset` in `dir` in one of several ways.
fn damage(dir: &Path, tx_offset: u64, how: &str) {
    let path = dir.join(snapshot_file_name(tx_offset));
    match how {
        "flip payload" => flip_byte(&path, file_len(&path) - 3),
        "flip header" => flip_byte(&path, 9),
        "truncate" => truncate(&path, file_len(&path) - 1),
        "truncate header" => truncate(&path, 20),
        "empty" => truncate(&path, 0),
        other => panic!("unknown damage {other}"),
    }
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_an_older_one() {
    for how in ["flip payload", "flip header", "truncate", "truncate header", "empty"] {
        let dir = tempdir();
        let store = SnapshotStore::open(dir.path()).unwrap().keep(3);
        for o in [10, 20, 30] {
            store.write(o, &state(o)).unwrap();
        }
        damage(dir.path(), 30, how);
        let latest = store.latest_valid(Some(100)).unwrap();
        assert_eq!(
            latest.snapshot,
            Some(Snapshot {
                tx_offset: 20,
                payload: state(20)
            }),
            "{how}"
        );
        assert_eq!(latest.skipped.len(), 1, "{how}");
        let skipped = &latest.skipped[0];
        assert_eq!(skipped.tx_offset, 30);
        assert_eq!(
            skipped.moved_to,
            dir.path().join(format!("{}.invalid", snapshot_file_name(30)))
        );
        assert!(skipped.moved_to.exists() && !skipped.path.exists());
        assert!(
            skipped.to_string().contains("skipped snapshot at tx offset 30"),
            "{skipped}"
        );
        // The set-aside file is not considered again.
        assert_eq!(store.offsets().unwrap(), vec![10, 20]);
    }
}

#[test]
fn every_damaged_snapshot_is_skipped_down_to_none() {
    let dir = tempdir();
    let store = SnapshotStore::open(dir.path()).unwrap();
    for o in [10, 20] {
        store.write(o, &state(o)).unwrap();
        damage(dir.path(), o, "flip payload");
    }
    let latest = store.latest_valid(Some(100)).unwrap();
    assert_eq!(latest.snapshot, None);
    assert_eq!(
        latest.skipped.iter().map(|s| s.tx_offset).collect::<Vec<_>>(),
        vec![20, 10]
    );
    assert!(
        latest.skipped[0].reason.contains("BLAKE3"),
        "{}",
        latest.skipped[0].reason
    );
}

#[test]
fn snapshots_newer_than_the_log_are_set_aside() {
    let dir = tempdir();
    let store = SnapshotStore::open(dir.path()).unwrap().keep(3);
    for o in [10, 20, 30] {
        store.write(o, &state(o)).unwrap();
    }
    let latest = store.latest_valid(Some(25)).unwrap();
    assert_eq!(latest.snapshot.unwrap().tx_offset, 20);
    assert!(
        latest.skipped[0].reason.contains("newer than the log"),
        "{}",
        latest.skipped[0].reason
    );
    let latest = store.latest_valid(None).unwrap();
    assert_eq!(latest.snapshot, None);
    assert_eq!(latest.skipped.len(), 2);
}

#[test]
fn leftovers_of_interrupted_writes_are_removed() {
    let dir = tempdir();
    fs::write(
        dir.path().join(format!("{}.tmp", snapshot_file_name(7))),
        b"half a snapshot",
    )
    .unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    assert!(store.offsets().unwrap().is_empty());
    assert!(names_ending(dir.path(), ".tmp").is_empty());
}

/// Runs a "database" whose state is the list of records: appends 0..n through the
/// writer, snapshotting the state at each offset in `snapshot_at`.
fn run_database(dir: &Path, range: std::ops::Range<u64>, snapshot_at: &[u64]) {
    let recovered = recover(dir, CommitlogOptions::default().max_segment_size(512)).unwrap();
    let durability = Durability::start(recovered.commitlog, DurabilityOptions::default()).unwrap();
    for o in range {
        assert_eq!(durability.append_tx(payload(o)).unwrap(), o);
        if snapshot_at.contains(&o) {
            durability.wait_durable(o, None).unwrap();
            recovered.snapshots.write(o, &encode_state(0..o + 1)).unwrap();
            if let Some(oldest) = recovered.snapshots.oldest().unwrap() {
                durability.request_prune(oldest + 1);
            }
        }
    }
    durability.close().unwrap();
}

fn encode_state(range: std::ops::Range<u64>) -> Vec<u8> {
    range.flat_map(payload).collect()
}

/// Restores the state as the server would: snapshot, then the log suffix.
fn restore(dir: &Path) -> (Vec<u8>, spacetime_commitlog::RecoveryReport) {
    let recovered = recover(dir, CommitlogOptions::default().max_segment_size(512)).unwrap();
    let mut state = recovered
        .snapshot
        .as_ref()
        .map(|s| s.payload.clone())
        .unwrap_or_default();
    for (expected, item) in (recovered.replay_start()..).zip(recovered.replay()) {
        let (o, record) = item.unwrap();
        assert_eq!(o, expected);
        state.extend_from_slice(&record);
    }
    (state, recovered.report)
}

#[test]
fn recover_restores_the_snapshot_plus_the_log_suffix() {
    let dir = tempdir();
    run_database(dir.path(), 0..300, &[100, 200, 250]);
    let (state, report) = restore(dir.path());
    assert!(report.is_clean(), "{report}");
    assert_eq!(state, encode_state(0..300));
    // The log no longer holds what the oldest kept snapshot (200) covers.
    let recovered = recover(dir.path(), CommitlogOptions::default()).unwrap();
    assert!(recovered.commitlog.first_tx_offset() > 0);
    assert!(recovered.commitlog.first_tx_offset() <= 201);
    assert_eq!(recovered.snapshot.as_ref().unwrap().tx_offset, 250);
    assert_eq!(recovered.replay_start(), 251);
}

#[test]
fn recover_falls_back_past_a_corrupt_snapshot() {
    let dir = tempdir();
    run_database(dir.path(), 0..300, &[100, 200, 250]);
    damage(&dir.path().join("snapshots"), 250, "flip payload");
    let (state, report) = restore(dir.path());
    assert_eq!(report.skipped_snapshots.len(), 1);
    assert_eq!(report.skipped_snapshots[0].tx_offset, 250);
    assert_eq!(state, encode_state(0..300));
}

#[test]
fn a_log_tail_cut_below_a_snapshot_invalidates_it() {
    let dir = tempdir();
    run_database(dir.path(), 0..300, &[150, 290]);
    // Damage the commit of tx 280: the log now ends at 279, below the snapshot at 290.
    let clog = dir.path().join("clog");
    let (log, _) = open(&clog);
    let (start, seg) = log.segments().into_iter().rfind(|(s, _)| *s <= 280).unwrap();
    drop(log);
    flip_byte(&seg, commit_position(start, 280) + 26);
    let (state, report) = restore(dir.path());
    assert_eq!(report.cut.as_ref().unwrap().first_lost_tx_offset, 280);
    assert_eq!(report.skipped_snapshots.len(), 1);
    assert!(report.skipped_snapshots[0].reason.contains("newer than the log"));
    assert_eq!(state, encode_state(0..280));
    let text = report.to_string();
    assert!(
        text.contains("damaged tail cut") && text.contains("skipped snapshot at tx offset 290"),
        "{text}"
    );
}

#[test]
fn missing_history_is_an_error_not_an_empty_database() {
    let dir = tempdir();
    run_database(dir.path(), 0..300, &[100, 200]);
    // Without the snapshots, the pruned log cannot rebuild the state.
    fs::remove_dir_all(dir.path().join("snapshots")).unwrap();
    let err = recover(dir.path(), CommitlogOptions::default()).unwrap_err();
    assert!(
        matches!(err, CommitlogError::MissingHistory { first } if first > 0),
        "{err}"
    );
    assert!(err.to_string().contains("no usable snapshot"), "{err}");
}
