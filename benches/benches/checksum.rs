//! The rolling checksum's cost per transaction (issue 17 item 6, design §9): a leader
//! folds each committed transaction's rows (`RollingChecksum::apply_changes`), a
//! follower decodes each logged record and folds it (`fold_payload`). Measured on a
//! real transaction of the transfer workload (`tests/modules/bench`: two account rows
//! updated, so two deletes and two inserts), next to encoding its log record, which
//! every durable commit pays already:
//! `cargo bench -p spacetime-benches --bench checksum`.
//!
//! Results (2-core dev box, shared with other builds; 2026-12-07): one transfer is 4
//! row changes of 48 row bytes; the leader's fold costs 544 ns (95 % CI 522-568 ns,
//! about 136 ns per row: one BLAKE3 compression each), the follower's decode and
//! fold 713 ns, against 50 ns to encode the record. Next to a transfer's ~25 us per
//! transaction (about 40k transactions/s pipelined) that is about 2 %. A second run
//! on a busier machine gave 682 / 956 / 65 ns; hashing from a stack buffer instead
//! of an incremental hasher did not help (the compression function dominates).

use criterion::{criterion_group, criterion_main, Criterion};
use spacetime_benches::BenchDb;
use spacetime_engine::storage::checksum::RollingChecksum;
use spacetime_engine::storage::record;
use std::hint::black_box;

fn checksum(c: &mut Criterion) {
    let mut db = BenchDb::new();
    db.seed(1_000, 1_000_000);
    let tx = db
        .transfer(1, 2, 5)
        .result
        .unwrap_or_else(|e| panic!("a transfer fails: {e}"));
    let rows: usize = tx.tables.iter().map(|t| t.inserts.len() + t.deletes.len()).sum();
    let bytes: usize = (tx.tables.iter())
        .flat_map(|t| t.inserts.iter().chain(&t.deletes))
        .map(|r| r.len())
        .sum();
    eprintln!("one transfer: {rows} row changes, {bytes} row bytes");
    let payload = record::encode_tx(&tx);

    let mut group = c.benchmark_group("checksum_per_transfer");
    group.bench_function("leader_fold", |b| {
        let mut sum = RollingChecksum::EMPTY;
        b.iter(|| {
            for t in &black_box(&tx).tables {
                sum.apply_changes(&t.table_name, &t.deletes, &t.inserts);
            }
            black_box(sum)
        })
    });
    group.bench_function("follower_decode_and_fold", |b| {
        let mut sum = RollingChecksum::EMPTY;
        b.iter(|| {
            sum.fold_payload(black_box(&payload)).unwrap_or_else(|e| panic!("{e}"));
            black_box(sum)
        })
    });
    group.bench_function("encode_record_for_comparison", |b| {
        b.iter(|| black_box(record::encode_tx(black_box(&tx))))
    });
    group.finish();
}

criterion_group!(benches, checksum);
criterion_main!(benches);
