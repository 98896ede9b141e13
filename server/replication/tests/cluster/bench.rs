//! Measurements against the three-member etcd cluster, ignored by default (figures,
//! not assertions; run with
//! `cargo test -p spacetime-replication --test cluster -- --ignored --nocapture <name>`):
//! - `append_latency`: the fenced `Txn` of one batch (compare epoch and head, put the
//!   batch and the head), one in flight at a time, as the writer sends them, by size;
//! - `append_latency_by_endpoint`: the same through each route (writes pinned to the
//!   etcd leader, or one member only);
//! - `writer_throughput` and `writer_closed_loop_latency`: the group-commit writer,
//!   standalone versus replicated;
//! - `etcd_ceiling`: bytes per second of batches before an append's p99 passes 10 ms.

use crate::etcd::{Connect, EtcdCluster};
use crate::support::elect;
use spacetime_commitlog::{encode_commit, AppendOutcome, Batch, ReplicatedLog};
use spacetime_replication::{EtcdLog, ReplicaRole};
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Appends one commit at tx offset `offset` with a `size`-byte record to `log` (which
/// must accept it) and returns how long the append took.
fn timed_append(log: &mut EtcdLog, offset: u64, size: usize) -> Duration {
    let epoch = log.epoch();
    let mut frames = Vec::new();
    encode_commit(&mut frames, epoch, offset, &vec![(offset % 251) as u8; size]);
    let batch = Batch {
        epoch,
        first: offset,
        last: offset,
        frames: &frames,
    };
    let start = Instant::now();
    let outcome = log.append(batch);
    let took = start.elapsed();
    assert!(matches!(outcome, AppendOutcome::Committed), "{outcome}");
    took
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
            let took = timed_append(&mut log, o, size);
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

/// Latency of one append of a 2 KB batch (one in flight), by the route the request
/// takes: through the connection to every member (writes pinned to the etcd leader
/// once it is known, `Cluster::write_client`), and through a connection to each
/// single member: a member that is not the etcd leader forwards the proposal and
/// answers after applying it itself.
#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn append_latency_by_endpoint() {
    use spacetime_replication::{Cluster, ClusterOptions};
    let etcd = EtcdCluster::start();
    let leader = etcd.leader_index();
    println!("etcd leader: member {leader:?}");
    let routes = std::iter::once(("all endpoints (writes pinned to the leader)".to_owned(), etcd.connect())).chain(
        etcd.client_urls().into_iter().enumerate().map(|(i, url)| {
            let role = if Some(i) == leader { "leader" } else { "follower" };
            let cluster =
                Cluster::connect(std::slice::from_ref(&url), ClusterOptions::default()).expect("connect to one member");
            (format!("member {i} only ({role})"), cluster)
        }),
    );
    println!("| route | n | p50 | p90 | p99 |");
    println!("|---|---:|---:|---:|---:|");
    for (i, (label, cluster)) in routes.enumerate() {
        let keys = cluster.db(&format!("route-{i}"));
        let elected = elect(&cluster, &keys, "n1");
        let epoch = elected.epoch();
        let mut log = EtcdLog::open(cluster.clone(), keys, epoch).expect("open the log");
        let mut times = Vec::new();
        // The first 20 appends warm the connection (and let the leader be found).
        for o in 0..1020u64 {
            let took = timed_append(&mut log, o, 2000);
            if o >= 20 {
                times.push(took);
            }
        }
        times.sort();
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
        println!(
            "| {label} | {} | {} | {} | {} |",
            times.len(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.9)),
            ms(percentile(&times, 0.99))
        );
    }
}

/// Closed-loop latency through the group-commit writer, standalone versus replicated:
/// `producers` threads each append a 200-byte transaction and wait until it is
/// durable before the next (one producer is the benchmark's "one connection, one
/// call in flight").
#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn writer_closed_loop_latency() {
    use crate::support::{writer, Elected};
    use spacetime_commitlog::{Commitlog, CommitlogOptions, Durability, DurabilityOptions};

    fn run(label: &str, d: &Durability, producers: usize, each: usize) {
        let syncs = d.stats().syncs;
        let start = Instant::now();
        let mut times: Vec<Duration> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..producers)
                .map(|_| {
                    s.spawn(|| {
                        (0..each)
                            .map(|_| {
                                let t = Instant::now();
                                let o = d.append_tx([7u8; 200]).expect("append");
                                d.wait_durable(o, None).expect("durable");
                                t.elapsed()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            threads.into_iter().flat_map(|t| t.join().expect("producer")).collect()
        });
        let took = start.elapsed();
        times.sort();
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
        println!(
            "| {label} | x{producers} | {:.0} | {} | {} | {} | {} |",
            times.len() as f64 / took.as_secs_f64(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.9)),
            ms(percentile(&times, 0.99)),
            d.stats().syncs - syncs
        );
    }
    let local = tempfile::tempdir().expect("temp dir");
    let (log, _) = Commitlog::open(local.path(), CommitlogOptions::default()).expect("open the log");
    let standalone = Durability::start(log, DurabilityOptions::default()).expect("start the writer");
    let elected = Elected::start();
    let replicated = writer(
        &elected.cluster,
        &elected.keys,
        elected.dir.path(),
        elected.leader.epoch(),
        DurabilityOptions::default(),
    );
    println!("| writer | producers | tx/s | p50 | p90 | p99 | batches |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for round in 0..2 {
        for producers in [1, 16] {
            let each = 1200 / producers;
            run(&format!("standalone (round {round})"), &standalone, producers, each);
            run(&format!("replicated (round {round})"), &replicated, producers, each);
        }
    }
    // Where a replicated append's time goes: every one waits for two members' WAL fsyncs.
    let leader = elected.etcd.leader_index().unwrap_or(0);
    for metric in [
        "etcd_disk_wal_fsync_duration_seconds",
        "etcd_disk_backend_commit_duration_seconds",
    ] {
        println!(
            "etcd leader (member {leader}) {}",
            elected.etcd.histogram_summary(leader, metric)
        );
    }
}

/// The etcd ceiling (design §12): bytes per second of batches the three members
/// take before an append's p99 passes 10 ms. `writers` leaders (one database each,
/// so their appends run in parallel as separate databases' would) each append
/// batches of `size` bytes back to back for 3 s; each line is one load level.
#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn etcd_ceiling() {
    let etcd = EtcdCluster::start();
    let cluster = etcd.connect();
    println!("| batch | writers | appends/s | MB/s | p50 | p99 |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut run = 0;
    for size in [16 << 10, 64 << 10, 256 << 10] {
        for writers in [1usize, 2, 4, 8] {
            run += 1;
            let stop = Instant::now() + Duration::from_secs(3);
            let mut times: Vec<Duration> = std::thread::scope(|s| {
                let threads: Vec<_> = (0..writers)
                    .map(|w| {
                        let cluster = cluster.clone();
                        s.spawn(move || {
                            let keys = cluster.db(&format!("ceiling-{run}-{w}"));
                            let leader = elect(&cluster, &keys, "n1");
                            let epoch = leader.epoch();
                            let mut log = EtcdLog::open(cluster.clone(), keys, epoch).expect("open the log");
                            let mut times = Vec::new();
                            let mut o = 0u64;
                            while Instant::now() < stop {
                                times.push(timed_append(&mut log, o, size));
                                o += 1;
                                // Trim now and then, as a leader does, so the store stays small.
                                if o % 64 == 0 {
                                    cluster
                                        .report_persisted(log.keys(), "n1", o - 1, ReplicaRole::Standby, None)
                                        .expect("report");
                                    log.trim().expect("trim");
                                }
                            }
                            drop(leader);
                            times
                        })
                    })
                    .collect();
                threads.into_iter().flat_map(|t| t.join().expect("writer")).collect()
            });
            times.sort();
            let n = times.len() as f64;
            let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
            println!(
                "| {} KiB | {writers} | {:.0} | {:.1} | {} | {} |",
                size >> 10,
                n / 3.0,
                n * size as f64 / 3.0 / 1e6,
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99))
            );
        }
    }
    let (file, in_use) = etcd.db_size(0).unwrap_or((0, 0));
    println!(
        "member 1's store after the runs: file {} MiB, in use {} MiB",
        file >> 20,
        in_use >> 20
    );
}
