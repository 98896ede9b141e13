//! The group-commit writer with a replicated log: standalone stays byte-for-byte what
//! it was, a batch is confirmed only when the replicated log has it too, fencing and
//! unknown outcomes stop the writer or are resolved, and epochs reach the headers.

use crate::support::{payload, tempdir};
use spacetime_commitlog::{
    commit_ids, AppendOutcome, Batch, Commitlog, CommitlogError, CommitlogOptions, Durability, DurabilityError,
    DurabilityOptions, ReplicatedLog,
};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bytes of a segment holding `payloads` from tx offset 0 at `epoch`, built field
/// by field from FORMAT.md, independently of the crate's encoder.
fn expected_segment(epoch: u64, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"(ds)^2".to_vec();
    out.extend_from_slice(&[1, 0, 0, 0]); // version 1, CRC32C, reserved
    for (offset, p) in payloads.iter().enumerate() {
        let start = out.len();
        out.extend_from_slice(&(offset as u64).to_le_bytes());
        out.extend_from_slice(&epoch.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&(p.len() as u32 + 4).to_le_bytes());
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(p);
        let crc = crc32c::crc32c(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out
}

fn only_segment(dir: &std::path::Path) -> Vec<u8> {
    let files = crate::support::segment_files(dir);
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::read(&files[0]).expect("read segment")
}

#[test]
fn standalone_writes_the_format_byte_for_byte() {
    let tmp = tempdir();
    let (log, _) = Commitlog::open(tmp.path(), CommitlogOptions::default()).expect("open");
    let durability = Durability::start(log, DurabilityOptions::default()).expect("start");
    let payloads: Vec<_> = (0..5).map(payload).collect();
    for p in &payloads {
        durability.append_tx(p).expect("append");
    }
    durability.wait_durable(4, None).expect("durable");
    durability.close().expect("close");
    assert_eq!(only_segment(tmp.path()), expected_segment(0, &payloads));
    // A pinned CRC, so the expectation above cannot drift with the encoder.
    let first = expected_segment(0, &payloads[..1]);
    assert_eq!(
        &first[first.len() - 4..],
        &0x6335_5261u32.to_le_bytes(),
        "CRC32C of commit 0"
    );
}

#[test]
fn replicated_epoch_is_written_into_every_header() {
    let tmp = tempdir();
    let (log, _) = Commitlog::open(tmp.path(), CommitlogOptions::default()).expect("open");
    let fake = Fake::new(Vec::new());
    let options = DurabilityOptions::default().epoch(7);
    let durability = Durability::start_replicated(log, options, Box::new(fake.clone())).expect("start");
    let payloads: Vec<_> = (0..3).map(payload).collect();
    for p in &payloads {
        durability.append_tx(p).expect("append");
    }
    durability.wait_durable(2, None).expect("durable");
    let log = durability.close().expect("close");
    assert_eq!(log.epoch(), 7);
    assert_eq!(only_segment(tmp.path()), expected_segment(7, &payloads));
    // The replicated log got the very same frames, in order, with their epoch.
    let got = fake.state.lock().unwrap().committed.clone();
    let replicated: Vec<u8> = got.iter().flat_map(|(_, frames)| frames.clone()).collect();
    assert_eq!(replicated, expected_segment(7, &payloads)[10..]);
    let ids = commit_ids(&replicated).expect("frames verify");
    assert_eq!(
        ids.iter().map(|c| (c.tx_offset, c.epoch)).collect::<Vec<_>>(),
        [(0, 7), (1, 7), (2, 7)]
    );
    // Reopened, the log knows its epoch; a writer of an older term is refused.
    let (log, report) = Commitlog::open(tmp.path(), CommitlogOptions::default()).expect("reopen");
    assert!(report.is_clean(), "{report}");
    assert_eq!(log.epoch(), 7);
    let err = Durability::start(log, DurabilityOptions::default().epoch(6)).unwrap_err();
    assert!(
        matches!(err, CommitlogError::EpochBehindLog { epoch: 6, log_epoch: 7 }),
        "{err}"
    );
}

/// One scripted answer of the fake replicated log.
#[derive(Debug, Clone, Copy)]
enum Step {
    Commit,
    Fence(u64),
    /// Answer "unknown" without committing.
    Unknown,
    /// Commit, but answer "unknown" (the reply was lost).
    CommitButUnknown,
    /// Block until the test sends on the gate, then commit.
    Hold,
}

#[derive(Default)]
struct FakeState {
    script: Vec<Step>,
    /// Committed batches: (first tx offset, frames).
    committed: Vec<(u64, Vec<u8>)>,
    calls: Vec<&'static str>,
}

/// A replicated log in memory that follows a script (then commits everything).
#[derive(Clone)]
struct Fake {
    state: Arc<Mutex<FakeState>>,
    gate: Arc<Mutex<Option<mpsc::Receiver<()>>>>,
}

impl Fake {
    fn new(script: Vec<Step>) -> Self {
        Self {
            state: Arc::new(Mutex::new(FakeState {
                script,
                ..FakeState::default()
            })),
            gate: Arc::new(Mutex::new(None)),
        }
    }

    fn answer(&mut self, batch: Batch<'_>, call: &'static str) -> AppendOutcome {
        let step = {
            let mut s = self.state.lock().unwrap();
            s.calls.push(call);
            // A resend of a committed batch finds it committed (idempotent).
            if s.committed.iter().any(|(first, _)| *first == batch.first) {
                return AppendOutcome::Committed;
            }
            if s.script.is_empty() {
                Step::Commit
            } else {
                s.script.remove(0)
            }
        };
        let commit = |s: &Self| {
            let mut st = s.state.lock().unwrap();
            assert_eq!(
                st.committed.last().map_or(0, |(_, f)| next_after(f)),
                batch.first,
                "in order"
            );
            st.committed.push((batch.first, batch.frames.to_vec()));
        };
        match step {
            Step::Commit => {
                commit(self);
                AppendOutcome::Committed
            }
            Step::Fence(current) => AppendOutcome::Fenced { current },
            Step::Unknown => AppendOutcome::Unknown("injected timeout".into()),
            Step::CommitButUnknown => {
                commit(self);
                AppendOutcome::Unknown("injected lost reply".into())
            }
            Step::Hold => {
                let gate = self.gate.lock().unwrap().take().expect("a gate for Hold");
                gate.recv().expect("the test releases the batch");
                commit(self);
                AppendOutcome::Committed
            }
        }
    }
}

fn next_after(frames: &[u8]) -> u64 {
    let ids = commit_ids(frames).expect("frames verify");
    ids.last().map_or(0, |c| c.tx_offset + u64::from(c.n))
}

impl ReplicatedLog for Fake {
    fn append(&mut self, batch: Batch<'_>) -> AppendOutcome {
        let ids = commit_ids(batch.frames).expect("the writer hands over whole commits");
        assert_eq!(ids.first().map(|c| c.tx_offset), Some(batch.first));
        assert_eq!(ids.last().map(|c| c.tx_offset), Some(batch.last));
        assert!(ids.iter().all(|c| c.epoch == batch.epoch));
        self.answer(batch, "append")
    }

    fn resolve(&mut self, batch: Batch<'_>) -> AppendOutcome {
        self.answer(batch, "resolve")
    }
}

fn start(dir: &std::path::Path, fake: &Fake, options: DurabilityOptions) -> Durability {
    let (log, _) = Commitlog::open(dir, CommitlogOptions::default()).expect("open");
    Durability::start_replicated(log, options.epoch(1), Box::new(fake.clone())).expect("start")
}

#[test]
fn nothing_is_durable_until_the_replicated_log_has_it() {
    let tmp = tempdir();
    let fake = Fake::new(vec![Step::Hold]);
    let (release, gate) = mpsc::channel();
    *fake.gate.lock().unwrap() = Some(gate);
    let durability = start(tmp.path(), &fake, DurabilityOptions::default());
    durability.append_tx(payload(0)).expect("append");
    // The local fsync finishes; the replicated append is held. Wait until the local
    // copy is on disk (the segment has grown), then check nothing is confirmed.
    let segment = crate::support::segment_files(tmp.path()).remove(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while crate::support::file_len(&segment) == 10 {
        assert!(Instant::now() < deadline, "the local write never happened");
        std::thread::yield_now();
    }
    let waited = durability.wait_durable(0, Some(Instant::now() + Duration::from_millis(200)));
    assert!(matches!(waited, Err(DurabilityError::Timeout(0))), "{waited:?}");
    assert_eq!(durability.durable_offset(), None);
    release.send(()).expect("release");
    durability
        .wait_durable(0, Some(Instant::now() + Duration::from_secs(10)))
        .expect("durable after release");
    durability.close().expect("close");
}

#[test]
fn a_fenced_writer_stops_and_confirms_nothing_more() {
    let tmp = tempdir();
    let fake = Fake::new(vec![Step::Commit, Step::Fence(2)]);
    let durability = start(tmp.path(), &fake, DurabilityOptions::default());
    let a = durability.append_tx(payload(0)).expect("append");
    durability.wait_durable(a, None).expect("the first batch commits");
    let b = durability.append_tx(payload(1)).expect("append");
    let err = durability.wait_durable(b, None).unwrap_err();
    let DurabilityError::Failed(why) = &err else {
        panic!("{err:?}")
    };
    assert!(why.contains("deposed") && why.contains("epoch 2"), "{why}");
    assert_eq!(durability.durable_offset(), Some(0), "tx 1 is never confirmed");
    assert!(matches!(
        durability.append_tx(payload(2)),
        Err(DurabilityError::Failed(_))
    ));
    let closed = durability.close().unwrap_err();
    assert!(closed.to_string().contains("deposed"), "{closed}");
}

#[test]
fn an_unknown_outcome_is_resolved() {
    let tmp = tempdir();
    // First batch: the reply is lost after the commit; second: a timeout before it.
    let fake = Fake::new(vec![Step::CommitButUnknown, Step::Unknown]);
    let durability = start(tmp.path(), &fake, DurabilityOptions::default());
    let a = durability.append_tx(payload(0)).expect("append");
    durability.wait_durable(a, None).expect("resolved as committed");
    let b = durability.append_tx(payload(1)).expect("append");
    durability.wait_durable(b, None).expect("resolved by resending");
    durability.close().expect("close");
    let state = fake.state.lock().unwrap();
    assert_eq!(state.calls, ["append", "resolve", "append", "resolve"]);
    assert_eq!(
        state.committed.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
        [0, 1],
        "each batch once"
    );
}

#[test]
fn an_outcome_unknown_for_too_long_stops_the_writer() {
    let tmp = tempdir();
    let fake = Fake::new(vec![Step::Unknown; 1000]);
    let options = DurabilityOptions::default().unknown_outcome_timeout(Duration::from_millis(100));
    let durability = start(tmp.path(), &fake, options);
    let a = durability.append_tx(payload(0)).expect("append");
    let err = durability.wait_durable(a, None).unwrap_err();
    assert!(err.to_string().contains("did not confirm tx offsets 0..=0"), "{err}");
    assert_eq!(durability.durable_offset(), None);
}

#[test]
fn append_encoded_refuses_a_lower_epoch() {
    let tmp = tempdir();
    let (mut log, _) = Commitlog::open(tmp.path(), CommitlogOptions::default()).expect("open");
    let mut batch = Vec::new();
    spacetime_commitlog::encode_commit(&mut batch, 3, 0, &payload(0));
    log.append_encoded(&batch, 0, 1).expect("epoch 3");
    let mut older = Vec::new();
    spacetime_commitlog::encode_commit(&mut older, 2, 1, &payload(1));
    let err = log.append_encoded(&older, 1, 1).unwrap_err();
    assert!(
        err.to_string().contains("epoch 2, lower than the log's epoch 3"),
        "{err}"
    );
    assert_eq!(log.next_tx_offset(), 1);
    // A plain append continues the log's epoch.
    assert_eq!(log.append(&payload(1)).expect("append"), 1);
    log.sync().expect("sync");
    let ids = log.commit_ids_from(0).expect("ids");
    assert_eq!(ids.iter().map(|c| c.epoch).collect::<Vec<_>>(), [3, 3]);
}
