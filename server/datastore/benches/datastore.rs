//! Criterion benchmarks of the datastore's per-row paths on a 100,000-row table:
//! inserting, a primary-key point lookup, and a primary-key update.
//!
//! Run with `cargo bench -p spacetime-datastore`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use spacetime_datastore::{Datastore, TableBuilder};
use spacetime_sats::bsatn::{to_vec, Encode};
use spacetime_sats::{AlgebraicType, IndexId, TableId, Typespace};
use std::hint::black_box;

const ROWS: u64 = 100_000;

fn row(id: u64, age: u32) -> Vec<u8> {
    let mut out = Vec::new();
    id.encode(&mut out);
    format!("person number {id}").encode(&mut out);
    age.encode(&mut out);
    out
}

fn setup() -> (Datastore, TableId, IndexId) {
    let def = TableBuilder::new("person")
        .column("id", AlgebraicType::U64)
        .column("name", AlgebraicType::String)
        .column("age", AlgebraicType::U32)
        .primary_key("id")
        .btree(&["age"])
        .build();
    let mut ds = Datastore::new();
    let table = ds.create_table(&def, &Typespace::default()).expect("valid table");
    let pk = ds.index_id_from_name("person_id_idx_btree").expect("pk index");
    (ds, table, pk)
}

fn filled() -> (Datastore, TableId, IndexId) {
    let (mut ds, table, pk) = setup();
    let mut tx = ds.begin_mut_tx();
    for id in 0..ROWS {
        tx.insert_bsatn(table, &row(id, (id % 100) as u32)).expect("insert");
    }
    tx.commit();
    (ds, table, pk)
}

fn bench(c: &mut Criterion) {
    let rows: Vec<Vec<u8>> = (0..ROWS).map(|id| row(id, (id % 100) as u32)).collect();
    let mut group = c.benchmark_group("datastore");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS));
    group.bench_function("insert 100k rows (one tx)", |b| {
        b.iter_batched(
            setup,
            |(mut ds, table, _)| {
                let mut tx = ds.begin_mut_tx();
                for r in &rows {
                    tx.insert_bsatn(table, r).expect("insert");
                }
                black_box(tx.commit());
                ds
            },
            BatchSize::LargeInput,
        )
    });

    let (mut ds, table, pk) = filled();
    let keys: Vec<Vec<u8>> = (0..ROWS).map(|i| to_vec(&((i * 7919) % ROWS))).collect();
    group.bench_function("pk point lookup x100k", |b| {
        b.iter(|| {
            for k in &keys {
                let found = ds.index_scan_point_bsatn(pk, k).expect("scan").next().expect("row");
                black_box(found.bytes());
            }
        })
    });

    let updates: Vec<Vec<u8>> = (0..ROWS).map(|id| row(id, 1000 + (id % 7) as u32)).collect();
    group.bench_function("pk update x100k (one tx, indexed column changes)", |b| {
        b.iter(|| {
            let mut tx = ds.begin_mut_tx();
            for r in &updates {
                tx.update_bsatn(table, pk, r).expect("update");
            }
            // Roll back so every iteration updates the same starting state.
            tx.rollback();
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
