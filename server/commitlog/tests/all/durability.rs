//! The group-commit writer: offsets under concurrency, waiting for durability both
//! blocking and async, batching, back-pressure, close, failure and pruning.

use crate::support::*;
use spacetime_commitlog::{CommitlogOptions, Durability, DurabilityError, DurabilityOptions};
use std::fs;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn start(dir: &std::path::Path, options: DurabilityOptions) -> Durability {
    let (log, _) = open(dir);
    Durability::start(log, options).expect("start the writer")
}

fn deadline() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(30))
}

#[test]
fn concurrent_producers_get_consecutive_offsets_and_everything_lands() {
    let dir = tempdir();
    let durability = Arc::new(start(dir.path(), DurabilityOptions::default()));
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let durability = durability.clone();
            std::thread::spawn(move || {
                (0..500u32)
                    .map(|i| {
                        let mut record = vec![t];
                        record.extend_from_slice(&i.to_le_bytes());
                        (durability.append_tx(record.clone()).unwrap(), record)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut appended: Vec<(u64, Vec<u8>)> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    appended.sort();
    let offsets: Vec<u64> = appended.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (0..4000).collect::<Vec<_>>());
    durability.wait_durable(3999, deadline()).unwrap();
    assert_eq!(durability.durable_offset(), Some(3999));
    let stats = durability.stats();
    assert_eq!((stats.txs, stats.bytes), (4000, 4000 * 5));
    let durability = Arc::try_unwrap(durability).unwrap();
    let log = durability.close().unwrap();
    assert_eq!(read_from(&log, 0), appended);
}

#[test]
fn pipelined_appends_share_fsyncs() {
    let dir = tempdir();
    let durability = start(dir.path(), DurabilityOptions::default());
    let mut last = 0;
    for o in 0..20_000 {
        last = durability.append_tx(payload(o)).unwrap();
    }
    durability.wait_durable(last, deadline()).unwrap();
    let stats = durability.stats();
    assert_eq!(stats.txs, 20_000);
    // One fsync per transaction would be 20,000; group commit takes what queued up
    // during the previous fsync.
    assert!(stats.syncs * 4 < stats.txs, "{stats:?}");
    let log = durability.close().unwrap();
    assert_holds(&log, 0..20_000);
}

#[test]
fn offsets_continue_after_reopen() {
    let dir = tempdir();
    let durability = start(dir.path(), DurabilityOptions::default());
    for o in 0..10 {
        durability.append_tx(payload(o)).unwrap();
    }
    drop(durability.close().unwrap());
    let durability = start(dir.path(), DurabilityOptions::default());
    assert_eq!(durability.durable_offset(), Some(9));
    assert_eq!(durability.next_tx_offset(), 10);
    assert_eq!(durability.append_tx(payload(10)).unwrap(), 10);
    let log = durability.close().unwrap();
    assert_holds(&log, 0..11);
}

#[test]
fn waiting_for_an_offset_never_appended_is_refused() {
    let dir = tempdir();
    let durability = start(dir.path(), DurabilityOptions::default());
    assert!(matches!(
        durability.wait_durable(0, None),
        Err(DurabilityError::NotAppended { offset: 0, next: 0 })
    ));
    let o = durability.append_tx(vec![1]).unwrap();
    durability.wait_durable(o, None).unwrap();
    assert!(matches!(
        durability.wait_durable(5, None),
        Err(DurabilityError::NotAppended { offset: 5, next: 1 })
    ));
}

#[test]
fn async_waiters_see_the_durable_offset() {
    let dir = tempdir();
    let durability = Arc::new(start(dir.path(), DurabilityOptions::default()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut watch = durability.durable_offset_watch();
    assert_eq!(watch.get(), None);
    let offsets: Vec<u64> = (0..100).map(|o| durability.append_tx(payload(o)).unwrap()).collect();
    let waiters: Vec<_> = offsets
        .iter()
        .map(|&o| {
            let mut watch = watch.clone();
            rt.spawn(async move { watch.wait_for(o).await.map(|()| (o, watch.get())) })
        })
        .collect();
    rt.block_on(async {
        for waiter in waiters {
            let (o, seen) = tokio::time::timeout(Duration::from_secs(30), waiter)
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert!(seen.is_some_and(|d| d >= o));
        }
        assert!(matches!(
            watch.wait_for(100).await,
            Err(DurabilityError::NotAppended { offset: 100, .. })
        ));
    });
    // After close, offsets that made it are still reported durable.
    let durability = Arc::try_unwrap(durability).unwrap();
    drop(durability.close().unwrap());
    rt.block_on(async { watch.wait_for(99).await }).unwrap();
}

#[test]
fn a_full_queue_blocks_instead_of_dropping() {
    let dir = tempdir();
    let durability = Arc::new(start(dir.path(), DurabilityOptions::default().queue_capacity(1)));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let durability = durability.clone();
            std::thread::spawn(move || {
                for _ in 0..250 {
                    durability.append_tx(vec![9; 10]).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    durability.wait_durable(999, deadline()).unwrap();
    assert_eq!(durability.stats().txs, 1000);
}

#[test]
fn close_drains_the_queue_and_later_appends_fail() {
    let dir = tempdir();
    let durability = start(dir.path(), DurabilityOptions::default());
    for o in 0..1000 {
        durability.append_tx(payload(o)).unwrap();
    }
    let log = durability.close().unwrap();
    assert_eq!(log.durable_offset(), Some(999));
    drop(log);
    let (log, report) = open(dir.path());
    assert!(report.is_clean());
    assert_holds(&log, 0..1000);
}

#[test]
fn dropping_the_writer_also_drains() {
    let dir = tempdir();
    let durability = start(dir.path(), DurabilityOptions::default());
    for o in 0..100 {
        durability.append_tx(payload(o)).unwrap();
    }
    drop(durability);
    let (log, _) = open(dir.path());
    assert_holds(&log, 0..100);
}

#[test]
fn a_failed_write_stops_the_writer_and_wakes_waiters() {
    let dir = tempdir();
    let log_dir = dir.path().join("clog");
    let (log, _) = spacetime_commitlog::Commitlog::open(&log_dir, CommitlogOptions::default().max_segment_size(200))
        .expect("open");
    let durability = start_with(log);
    let first = durability.append_tx(vec![1; 100]).unwrap();
    durability.wait_durable(first, deadline()).unwrap();
    // The next append needs a new segment, which cannot be created without the directory.
    fs::remove_dir_all(&log_dir).unwrap();
    let second = durability.append_tx(vec![2; 100]).unwrap();
    let err = durability.wait_durable(second, deadline()).unwrap_err();
    assert!(
        matches!(&err, DurabilityError::Failed(why) if why.contains("clog")),
        "{err}"
    );
    assert!(matches!(durability.append_tx(vec![3]), Err(DurabilityError::Failed(_))));
    assert_eq!(durability.durable_offset(), Some(first));
    assert!(matches!(durability.close(), Err(DurabilityError::Failed(_))));
}

fn start_with(log: spacetime_commitlog::Commitlog) -> Durability {
    Durability::start(log, DurabilityOptions::default()).expect("start the writer")
}

#[test]
fn prune_requests_remove_covered_segments() {
    let dir = tempdir();
    let (log, _) = open_with(dir.path(), 512);
    let durability = start_with(log);
    for o in 0..200 {
        durability.append_tx(payload(o)).unwrap();
    }
    durability.wait_durable(199, deadline()).unwrap();
    let before = segment_files(dir.path()).len();
    durability.request_prune(150);
    let log = durability.close().unwrap();
    assert!(log.segments().len() < before);
    assert!(log.first_tx_offset() <= 150 && log.first_tx_offset() > 0);
    assert_eq!(segment_files(dir.path()).len(), log.segments().len());
    assert_holds(&log, 150..200);
}

#[test]
fn a_record_encoded_in_place_lands_like_a_copied_one() {
    let dir = tempdir();
    let durability = start(dir.path(), DurabilityOptions::default());
    let first = durability
        .append_tx_with(|out| out.extend_from_slice(&payload(0)))
        .unwrap();
    let second = durability.append_tx(payload(1)).unwrap();
    assert_eq!((first, second), (0, 1));
    let log = durability.close().unwrap();
    assert_holds(&log, 0..2);
}

#[test]
fn a_panicking_encoder_leaves_no_half_commit() {
    let dir = tempdir();
    let durability = start(dir.path(), DurabilityOptions::default());
    durability.append_tx(payload(0)).unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        durability.append_tx_with(|out| {
            out.extend_from_slice(b"half a rec");
            panic!("the encoder fails midway");
        })
    }));
    assert!(panicked.is_err());
    // The offset was not handed out, and the queue holds only whole commits.
    assert_eq!(durability.append_tx(payload(1)).unwrap(), 1);
    let log = durability.close().unwrap();
    assert_holds(&log, 0..2);
    let (log, report) = open(dir.path());
    assert!(report.cut.is_none(), "{report}");
    assert_holds(&log, 0..2);
}

#[test]
fn a_held_fsync_holds_back_every_waiter() {
    let dir = tempdir();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let gate = std::sync::Mutex::new(gate);
    let options = DurabilityOptions::default().before_sync(move |_| {
        // Each fsync waits for one message (or for the test to end).
        let _ = gate.lock().unwrap().recv();
        Ok(())
    });
    let durability = start(dir.path(), options);
    let mut watch = durability.durable_offset_watch();
    let offset = durability.append_tx(payload(0)).unwrap();
    let short = Some(Instant::now() + Duration::from_millis(200));
    assert!(matches!(
        durability.wait_durable(offset, short),
        Err(DurabilityError::Timeout(0))
    ));
    assert_eq!(durability.durable_offset(), None);
    assert_eq!(watch.get(), None);
    release.send(()).unwrap();
    durability.wait_durable(offset, deadline()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), watch.wait_for(offset)).await })
        .unwrap()
        .unwrap();
    drop(release);
    durability.close().unwrap();
}

#[test]
fn a_failed_fsync_stops_the_writer_with_its_cause() {
    let dir = tempdir();
    let options = DurabilityOptions::default().before_sync(|offset| {
        if offset >= 5 {
            Err(std::io::Error::other("the disk is full (simulated)"))
        } else {
            Ok(())
        }
    });
    let durability = start(dir.path(), options);
    for o in 0..5 {
        durability.append_tx(payload(o)).unwrap();
    }
    durability.wait_durable(4, deadline()).unwrap();
    let failing = durability.append_tx(payload(5)).unwrap();
    let err = durability.wait_durable(failing, deadline()).unwrap_err();
    assert!(
        matches!(&err, DurabilityError::Failed(why) if why.contains("the disk is full")),
        "{err}"
    );
    assert!(matches!(
        durability.append_tx(payload(6)),
        Err(DurabilityError::Failed(_))
    ));
    assert_eq!(durability.durable_offset(), Some(4));
    assert!(matches!(durability.close(), Err(DurabilityError::Failed(_))));
    // What was acknowledged is on disk; the write that was never confirmed may be too.
    let (log, _) = open(dir.path());
    let acknowledged: Vec<_> = (0..5).map(|o| (o, payload(o))).collect();
    assert_eq!(read_from(&log, 0)[..5], acknowledged[..]);
}

#[test]
fn failing_on_purpose_refuses_later_appends_and_names_the_cause() {
    let dir = tempdir();
    let durability = start(dir.path(), DurabilityOptions::default());
    let watch = durability.durable_offset_watch();
    let before = durability.append_tx(payload(0)).unwrap();
    durability.wait_durable(before, deadline()).unwrap();
    durability.fail("a record could not be logged");
    assert!(
        matches!(durability.append_tx(payload(1)), Err(DurabilityError::Failed(why)) if why.contains("could not be logged"))
    );
    // What was durable stays so.
    durability.wait_durable(before, deadline()).unwrap();
    // Waiting for the refused transaction's offset reports the failure, not "never appended".
    let refused = durability.next_tx_offset();
    assert!(matches!(
        durability.wait_durable(refused, deadline()),
        Err(DurabilityError::Failed(_))
    ));
    let mut watch2 = watch.clone();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert!(matches!(
        runtime.block_on(watch2.wait_for(refused)),
        Err(DurabilityError::Failed(_))
    ));
    assert_eq!(watch.failure().as_deref(), Some("a record could not be logged"));
    assert_eq!(durability.failure(), watch.failure());
}

/// Counts its wake-ups.
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_new_durable_offset_wakes_only_the_tasks_it_satisfies() {
    use std::future::Future;
    use std::sync::atomic::Ordering::SeqCst;
    use std::task::{Context, Poll};
    let dir = tempdir();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let (entered_tx, entered) = std::sync::mpsc::channel::<u64>();
    let gate = std::sync::Mutex::new(gate);
    let options = DurabilityOptions::default().before_sync(move |last| {
        let _ = entered_tx.send(last);
        let _ = gate.lock().unwrap().recv();
        Ok(())
    });
    let durability = start(dir.path(), options);
    // Offset 0 is written and its fsync held; offset 1 queues behind it.
    durability.append_tx(payload(0)).unwrap();
    assert_eq!(entered.recv_timeout(Duration::from_secs(30)).unwrap(), 0);
    durability.append_tx(payload(1)).unwrap();
    let wakers: Vec<Arc<CountingWaker>> = (0..2).map(|_| Arc::new(CountingWaker(0.into()))).collect();
    let mut waits: Vec<_> = (0..2u64)
        .map(|o| {
            let mut watch = durability.durable_offset_watch();
            Box::pin(async move { watch.wait_for(o).await })
        })
        .collect();
    for (wait, waker) in waits.iter_mut().zip(&wakers) {
        let waker = std::task::Waker::from(waker.clone());
        assert!(wait.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    }
    release.send(()).unwrap();
    assert_eq!(
        entered.recv_timeout(Duration::from_secs(30)).unwrap(),
        1,
        "the second batch reaches its fsync"
    );
    // Offset 0 is durable now (published before the next batch began).
    assert_eq!(wakers[0].0.load(SeqCst), 1);
    assert_eq!(
        wakers[1].0.load(SeqCst),
        0,
        "the waiter for offset 1 is not woken by offset 0"
    );
    let waker = std::task::Waker::from(wakers[0].clone());
    assert!(matches!(
        waits[0].as_mut().poll(&mut Context::from_waker(&waker)),
        Poll::Ready(Ok(()))
    ));
    release.send(()).unwrap();
    // The writer wakes tasks right after it publishes; give it until the deadline.
    let until = Instant::now() + Duration::from_secs(30);
    while wakers[1].0.load(SeqCst) == 0 && Instant::now() < until {
        std::thread::yield_now();
    }
    assert_eq!(wakers[1].0.load(SeqCst), 1);
    drop(release);
    durability.close().unwrap();
}
