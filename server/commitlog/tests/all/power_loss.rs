//! The fsync ledger (`Commitlog::record_fsyncs`, `SPACETIME_TEST_FSYNC_LEDGER=1` in a
//! server) and `lose_unsynced`, which turns a SIGKILL into a power cut: every segment
//! is truncated to what its last fsync covered, across rotations, and recovery then
//! holds exactly the synced commits.

use crate::support::*;
use spacetime_commitlog::{lose_unsynced, FSYNC_LEDGER_FILE};

#[test]
fn lose_unsynced_keeps_exactly_what_was_fsynced() {
    let dir = tempdir();
    let (mut log, _) = open(dir.path());
    log.record_fsyncs().expect("start the ledger");
    append_range(&mut log, 0..10);
    for o in 10..15 {
        log.append(&payload(o)).expect("append");
    }
    // Written to the file (a SIGKILL keeps it), never fsynced (a power cut does not).
    log.flush().expect("flush");
    let before = file_len(&segment_files(dir.path())[0]);
    drop(log);

    // A log opened without the ledger removes the stale one (it would misstate what
    // this process fsyncs).
    drop(open(dir.path()));
    let err = lose_unsynced(dir.path()).expect_err("no ledger");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");

    // Reopened, the log fsynced what it found, and a new ledger starts from that:
    // nothing to lose.
    let (mut log, report) = open(dir.path());
    assert!(
        report.ignored_files.is_empty(),
        "the ledger is not reported: {report:?}"
    );
    log.record_fsyncs().expect("start the ledger");
    drop(log);
    assert_eq!(lose_unsynced(dir.path()).expect("no cut"), vec![]);
    assert_holds(&open(dir.path()).0, 0..15);

    let (mut log, _) = open(dir.path());
    log.record_fsyncs().expect("start the ledger");
    for o in 15..20 {
        log.append(&payload(o)).expect("append");
    }
    log.flush().expect("flush");
    drop(log);
    let cuts = lose_unsynced(dir.path()).expect("cut");
    assert_eq!(cuts.len(), 1, "{cuts:?}");
    assert_eq!(cuts[0].synced, before, "{cuts:?}");
    let (log, report) = open(dir.path());
    assert!(report.is_clean(), "{report:?}");
    assert_holds(&log, 0..15);
}

#[test]
fn rotation_records_the_closed_segment_and_the_new_one() {
    let dir = tempdir();
    let (mut log, _) = open_with(dir.path(), 400);
    log.record_fsyncs().expect("start the ledger");
    append_range(&mut log, 0..40);
    let synced_segments = segment_files(dir.path()).len();
    assert!(synced_segments > 2, "small segments rotate: {synced_segments}");
    // Unsynced appends that rotate: the segment they closed was fsynced on rotation,
    // so a power cut keeps it; the newest is cut back to its header.
    for o in 40..60 {
        log.append(&payload(o)).expect("append");
    }
    log.flush().expect("flush");
    let kept = log.segments().len() - 1;
    let closed_up_to = log.segments()[kept].0;
    drop(log);
    let ledger = std::fs::read_to_string(dir.path().join(FSYNC_LEDGER_FILE)).expect("the ledger");
    assert_eq!(ledger.lines().count(), kept + 1, "{ledger}");
    let cuts = lose_unsynced(dir.path()).expect("cut");
    assert_eq!(cuts.len(), 1, "only the active segment held unsynced bytes: {cuts:?}");
    assert_eq!(cuts[0].synced, SEGMENT_HEADER);
    let (log, _) = open_with(dir.path(), 400);
    assert_holds(&log, 0..closed_up_to);
}
