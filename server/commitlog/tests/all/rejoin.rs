//! Epochs across reopen and a node rejoining after a failover: the local tail the
//! cluster never committed is cut into `.dropped` files; a committed prefix is kept.

use crate::support::{append_bytes, names_ending, payload, segment_files, tempdir};
use spacetime_commitlog::{
    commit_ids, encode_commit, CommitId, Commitlog, CommitlogError, CommitlogOptions, Damage, Durability,
    DurabilityOptions,
};
use std::path::Path;

fn open(dir: &Path) -> Commitlog {
    Commitlog::open(dir, CommitlogOptions::default()).expect("open").0
}

/// Appends `payload(o)` for `o` in `range` at `epoch` (one commit each) and syncs.
fn append_at(log: &mut Commitlog, epoch: u64, range: std::ops::Range<u64>) {
    for o in range {
        let mut frame = Vec::new();
        encode_commit(&mut frame, epoch, o, &payload(o));
        log.append_encoded(&frame, o, 1).expect("append");
    }
    log.sync().expect("sync");
}

/// The cluster's log as a rejoining node reads it: commits `from..to`, built from
/// frames written by a leader of `epochs(o)`.
fn cluster(from: u64, to: u64, epoch_of: impl Fn(u64) -> u64) -> Vec<CommitId> {
    let mut frames = Vec::new();
    for o in from..to {
        encode_commit(&mut frames, epoch_of(o), o, &payload(o));
    }
    commit_ids(&frames).expect("frames verify")
}

#[test]
fn a_deposed_leaders_tail_is_cut_into_dropped_files() {
    let tmp = tempdir();
    let mut log = open(tmp.path());
    // 0..10 committed under epoch 1; 10..13 fsynced here as leader but never committed:
    // the cluster's new leader (epoch 2) wrote other transactions at 10..15.
    append_at(&mut log, 1, 0..13);
    let theirs = cluster(4, 15, |o| if o < 10 { 1 } else { 2 });
    let cut = log
        .cut_uncommitted(&theirs, 15)
        .expect("rejoin")
        .expect("something is cut");
    assert_eq!(cut.first_lost_tx_offset, 10);
    assert_eq!(cut.commits_dropped, 3);
    assert!(matches!(cut.damage, Damage::NotCommittedByCluster { cluster_next: 15 }));
    assert!(
        cut.to_string().contains("never committed by the replicated log"),
        "{cut}"
    );
    assert_eq!(log.next_tx_offset(), 10);
    assert_eq!(log.epoch(), 1);
    assert_eq!(names_ending(tmp.path(), ".dropped").len(), 1);
    // The node continues as the cluster's log does, at the new epoch.
    append_at(&mut log, 2, 10..15);
    drop(log);
    let (log, report) = Commitlog::open(tmp.path(), CommitlogOptions::default()).expect("reopen");
    assert!(report.is_clean(), "{report}");
    let ids = {
        let mut log = log;
        log.commit_ids_from(0).expect("ids")
    };
    assert_eq!(ids[4..], theirs[..]);
}

#[test]
fn a_tail_past_the_clusters_head_is_cut_and_a_matching_log_is_kept() {
    let tmp = tempdir();
    let mut log = open(tmp.path());
    append_at(&mut log, 1, 0..8);
    // The cluster holds the same 0..6 (committed); 6..8 never made it.
    let theirs = cluster(2, 6, |_| 1);
    let cut = log.cut_uncommitted(&theirs, 6).expect("rejoin").expect("cut");
    assert_eq!((cut.first_lost_tx_offset, cut.commits_dropped), (6, 2));
    // Asked again, nothing more goes; a log behind the cluster is left to catch up.
    assert!(log.cut_uncommitted(&theirs, 6).expect("rejoin").is_none());
    assert!(log.cut_uncommitted(&cluster(2, 9, |_| 1), 9).expect("rejoin").is_none());
    assert_eq!(log.next_tx_offset(), 6);
}

#[test]
fn a_cut_spanning_segments_sets_later_segments_aside() {
    let tmp = tempdir();
    let options = CommitlogOptions::default().max_segment_size(200);
    let mut log = Commitlog::open(tmp.path(), options.clone()).expect("open").0;
    append_at(&mut log, 1, 0..20);
    let before = segment_files(tmp.path()).len();
    assert!(before > 3, "{before} segments");
    let theirs = cluster(0, 5, |_| 1);
    let cut = log.cut_uncommitted(&theirs, 5).expect("rejoin").expect("cut");
    assert_eq!((cut.first_lost_tx_offset, cut.commits_dropped), (5, 15));
    assert!(!cut.dropped_segments.is_empty());
    append_at(&mut log, 2, 5..7);
    drop(log);
    let (mut log, report) = Commitlog::open(tmp.path(), options).expect("reopen");
    assert!(report.is_clean(), "{report}");
    assert_eq!(log.next_tx_offset(), 7);
    let epochs: Vec<_> = log.commit_ids_from(0).expect("ids").iter().map(|c| c.epoch).collect();
    assert_eq!(epochs, [1, 1, 1, 1, 1, 2, 2]);
}

#[test]
fn nothing_committed_by_the_cluster_cuts_everything() {
    let tmp = tempdir();
    let mut log = open(tmp.path());
    append_at(&mut log, 1, 0..3);
    let cut = log.cut_uncommitted(&[], 0).expect("rejoin").expect("cut");
    assert_eq!((cut.first_lost_tx_offset, cut.commits_dropped), (0, 3));
    assert_eq!(log.next_tx_offset(), 0);
}

#[test]
fn a_log_the_cluster_trimmed_past_cannot_be_checked() {
    let tmp = tempdir();
    let mut log = open(tmp.path());
    append_at(&mut log, 1, 0..3);
    // The cluster trimmed everything below 10: nothing left to compare with.
    let err = log.cut_uncommitted(&cluster(10, 12, |_| 2), 12).unwrap_err();
    assert!(
        matches!(
            err,
            CommitlogError::Unverifiable {
                local_next: 3,
                cluster_first: 10,
                cluster_next: 12
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("bootstrap"), "{err}");
    assert_eq!(log.next_tx_offset(), 3, "nothing was cut");
}

#[test]
fn a_lower_epoch_after_a_higher_one_is_damage_on_open() {
    let tmp = tempdir();
    let mut log = open(tmp.path());
    append_at(&mut log, 2, 0..3);
    drop(log);
    // Bytes a deposed leader could only have written through a bug.
    let mut frame = Vec::new();
    encode_commit(&mut frame, 1, 3, &payload(3));
    append_bytes(&segment_files(tmp.path())[0], &frame);
    let (log, report) = Commitlog::open(tmp.path(), CommitlogOptions::default()).expect("open");
    let cut = report.cut.expect("cut");
    assert!(
        matches!(cut.damage, Damage::EpochRegression { previous: 2, found: 1 }),
        "{cut}"
    );
    assert_eq!(log.next_tx_offset(), 3);
    assert_eq!(log.epoch(), 2);
}

#[test]
fn old_logs_of_epoch_zero_open_under_a_replicated_writer() {
    let tmp = tempdir();
    let mut log = open(tmp.path());
    for o in 0..3 {
        log.append(&payload(o)).expect("append");
    }
    log.sync().expect("sync");
    assert_eq!(log.epoch(), 0);
    let durability = Durability::start(log, DurabilityOptions::default().epoch(4)).expect("start");
    let o = durability.append_tx(payload(3)).expect("append");
    durability.wait_durable(o, None).expect("durable");
    let mut log = durability.close().expect("close");
    let epochs: Vec<_> = log.commit_ids_from(0).expect("ids").iter().map(|c| c.epoch).collect();
    assert_eq!(epochs, [0, 0, 0, 4]);
}
