//! Recovery from damage: bit flips in a commit's header, records and CRC, a tail torn
//! at every byte of the last commit, all-zero tails, damage in a middle segment,
//! missing and mangled segments. In every case every commit before the damage
//! survives, the report says exactly what was dropped, and the log accepts appends
//! at the first lost offset afterwards. A damaged segment header loses nothing: it is
//! rewritten when the commits behind it verify, and the open is refused (changing
//! nothing) when they do not.

use crate::support::*;
use spacetime_commitlog::{segment_file_name, CommitlogError, Damage, TailCut};
use std::fs;
use std::path::Path;

/// A log in `dir` holding `payload(o)` for 0..n in one segment; returns the segment.
fn make_log(dir: &Path, n: u64) -> std::path::PathBuf {
    let (mut log, _) = open(dir);
    append_range(&mut log, 0..n);
    drop(log);
    dir.join(segment_file_name(0))
}

/// Reopens `dir`, checks the log holds exactly 0..kept and accepts appends after it,
/// and returns the cut.
fn reopen_expecting_cut(dir: &Path, kept: u64) -> TailCut {
    let (mut log, report) = open(dir);
    let cut = report
        .cut
        .clone()
        .unwrap_or_else(|| panic!("expected a cut, got {report}"));
    assert_eq!(cut.first_lost_tx_offset, kept, "{cut}");
    assert_eq!(report.next_tx_offset, kept);
    assert_holds(&log, 0..kept);
    let text = report.to_string();
    assert!(text.contains(&format!("from tx offset {kept} on")), "{text}");
    assert!(
        text.contains(cut.segment.file_name().unwrap().to_str().unwrap()),
        "{text}"
    );
    // The log goes on from the cut, and the next open is clean.
    append_range(&mut log, kept..kept + 3);
    drop(log);
    let (log, report) = open(dir);
    assert!(report.cut.is_none(), "second open: {report}");
    assert_holds(&log, 0..kept + 3);
    cut
}

fn assert_cut_bytes_saved(cut: &TailCut, expected: &[u8]) {
    let saved = cut.saved_to.as_ref().expect("the cut bytes are saved");
    assert_eq!(fs::read(saved).unwrap(), expected);
    assert_eq!(cut.bytes_dropped, expected.len() as u64);
}

#[test]
fn bit_flip_in_any_part_of_a_commit_cuts_there() {
    // Byte positions inside commit 10: its min_tx_offset, epoch, record count and
    // length fields, the record length prefix, the payload, and the CRC.
    let payload_len = payload(10).len() as u64;
    let cases = [
        ("tx offset", 0),
        ("epoch", 9),
        ("record count", 16),
        ("record length prefix", 22),
        ("payload", 26),
        ("crc", 26 + payload_len + 2),
    ];
    for (what, delta) in cases {
        let dir = tempdir();
        let seg = make_log(dir.path(), 20);
        let at = commit_position(0, 10);
        let pristine = fs::read(&seg).unwrap();
        flip_byte(&seg, at + delta);
        let cut = reopen_expecting_cut(dir.path(), 10);
        assert_eq!(cut.byte_offset, at, "{what}");
        assert!(
            matches!(cut.damage, Damage::ChecksumMismatch { .. }),
            "{what}: {:?}",
            cut.damage
        );
        // The damaged commit and the 9 intact ones after it.
        assert_eq!(cut.commits_dropped, 10, "{what}");
        let mut expected = pristine[at as usize..].to_vec();
        expected[delta as usize] ^= 1;
        assert_cut_bytes_saved(&cut, &expected);
    }
}

#[test]
fn bit_flip_in_the_length_field_is_detected() {
    for bit in [0u8, 3, 7] {
        let dir = tempdir();
        let seg = make_log(dir.path(), 20);
        let at = commit_position(0, 10);
        let mut bytes = fs::read(&seg).unwrap();
        bytes[(at + 18) as usize] ^= 1 << bit;
        fs::write(&seg, bytes).unwrap();
        let cut = reopen_expecting_cut(dir.path(), 10);
        assert_eq!(cut.byte_offset, at);
        assert!(
            matches!(
                cut.damage,
                Damage::ChecksumMismatch { .. } | Damage::TruncatedCommit { .. }
            ),
            "{:?}",
            cut.damage
        );
        assert!(cut.commits_dropped >= 1);
    }
}

#[test]
fn bit_flip_in_the_first_commit_keeps_an_empty_log() {
    let dir = tempdir();
    let seg = make_log(dir.path(), 5);
    flip_byte(&seg, commit_position(0, 0) + 25);
    let cut = reopen_expecting_cut(dir.path(), 0);
    assert_eq!(cut.commits_dropped, 5);
    assert_eq!(
        file_len(&seg),
        commit_position(0, 3),
        "header plus the 3 commits appended after the cut"
    );
}

#[test]
fn truncation_at_every_byte_of_the_last_commit() {
    let dir = tempdir();
    let seg = make_log(dir.path(), 20);
    let pristine = fs::read(&seg).unwrap();
    let last = commit_position(0, 19);
    for len in last..pristine.len() as u64 {
        fs::write(&seg, &pristine).unwrap();
        truncate(&seg, len);
        if len == last {
            // A cut exactly between commits looks like the commit was never written.
            let (log, report) = open(dir.path());
            assert!(report.is_clean(), "{report}");
            assert_holds(&log, 0..19);
            continue;
        }
        let (log, report) = open(dir.path());
        let cut = report
            .cut
            .clone()
            .unwrap_or_else(|| panic!("length {len}: expected a cut"));
        assert_eq!(cut.byte_offset, last, "length {len}");
        assert_eq!(cut.first_lost_tx_offset, 19);
        assert_eq!(cut.commits_dropped, 1, "length {len}");
        assert_eq!(cut.bytes_dropped, len - last);
        let expected_damage = if len - last < 22 {
            Damage::TruncatedHeader { remaining: len - last }
        } else {
            Damage::TruncatedCommit {
                frame_len: pristine.len() as u64 - last,
                remaining: len - last,
            }
        };
        assert_eq!(cut.damage, expected_damage, "length {len}");
        assert_eq!(
            fs::read(cut.saved_to.as_ref().unwrap()).unwrap(),
            &pristine[last as usize..len as usize]
        );
        assert_holds(&log, 0..19);
        assert_eq!(file_len(&seg), last);
        drop(log);
        for saved in names_ending(dir.path(), ".dropped") {
            fs::remove_file(dir.path().join(saved)).unwrap();
        }
    }
}

#[test]
fn all_zero_preallocated_tail_is_end_of_data() {
    for zeros in [1usize, 21, 22, 4096] {
        let dir = tempdir();
        let seg = make_log(dir.path(), 20);
        let len = file_len(&seg);
        append_bytes(&seg, &vec![0; zeros]);
        let (mut log, report) = open(dir.path());
        assert!(report.cut.is_none(), "{zeros} zeros: {report}");
        assert_eq!(report.zero_tail_bytes, zeros as u64);
        assert_eq!(file_len(&seg), len);
        assert_holds(&log, 0..20);
        append_range(&mut log, 20..25);
        drop(log);
        let (log, report) = open(dir.path());
        assert!(report.is_clean() && report.zero_tail_bytes == 0);
        assert_holds(&log, 0..25);
    }
}

#[test]
fn data_after_the_end_marker_is_cut() {
    let dir = tempdir();
    let seg = make_log(dir.path(), 20);
    let end = file_len(&seg);
    let mut tail = vec![0u8; 100];
    tail.extend_from_slice(b"stray");
    append_bytes(&seg, &tail);
    let cut = reopen_expecting_cut(dir.path(), 20);
    assert_eq!(cut.byte_offset, end);
    assert_eq!(cut.damage, Damage::DataAfterEndMarker { nonzero_at: end + 100 });
    assert_eq!(cut.commits_dropped, 0);
    assert_cut_bytes_saved(&cut, &tail);
}

#[test]
fn a_well_formed_commit_with_the_wrong_offset_is_cut() {
    // Commit 7 of another log, appended where commit 5 belongs.
    let other = tempdir();
    let other_seg = make_log(other.path(), 8);
    let bytes = fs::read(other_seg).unwrap();
    let commit7 = &bytes[commit_position(0, 7) as usize..];
    let dir = tempdir();
    let seg = make_log(dir.path(), 5);
    append_bytes(&seg, commit7);
    let cut = reopen_expecting_cut(dir.path(), 5);
    assert_eq!(cut.damage, Damage::UnexpectedTxOffset { expected: 5, found: 7 });
    assert_eq!(cut.commits_dropped, 1);
}

#[test]
fn damage_in_a_middle_segment_sets_later_segments_aside() {
    let dir = tempdir();
    let (mut log, _) = open_with(dir.path(), 512);
    append_range(&mut log, 0..100);
    let segments = log.segments();
    drop(log);
    assert!(segments.len() >= 4);
    let (start1, seg1) = segments[1].clone();
    let start2 = segments[2].0;
    let damaged = start1 + 2;
    flip_byte(&seg1, commit_position(start1, damaged) + 26);
    let (mut log, report) = open_with(dir.path(), 512);
    let cut = report.cut.clone().expect("a cut");
    assert_eq!(cut.segment, seg1);
    assert_eq!(cut.first_lost_tx_offset, damaged);
    assert_eq!(
        cut.commits_dropped,
        100 - damaged,
        "the rest of segment 1 and all later segments"
    );
    assert_eq!(cut.dropped_segments.len(), segments.len() - 2);
    for (path, (_, original)) in cut.dropped_segments.iter().zip(&segments[2..]) {
        assert_eq!(path.to_str().unwrap(), format!("{}.dropped", original.display()));
        assert!(path.exists() && !original.exists());
    }
    let later_bytes: u64 = cut.dropped_segments.iter().map(|p| file_len(p)).sum();
    assert_eq!(
        cut.bytes_dropped,
        commit_position(start1, start2) - commit_position(start1, damaged) + later_bytes
    );
    assert_eq!(report.segments, 2);
    assert_holds(&log, 0..damaged);
    // The log continues in segment 1 and later rotates past the set-aside names.
    append_range(&mut log, damaged..150);
    drop(log);
    let (log, report) = open_with(dir.path(), 512);
    assert!(report.cut.is_none(), "{report}");
    assert!(report.ignored_files.iter().any(|n| n.ends_with(".dropped")));
    assert_holds(&log, 0..150);
}

#[test]
fn a_missing_middle_segment_is_a_gap() {
    let dir = tempdir();
    let (mut log, _) = open_with(dir.path(), 512);
    append_range(&mut log, 0..100);
    let segments = log.segments();
    drop(log);
    fs::remove_file(&segments[2].1).unwrap();
    let (log, report) = open_with(dir.path(), 512);
    let cut = report.cut.clone().expect("a cut");
    let kept = segments[2].0;
    assert_eq!(
        cut.damage,
        Damage::SegmentGap {
            expected: kept,
            segment_start: segments[3].0
        }
    );
    assert_eq!(cut.segment, segments[3].1);
    assert_eq!(cut.byte_offset, 0);
    assert_eq!(cut.saved_to, None);
    assert_eq!(cut.commits_dropped, 100 - segments[3].0);
    assert_eq!(cut.dropped_segments.len(), segments.len() - 3);
    assert_eq!(report.next_tx_offset, kept);
    assert_holds(&log, 0..kept);
}

/// Writes `bytes` over `path` from byte `at`.
fn overwrite(path: &Path, at: usize, bytes: &[u8]) {
    let mut data = fs::read(path).unwrap();
    data[at..at + bytes.len()].copy_from_slice(bytes);
    fs::write(path, data).unwrap();
}

/// Opens `dir` expecting exactly one repaired header, in `segment`, and no cut.
fn reopen_expecting_header_repair(dir: &Path, segment: &Path, why: &str) -> spacetime_commitlog::Commitlog {
    let (log, report) = open_with(dir, 512);
    assert!(report.cut.is_none(), "{report}");
    assert_eq!(report.repaired_headers.len(), 1, "{report}");
    let repair = &report.repaired_headers[0];
    assert_eq!(repair.segment, segment);
    assert!(repair.reason.contains(why), "{}", repair.reason);
    assert!(!report.is_clean());
    assert!(report.to_string().contains("repaired the damaged header"), "{report}");
    log
}

#[test]
fn a_damaged_segment_header_is_rewritten_and_every_commit_kept() {
    // Regression test for issue 12 (D6): `XXXX` over the first segment's magic used to
    // drop the whole segment, and the database restarted empty. The last segment is
    // the one appends go to.
    let cases: [(&str, usize, &[u8], &str); 5] = [
        ("first", 0, b"XXXX", "magic"),
        ("first", 6, &[7], "version"),
        ("first", 7, &[3], "checksum"),
        ("middle", 2, b"?", "magic"),
        ("last", 2, b"?", "magic"),
    ];
    for (which, at, bytes, why) in cases {
        let dir = tempdir();
        let (mut log, _) = open_with(dir.path(), 512);
        append_range(&mut log, 0..60);
        let segments = log.segments();
        drop(log);
        assert!(segments.len() > 2, "{segments:?}");
        let target = match which {
            "first" => &segments[0].1,
            "middle" => &segments[1].1,
            _ => &segments[segments.len() - 1].1,
        };
        let pristine = fs::read(target).unwrap();
        overwrite(target, at, bytes);
        let mut log = reopen_expecting_header_repair(dir.path(), target, why);
        assert_eq!(
            fs::read(target).unwrap(),
            pristine,
            "{which} {why}: the header is rewritten"
        );
        assert_holds(&log, 0..60);
        append_range(&mut log, 60..70);
        drop(log);
        let (log, report) = open_with(dir.path(), 512);
        assert!(report.is_clean(), "{which} {why}: {report}");
        assert_holds(&log, 0..70);
    }
}

#[test]
fn a_damaged_header_with_unverifiable_data_behind_it_refuses_to_open() {
    // Header and first commit both damaged: the segment cannot be told from garbage.
    // The open fails, names the segment, and changes nothing.
    for segment_index in [0usize, 1] {
        let dir = tempdir();
        let (mut log, _) = open_with(dir.path(), 512);
        append_range(&mut log, 0..60);
        let segments = log.segments();
        drop(log);
        let (start, target) = segments[segment_index].clone();
        overwrite(&target, 0, b"XXXX");
        flip_byte(&target, commit_position(start, start) + 25);
        let before: Vec<_> = segments.iter().map(|(_, p)| fs::read(p).unwrap()).collect();
        let err = spacetime_commitlog::Commitlog::open(
            dir.path(),
            spacetime_commitlog::CommitlogOptions::default().max_segment_size(512),
        )
        .unwrap_err();
        match &err {
            CommitlogError::UnreadableSegment {
                segment,
                header,
                byte_offset,
                damage,
            } => {
                assert_eq!(segment, &target);
                assert!(header.contains("magic"), "{header}");
                assert_eq!(*byte_offset, SEGMENT_HEADER);
                assert!(matches!(damage, Damage::ChecksumMismatch { .. }), "{damage:?}");
            }
            other => panic!("expected UnreadableSegment, got {other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains(target.to_str().unwrap()) && text.contains("Restore this segment file from a backup"),
            "{text}"
        );
        let after: Vec<_> = segments.iter().map(|(_, p)| fs::read(p).unwrap()).collect();
        assert!(before == after, "segment {segment_index}: the files are untouched");
        assert!(names_ending(dir.path(), ".dropped").is_empty());
    }
}

#[test]
fn a_segment_shorter_than_its_header_gets_a_header() {
    let dir = tempdir();
    fs::write(dir.path().join(segment_file_name(0)), b"(ds").unwrap();
    let (mut log, report) = open(dir.path());
    assert!(report.cut.is_none(), "{report}");
    assert_eq!(report.repaired_headers.len(), 1, "{report}");
    assert_eq!(report.repaired_headers[0].found, b"(ds");
    append_range(&mut log, 0..3);
    drop(log);
    let (log, report) = open(dir.path());
    assert!(report.is_clean());
    assert_holds(&log, 0..3);
}

#[test]
fn a_damaged_header_followed_by_zeros_is_rewritten() {
    let dir = tempdir();
    let seg = dir.path().join(segment_file_name(0));
    let mut bytes = b"XXXXXXXXXX".to_vec();
    bytes.extend_from_slice(&[0u8; 100]);
    fs::write(&seg, bytes).unwrap();
    let (mut log, report) = open(dir.path());
    assert_eq!(report.repaired_headers.len(), 1, "{report}");
    assert_eq!(report.zero_tail_bytes, 100);
    append_range(&mut log, 0..3);
    drop(log);
    let (log, report) = open(dir.path());
    assert!(report.is_clean());
    assert_holds(&log, 0..3);
}

#[test]
fn replay_reports_damage_that_appears_after_open() {
    let dir = tempdir();
    let seg = make_log(dir.path(), 20);
    let (log, _) = open(dir.path());
    flip_byte(&seg, commit_position(0, 12) + 26);
    let items: Vec<_> = log.replay_from(0).collect();
    assert_eq!(items.len(), 13, "12 records, then the error, then nothing");
    for (o, item) in items[..12].iter().enumerate() {
        assert_eq!(item.as_ref().unwrap(), &(o as u64, payload(o as u64)));
    }
    match &items[12] {
        Err(CommitlogError::Corrupt {
            segment,
            byte_offset,
            damage,
        }) => {
            assert_eq!((segment, *byte_offset), (&seg, commit_position(0, 12)));
            assert!(matches!(damage, Damage::ChecksumMismatch { .. }));
        }
        other => panic!("expected a corruption error, got {other:?}"),
    }
}

#[test]
fn the_checking_read_visits_exactly_the_records_kept() {
    let dir = tempdir();
    let (mut log, _) = open_with(dir.path(), 300);
    append_range(&mut log, 0..30);
    drop(log);
    let segments = segment_files(dir.path());
    assert!(segments.len() > 2, "{segments:?}");
    // Damage the second segment's first commit: it and everything after are cut.
    let second = &segments[1];
    let first_lost: u64 = second.file_name().unwrap().to_str().unwrap()[..20].parse().unwrap();
    flip_byte(second, commit_position(first_lost, first_lost) + 3);
    let mut visited = Vec::new();
    let (log, report) = spacetime_commitlog::Commitlog::open_visiting(
        dir.path(),
        spacetime_commitlog::CommitlogOptions::default().max_segment_size(300),
        |offset, record| visited.push((offset, record.to_vec())),
    )
    .unwrap();
    assert_eq!(
        report.cut.as_ref().map(|c| c.first_lost_tx_offset),
        Some(first_lost),
        "{report}"
    );
    assert_eq!(visited, read_from(&log, 0));
    assert_eq!(visited.len() as u64, first_lost);
}
