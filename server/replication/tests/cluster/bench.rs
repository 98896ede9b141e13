//! Append latency through etcd-client (gRPC) against the three-member cluster:
//! each append is the fenced `Txn` of one batch (compare epoch and head, put the
//! batch and the head), one in flight at a time, as the writer sends them. Ignored
//! by default (figures, not assertions):
//! `cargo test -p spacetime-replication --test cluster -- --ignored --nocapture append_latency`

use crate::etcd::{Connect, EtcdCluster};
use crate::support::elect;
use spacetime_commitlog::{encode_commit, AppendOutcome, Batch, ReplicatedLog};
use spacetime_replication::EtcdLog;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn append_latency() {
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    println!("| payload per append | n | mean | p50 | p99 |");
    println!("|---:|---:|---:|---:|---:|");
    for (label, size, n) in [("256 B", 256, 400), ("4 KiB", 4 << 10, 300), ("64 KiB", 64 << 10, 150)] {
        let keys = cluster.db(&format!("bench-{size}"));
        let leader = elect(&cluster, &keys, "n1");
        let epoch = leader.epoch();
        let mut log = EtcdLog::open(cluster.clone(), keys, epoch).unwrap();
        let mut times = Vec::with_capacity(n);
        // The payload is the whole commit frame's record; a warm-up of 10 is not timed.
        for o in 0..(n as u64 + 10) {
            let mut frames = Vec::new();
            encode_commit(&mut frames, epoch, o, &vec![(o % 251) as u8; size]);
            let batch = Batch {
                epoch,
                first: o,
                last: o,
                frames: &frames,
            };
            let start = Instant::now();
            let outcome = log.append(batch);
            let took = start.elapsed();
            assert!(matches!(outcome, AppendOutcome::Committed), "{outcome}");
            if o >= 10 {
                times.push(took);
            }
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
        println!(
            "| {label} | {n} | {} | {} | {} |",
            ms(mean),
            ms(percentile(&times, 0.50)),
            ms(percentile(&times, 0.99))
        );
    }
    println!(
        "etcd data dir sizes after the run: {} / {} / {} bytes",
        etcd.data_size(0),
        etcd.data_size(1),
        etcd.data_size(2)
    );
}

/// Transactions per second through the group-commit writer, standalone versus
/// replicated through the cluster, 200-byte records: open loop (4 producers append
/// 10,000 each without waiting: the writer's bandwidth) and closed loop (16
/// producers each wait until their transaction is durable before the next, like
/// clients waiting for confirmed results).
#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn writer_throughput() {
    use crate::support::{writer, Elected};
    use spacetime_commitlog::{Commitlog, CommitlogOptions, Durability, DurabilityOptions};
    use std::sync::Arc;

    /// Runs `producers` threads of `each` appends; returns the time, tx count and batches.
    fn drive(durability: &Arc<Durability>, producers: u64, each: u64, closed: bool) -> (Duration, u64, u64) {
        let before = durability.stats().syncs;
        let start = Instant::now();
        let threads: Vec<_> = (0..producers)
            .map(|_| {
                let d = durability.clone();
                std::thread::spawn(move || {
                    for _ in 0..each {
                        let o = d.append_tx([7u8; 200]).expect("append");
                        if closed {
                            d.wait_durable(o, None).expect("durable");
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|p| p.join().expect("producer"));
        let last = durability.next_tx_offset() - 1;
        durability.wait_durable(last, None).expect("all durable");
        (start.elapsed(), producers * each, durability.stats().syncs - before)
    }
    let report = |label: &str, (took, txs, syncs): (Duration, u64, u64)| {
        println!(
            "{label}: {txs} tx in {:.2} s = {:.0} tx/s, {syncs} batches (mean {:.1} tx/batch)",
            took.as_secs_f64(),
            txs as f64 / took.as_secs_f64(),
            txs as f64 / syncs as f64
        );
    };
    let local = tempfile::tempdir().unwrap();
    let (log, _) = Commitlog::open(local.path(), CommitlogOptions::default()).unwrap();
    let standalone = Arc::new(Durability::start(log, DurabilityOptions::default()).unwrap());
    let elected = Elected::start();
    let replicated = Arc::new(writer(
        &elected.cluster,
        &elected.keys,
        elected.dir.path(),
        elected.leader.epoch(),
        DurabilityOptions::default(),
    ));
    for (label, d) in [("standalone", &standalone), ("replicated (3-member etcd)", &replicated)] {
        report(&format!("{label}, open loop"), drive(d, 4, 10_000, false));
        report(&format!("{label}, closed loop x16"), drive(d, 16, 200, true));
    }
}
