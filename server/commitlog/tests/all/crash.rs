//! The crash test: a real child process (`src/bin/crash_child.rs`) appends through the
//! group-commit writer and prints every offset once it is durable; the test SIGKILLs
//! it at a random moment, reopens the log, and checks that every offset the child
//! reported durable is present with the right bytes, that nothing else in the log is
//! wrong, and that a cut (if the kill tore a write) only removed unreported offsets.
//! Half the rounds then also truncate the unsynced part of the log at a random byte,
//! as a power cut could. Repeated on the same directory, so each round also recovers
//! the previous one.

use crate::support::{file_len, truncate, FRAME_OVERHEAD, SEGMENT_HEADER};
use rand::{Rng, SeedableRng};
use spacetime_commitlog::{Commitlog, CommitlogOptions, RecoveryReport};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

const CHILD: &str = env!("CARGO_BIN_EXE_commitlog-crash-child");
const ROUNDS: u32 = 20;

/// The child's record at `tx_offset`; must equal `expected_record` in the child.
fn expected_record(tx_offset: u64) -> Vec<u8> {
    let len = 1 + (tx_offset.wrapping_mul(2_654_435_761) % 300) as usize;
    (0..len)
        .map(|i| (tx_offset as usize).wrapping_mul(31).wrapping_add(i) as u8)
        .collect()
}

fn parse_durable(line: &str) -> u64 {
    line.strip_prefix("durable ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line from the child: {line:?}"))
}

#[test]
fn sigkill_at_random_moments_loses_no_durable_offset() {
    let seed: u64 = rand::random();
    eprintln!("crash test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = crate::support::tempdir();
    let mut promised: Option<u64> = None;
    let mut cuts = 0;
    for round in 0..ROUNDS {
        let producers = [1, 4, 16][rng.gen_range(0..3)];
        let kill_after = rng.gen_range(1..=300);
        let mut child = Command::new(CHILD)
            .arg(dir.path())
            .args([producers.to_string(), "200000".to_owned()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the child");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line.expect("read the child's stdout")).is_err() {
                    return;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut lines = 0;
        while lines < kill_after {
            let wait = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(line) => {
                    promised = promised.max(Some(parse_durable(&line)));
                    lines += 1;
                }
                Err(RecvTimeoutError::Timeout) => panic!("round {round}: the child made no progress for 60 s"),
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        child.kill().expect("SIGKILL the child");
        let status = child.wait().expect("reap the child");
        reader.join().expect("stdout reader");
        // Lines printed before the kill landed are promises too.
        for line in rx.try_iter() {
            promised = promised.max(Some(parse_durable(&line)));
        }
        assert!(
            lines == kill_after || status.success(),
            "round {round}: child ended early with {status}"
        );

        cuts += u64::from(verify(dir.path(), promised, round));
        // Half the rounds also lose a random part of what was not yet fsynced, as a
        // power cut would: anything after the last promised commit of the last segment.
        if rng.gen_bool(0.5) {
            let (log, _) = open(dir.path());
            let (start, path) = log.segments().pop().expect("a segment");
            drop(log);
            let promised_end = match promised {
                Some(p) if p >= start => {
                    SEGMENT_HEADER
                        + (start..=p)
                            .map(|o| FRAME_OVERHEAD + expected_record(o).len() as u64)
                            .sum::<u64>()
                }
                _ => SEGMENT_HEADER,
            };
            let len = file_len(&path);
            assert!(
                len >= promised_end,
                "round {round}: the last segment ends before the promised commits"
            );
            truncate(&path, rng.gen_range(promised_end..=len));
            cuts += u64::from(verify(dir.path(), promised, round));
        }
    }
    eprintln!("crash test: {ROUNDS} rounds, {cuts} torn tail(s) cut, {promised:?} highest durable offset");
    assert!(promised.is_some(), "the child never reported anything durable");
}

fn open(dir: &Path) -> (Commitlog, RecoveryReport) {
    Commitlog::open(dir, CommitlogOptions::default().max_segment_size(64 * 1024)).expect("reopen after the crash")
}

/// Reopens the log and checks it against the child's promises; true if a tail was cut.
fn verify(dir: &Path, promised: Option<u64>, round: u32) -> bool {
    let (log, report) = open(dir);
    if let Some(cut) = &report.cut {
        assert!(
            promised.is_none_or(|p| cut.first_lost_tx_offset > p),
            "round {round}: the cut lost offset {} but the child reported {promised:?} durable: {cut}",
            cut.first_lost_tx_offset
        );
    }
    let next = log.next_tx_offset();
    assert!(
        promised.is_none_or(|p| next > p),
        "round {round}: log ends at {next}, promised {promised:?}"
    );
    let mut expected = 0;
    for item in log.replay_from(0) {
        let (o, record) = item.expect("replay");
        assert_eq!(o, expected);
        assert_eq!(
            record,
            expected_record(o),
            "round {round}: wrong bytes at tx offset {o}"
        );
        expected += 1;
    }
    assert_eq!(expected, next);
    report.cut.is_some()
}
