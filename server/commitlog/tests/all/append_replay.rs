//! Appending and reading back: round trips, restart in the middle of a segment,
//! rotation, replay from any offset, pruning, and commits of several records.

use crate::support::*;
use spacetime_commitlog::{segment_file_name, CommitlogError};
use std::fs;

#[test]
fn round_trip_and_replay_from_any_offset() {
    let dir = tempdir();
    let (mut log, report) = open(dir.path());
    assert!(report.is_clean());
    assert_eq!((report.segments, report.commits, report.next_tx_offset), (1, 0, 0));
    assert_eq!(log.durable_offset(), None);
    append_range(&mut log, 0..100);
    assert_eq!(log.durable_offset(), Some(99));
    assert_holds(&log, 0..100);
    for from in [0, 1, 50, 99] {
        assert_holds(&log, from..100);
    }
    assert!(read_from(&log, 100).is_empty());
    assert!(read_from(&log, 1000).is_empty());
}

#[test]
fn empty_payloads_round_trip() {
    let dir = tempdir();
    let (mut log, _) = open(dir.path());
    for _ in 0..3 {
        log.append(b"").unwrap();
    }
    log.sync().unwrap();
    drop(log);
    let (log, report) = open(dir.path());
    assert!(report.is_clean());
    assert_eq!(read_from(&log, 0), vec![(0, vec![]), (1, vec![]), (2, vec![])]);
}

#[test]
fn restart_mid_segment_continues_the_same_segment() {
    let dir = tempdir();
    let (mut log, _) = open(dir.path());
    append_range(&mut log, 0..10);
    drop(log);
    let (mut log, report) = open(dir.path());
    assert!(report.is_clean(), "{report}");
    assert_eq!((report.commits, report.next_tx_offset), (10, 10));
    assert_eq!(log.durable_offset(), Some(9));
    append_range(&mut log, 10..20);
    drop(log);
    let (log, report) = open(dir.path());
    assert_eq!((report.segments, report.commits), (1, 20));
    assert_eq!(segment_files(dir.path()).len(), 1);
    assert_holds(&log, 0..20);
}

#[test]
fn unsynced_appends_are_written_on_drop() {
    let dir = tempdir();
    let (mut log, _) = open(dir.path());
    append_range(&mut log, 0..5);
    log.append(&payload(5)).unwrap();
    drop(log);
    let (log, report) = open(dir.path());
    assert!(report.is_clean());
    assert_holds(&log, 0..6);
}

#[test]
fn segments_rotate_at_the_size_limit() {
    let dir = tempdir();
    let (mut log, _) = open_with(dir.path(), 512);
    append_range(&mut log, 0..200);
    let segments = log.segments();
    assert!(segments.len() > 5, "{} segments", segments.len());
    for (start, path) in &segments {
        assert_eq!(path.file_name().unwrap().to_str().unwrap(), segment_file_name(*start));
        assert!(file_len(path) <= 512, "{} is {} bytes", path.display(), file_len(path));
    }
    // Each segment starts where the previous one ended.
    for pair in segments.windows(2) {
        let (start, path) = &pair[0];
        assert_eq!(commit_position(*start, pair[1].0), file_len(path));
    }
    assert_holds(&log, 0..200);
    drop(log);
    let (log, report) = open_with(dir.path(), 512);
    assert!(report.is_clean());
    assert_eq!(report.segments, segments.len());
    for from in [0, 37, 150, 199] {
        assert_holds(&log, from..200);
    }
}

#[test]
fn a_record_larger_than_a_segment_gets_its_own() {
    let dir = tempdir();
    let (mut log, _) = open_with(dir.path(), 100);
    log.append(&[1; 10]).unwrap();
    log.append(&[2; 500]).unwrap();
    log.append(&[3; 10]).unwrap();
    log.sync().unwrap();
    assert_eq!(log.segments().iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 1, 2]);
    let got: Vec<_> = read_from(&log, 0).into_iter().map(|(_, r)| r).collect();
    assert_eq!(got, vec![vec![1; 10], vec![2; 500], vec![3; 10]]);
}

#[test]
fn prune_removes_only_fully_covered_segments() {
    let dir = tempdir();
    let (mut log, _) = open_with(dir.path(), 512);
    append_range(&mut log, 0..100);
    let segments = log.segments();
    let third = segments[2].0;
    // Offsets below `third` live in the first two segments only.
    let removed = log.prune_before(third).unwrap();
    assert_eq!(removed, vec![segments[0].1.clone(), segments[1].1.clone()]);
    assert_eq!(log.first_tx_offset(), third);
    assert_holds(&log, third..100);
    assert!(matches!(
        log.replay_from(0).next(),
        Some(Err(CommitlogError::OffsetBeforeLog { requested: 0, first })) if first == third
    ));
    // One below a segment's start keeps the segment before it.
    let fourth = segments[3].0;
    assert!(log.prune_before(fourth - 1).unwrap().is_empty());
    // The active segment is never removed.
    log.prune_before(u64::MAX).unwrap();
    assert_eq!(log.segments().len(), 1);
    drop(log);
    let (log, report) = open_with(dir.path(), 512);
    assert!(report.is_clean());
    assert_eq!(report.first_tx_offset, log.first_tx_offset());
    assert_eq!(report.next_tx_offset, 100);
}

#[test]
fn commits_of_several_records_are_read() {
    // This crate writes one record per commit, but the format allows several.
    let dir = tempdir();
    let mut records = Vec::new();
    for r in [&b"ab"[..], b"", b"cde"] {
        records.extend_from_slice(&(r.len() as u32).to_le_bytes());
        records.extend_from_slice(r);
    }
    let mut header = Vec::new();
    header.extend_from_slice(&0u64.to_le_bytes());
    header.extend_from_slice(&0u64.to_le_bytes());
    header.extend_from_slice(&3u16.to_le_bytes());
    header.extend_from_slice(&(records.len() as u32).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&header), &records);
    let mut file = b"(ds)^2\x01\x00\x00\x00".to_vec();
    file.extend_from_slice(&header);
    file.extend_from_slice(&records);
    file.extend_from_slice(&crc.to_le_bytes());
    fs::write(dir.path().join(segment_file_name(0)), file).unwrap();
    let (mut log, report) = open(dir.path());
    assert!(report.is_clean(), "{report}");
    assert_eq!(log.next_tx_offset(), 3);
    let expected = vec![(0, b"ab".to_vec()), (1, vec![]), (2, b"cde".to_vec())];
    assert_eq!(read_from(&log, 0), expected);
    assert_eq!(read_from(&log, 1), expected[1..]);
    assert_eq!(log.append(b"x").unwrap(), 3);
    log.sync().unwrap();
    assert_eq!(read_from(&log, 2), vec![(2, b"cde".to_vec()), (3, b"x".to_vec())]);
}

#[test]
fn stray_files_are_ignored_and_temp_files_removed() {
    let dir = tempdir();
    fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    fs::write(dir.path().join(format!("{}.tmp", segment_file_name(5))), "half").unwrap();
    let (log, report) = open(dir.path());
    assert_eq!(report.ignored_files, vec!["notes.txt".to_owned()]);
    assert_eq!(report.removed_temp_files.len(), 1);
    assert_eq!(log.next_tx_offset(), 0);
    assert!(names_ending(dir.path(), ".tmp").is_empty());
}

#[test]
fn framed_batches_are_written_whole_across_segments_and_bad_ones_refused() {
    let dir = tempdir();
    let (mut log, _) = open_with(dir.path(), 256);
    let mut batch = Vec::new();
    for o in 0..40 {
        spacetime_commitlog::encode_commit(&mut batch, 0, o, &payload(o));
    }
    log.append_encoded(&batch, 0, 40).unwrap();
    log.sync().unwrap();
    assert!(log.segments().len() > 1, "a 256-byte segment cannot hold 40 commits");
    assert_holds(&log, 0..40);

    let mut more = Vec::new();
    spacetime_commitlog::encode_commit(&mut more, 0, 40, &payload(40));
    let wrong_start = log.append_encoded(&more, 41, 1).unwrap_err();
    assert!(
        wrong_start.to_string().contains("starts at tx offset 41"),
        "{wrong_start}"
    );
    let wrong_count = log.append_encoded(&more, 40, 2).unwrap_err();
    assert!(
        wrong_count.to_string().contains("holds 1 commits, not the 2"),
        "{wrong_count}"
    );
    let cut = log.append_encoded(&more[..more.len() - 1], 40, 1).unwrap_err();
    assert!(cut.to_string().contains("no whole commit at byte 0"), "{cut}");
    log.append_encoded(&more, 40, 1).unwrap();
    log.sync().unwrap();
    drop(log);
    let (log, report) = open(dir.path());
    assert!(report.cut.is_none(), "{report}");
    assert_holds(&log, 0..41);
}
