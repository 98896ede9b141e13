//! In-process benchmarks through the module host: an empty reducer call,
//! `transfer(from, to, amount)` between random accounts of a 100,000-row table, and
//! loading the module (compile, set-up, describe, validate), which a publish pays.
//!
//! Run with `cargo bench -p spacetime-benches --bench reducer`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spacetime_benches::{bench_module_wasm, BenchDb};
use spacetime_host::{HostConfig, HostRuntime};
use std::hint::black_box;

const ACCOUNTS: u32 = 100_000;

/// A fixed pseudo-random sequence of distinct account pairs (xorshift), so runs compare.
fn pairs(n: usize) -> Vec<(u32, u32)> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % u64::from(ACCOUNTS)) as u32
    };
    (0..n)
        .map(|_| {
            let from = next();
            let mut to = next();
            if to == from {
                to = (from + 1) % ACCOUNTS;
            }
            (from, to)
        })
        .collect()
}

fn reducer_calls(c: &mut Criterion) {
    let mut db = BenchDb::new();
    db.seed(ACCOUNTS, 1_000_000);
    // Measure only calls that do their work: check one of each first.
    if let Err(e) = db.empty().result {
        panic!("the empty reducer fails: {e}");
    }
    match db.transfer(1, 2, 5).result {
        Ok(tx) => assert_eq!(
            tx.tables.first().map(|t| t.inserts.len()),
            Some(2),
            "a transfer updates two rows"
        ),
        Err(e) => panic!("transfer fails: {e}"),
    }

    let mut group = c.benchmark_group("reducer");
    group.throughput(Throughput::Elements(1));
    group.bench_function("empty", |b| {
        b.iter(|| {
            let outcome = db.empty();
            debug_assert!(outcome.result.is_ok());
            black_box(outcome)
        })
    });

    let pairs = pairs(1 << 16);
    let mut i = 0;
    group.bench_function("transfer_100k_accounts", |b| {
        b.iter(|| {
            let (from, to) = pairs[i & 0xffff];
            i += 1;
            let outcome = db.transfer(from, to, 1);
            debug_assert!(outcome.result.is_ok());
            black_box(outcome)
        })
    });
    group.finish();
}

fn module_load(c: &mut Criterion) {
    let wasm = bench_module_wasm();
    let runtime = HostRuntime::new(HostConfig::default()).expect("the engine starts");
    let mut group = c.benchmark_group("module");
    group.sample_size(10);
    group.bench_function("load", |b| b.iter(|| black_box(runtime.load(&wasm).expect("loads"))));
    group.finish();
}

criterion_group!(benches, reducer_calls, module_load);
criterion_main!(benches);
