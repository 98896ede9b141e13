//! Benchmarks of the commit log, fsync on, on the disk that holds the temp directory.
//!
//! - `append_confirmed/{1,8,64}`: that many producer threads each append a 100-byte
//!   record and wait until it is durable before appending the next (a client waiting
//!   for a confirmed result). Throughput must come from group commit: the run prints
//!   transactions per second next to fsyncs per second.
//! - `append_pipelined/{1,8,64}`: producers append without waiting (as the database
//!   thread does); the iteration ends when the last record is durable.
//! - `replay_1m`: reading back 1,000,000 records of 100 bytes.
//!
//! Run with `cargo bench -p spacetime-commitlog`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spacetime_commitlog::{Commitlog, CommitlogOptions, Durability, DurabilityOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PAYLOAD: [u8; 100] = [7; 100];

/// Totals over every iteration of one benchmark, to report fsyncs against transactions.
#[derive(Default)]
struct Totals {
    txs: u64,
    syncs: u64,
    elapsed: Duration,
}

impl Totals {
    fn report(&self, name: &str) {
        let secs = self.elapsed.as_secs_f64().max(f64::EPSILON);
        eprintln!(
            "{name}: {:.0} tx/s, {:.0} fsync/s, {:.1} tx per fsync ({} txs, {} fsyncs)",
            self.txs as f64 / secs,
            self.syncs as f64 / secs,
            self.txs as f64 / self.syncs.max(1) as f64,
            self.txs,
            self.syncs
        );
    }
}

/// Runs `iters` appends split over `producers` threads; returns the time taken.
fn run_appends(producers: u64, iters: u64, confirmed: bool, totals: &mut Totals) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let (log, _) = Commitlog::open(dir.path(), CommitlogOptions::default()).expect("open log");
    let durability = Arc::new(Durability::start(log, DurabilityOptions::default()).expect("start writer"));
    let per_producer = iters.div_ceil(producers);
    let start = Instant::now();
    let threads: Vec<_> = (0..producers)
        .map(|_| {
            let durability = durability.clone();
            std::thread::spawn(move || {
                let mut last = 0;
                for _ in 0..per_producer {
                    last = durability.append_tx(PAYLOAD).expect("append");
                    if confirmed {
                        durability.wait_durable(last, None).expect("durable");
                    }
                }
                last
            })
        })
        .collect();
    let last = threads
        .into_iter()
        .map(|t| t.join().expect("producer"))
        .max()
        .unwrap_or(0);
    durability.wait_durable(last, None).expect("durable");
    let elapsed = start.elapsed();
    let stats = durability.stats();
    totals.txs += stats.txs;
    totals.syncs += stats.syncs;
    totals.elapsed += elapsed;
    elapsed
}

fn appends(c: &mut Criterion) {
    for (group_name, confirmed) in [("append_confirmed", true), ("append_pipelined", false)] {
        let mut group = c.benchmark_group(group_name);
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Elements(1));
        for producers in [1u64, 8, 64] {
            let mut totals = Totals::default();
            group.bench_function(producers.to_string(), |b| {
                b.iter_custom(|iters| run_appends(producers, iters, confirmed, &mut totals))
            });
            totals.report(&format!("{group_name}/{producers}"));
        }
        group.finish();
    }
}

fn replay(c: &mut Criterion) {
    const RECORDS: u64 = 1_000_000;
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let (mut log, _) = Commitlog::open(dir.path(), CommitlogOptions::default()).expect("open log");
        for _ in 0..RECORDS {
            log.append(&PAYLOAD).expect("append");
        }
        log.sync().expect("sync");
    }
    let (log, _) = Commitlog::open(dir.path(), CommitlogOptions::default()).expect("reopen log");
    let mut group = c.benchmark_group("replay");
    group.sample_size(10).throughput(Throughput::Elements(RECORDS));
    group.bench_function("1m_records_100B", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for item in log.replay_from(0) {
                let (_, record) = item.expect("replay");
                n += record.len() as u64;
            }
            assert_eq!(n, RECORDS * PAYLOAD.len() as u64);
        })
    });
    group.finish();
    let start = Instant::now();
    let (_, report) = Commitlog::open(dir.path(), CommitlogOptions::default()).expect("reopen log");
    eprintln!("open (verify) of {} commits: {:?}", report.commits, start.elapsed());
}

criterion_group!(benches, appends, replay);
criterion_main!(benches);
