//! What keeping a view current costs per transaction, next to a plain table
//! subscription of the same rows.
//!
//! An in-memory database (the engine's `Database`, in process) runs
//! `tests/modules/views` built against the crates.io `spacetimedb` crate, seeded with
//! `ITEMS` items and as many identical `plain_item`s, half of each priced above 100. One
//! in-process subscriber (the WebSocket client's queue, drained after every call)
//! subscribes to the same rows either way:
//!
//! - **table**: `SELECT * FROM plain_item WHERE price > 100`, while each transaction
//!   flips one plain item's price across 100 (`set_plain_price`): no view reads
//!   `plain_item`, so the commit does no view work.
//! - **view**: `SELECT * FROM expensive_items` (an anonymous view over `item`), while
//!   each transaction flips one item's price (`set_price`): the commit re-runs the view
//!   (an index range scan of about `ITEMS / 2` rows in the module) and diffs its rows.
//! - **per_caller**: 100 identities that own no item, each subscribed to its own
//!   `my_items` (a per-caller view reading `item` by `owner = sender`), while each
//!   transaction moves an owner's item between 50 and 60. Read sets are index keys and
//!   ranges: the change falls outside every subscriber's key and outside
//!   `expensive_items`' range (`price >= 101`), so no view runs. With table-granular
//!   read sets all 101 views ran on every such transaction.
//!
//! Each iteration is one `Database::call` (the HTTP call path: connect, reducer,
//! disconnect, commit funnel, subscriber update), so the difference between the two is
//! the view's upkeep.
//!
//! Run with `cargo bench -p spacetime-benches --bench views`.
//!
//! Measured 2026-12-07 (release, 2 shared cores, `ITEMS` = 1,000, so the view holds
//! about 500 rows): **table** 15.5 µs per transaction (13.2–18.5), **view** 304 µs
//! (239–400). A view is evaluated again in full when its read set changes, so its
//! upkeep grows with the rows it reads and returns, not with the size of the change.
//! **per_caller**: 37.8 µs (32.6–43.1) with index-key read sets, against 476 µs
//! (459–496) for the same tree built with table-granular read sets (every key read
//! counted as the whole table), where all 101 views ran on each transaction.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spacetime_engine::module_logs::ModuleLogs;
use spacetime_engine::subscription::{ClientHandle, Outgoing};
use spacetime_engine::{ClientRequest, Database};
use spacetime_host::{HostConfig, HostRuntime};
use spacetime_protocol::v2::{ClientMessage, Subscribe};
use spacetime_protocol::QuerySetId;
use spacetime_sats::{ConnectionId, Identity};
use spacetime_testing::modules::{build_module, Bindings, ModuleCrate};
use std::sync::Arc;
use tokio::runtime::Runtime;
use tokio::sync::mpsc::Receiver;

const ITEMS: u64 = 1_000;

/// `tests/modules/views`.
const VIEWS: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "views-module",
    upstream_package: "upstream-views",
};

/// A database seeded with items and plain items, and its owner.
fn database(rt: &Runtime) -> (Database, Identity) {
    let wasm = std::fs::read(build_module(VIEWS, Bindings::Upstream)).expect("the module builds");
    let runtime = HostRuntime::new(HostConfig::default()).expect("the engine starts");
    let program = runtime.load(&wasm).expect("the module loads");
    let owner = Identity::from_claims("bench", "owner");
    let db = rt
        .block_on(Database::start(
            Identity::from_claims("bench", "db"),
            owner,
            program,
            Arc::new(ModuleLogs::in_memory()),
            None,
            "bench",
        ))
        .expect("the database starts");
    for i in 0..ITEMS {
        let price = if i % 2 == 0 { 50 } else { 150 };
        for reducer in ["add_item", "add_plain"] {
            let args = serde_json::json!([format!("item {i}"), price]);
            let outcome = rt.block_on(db.call(owner, None, reducer.into(), args)).expect("seeds");
            assert!(outcome.result.is_ok(), "{reducer}: {:?}", outcome.result);
        }
    }
    (db, owner)
}

/// Connects in-process subscriber number `n` (its own identity and connection) to
/// `query`, waiting for its initial rows.
fn subscribe(rt: &Runtime, db: &Database, n: u128, query: &str) -> (ClientHandle, Receiver<Outgoing>) {
    let identity = Identity::from_claims("bench", &format!("subscriber {n}"));
    let (handle, mut queue) = ClientHandle::new(identity, ConnectionId::from_u128(n + 1));
    let (reply, accepted) = tokio::sync::oneshot::channel();
    db.client(ClientRequest::Connect {
        client: handle.clone(),
        token: String::new(),
        jwt: None,
        reply,
    })
    .expect("the database runs");
    rt.block_on(accepted).expect("a reply").expect("connected");
    let message = ClientMessage::Subscribe(Subscribe {
        request_id: 1,
        query_set_id: QuerySetId { id: 1 },
        query_strings: vec![query.to_owned()],
    });
    db.client(ClientRequest::Message {
        connection_id: handle.connection_id,
        message,
    })
    .expect("the database runs");
    // `InitialConnection`, then the subscription's initial rows.
    for _ in 0..2 {
        let out = rt.block_on(queue.recv()).expect("the client is registered");
        handle.flushed(out.body.len());
    }
    (handle, queue)
}

/// Takes every queued message off `queue`, as a socket writer would; returns how many.
fn drain(handle: &ClientHandle, queue: &mut Receiver<Outgoing>) -> usize {
    let mut n = 0;
    while let Ok(out) = queue.try_recv() {
        handle.flushed(out.body.len());
        n += 1;
    }
    n
}

fn upkeep(c: &mut Criterion) {
    let rt = Runtime::new().expect("a tokio runtime");
    let (db, owner) = database(&rt);
    let mut group = c.benchmark_group("views");
    group.throughput(Throughput::Elements(1));
    for (name, query, reducer) in [
        ("table", "SELECT * FROM plain_item WHERE price > 100", "set_plain_price"),
        ("view", "SELECT * FROM expensive_items", "set_price"),
    ] {
        let (handle, mut queue) = subscribe(&rt, &db, 0, query);
        let mut i: u64 = 0;
        // Check once that a call reaches the subscriber, so the numbers measure that.
        let flip = |i: u64| serde_json::json!([i % ITEMS + 1, if (i / ITEMS) % 2 == 0 { 250 } else { 50 }]);
        let outcome = rt
            .block_on(db.call(owner, None, reducer.into(), flip(i)))
            .expect("runs");
        assert!(outcome.result.is_ok(), "{reducer}: {:?}", outcome.result);
        i += 1;
        let updates = rt.block_on(async {
            let first = queue.recv().await.expect("an update");
            handle.flushed(first.body.len());
            1 + drain(&handle, &mut queue)
        });
        assert!(updates >= 1, "the subscriber got the change");
        group.bench_function(name, |b| {
            b.iter(|| {
                let outcome = rt.block_on(db.call(owner, None, reducer.into(), flip(i)));
                i += 1;
                drain(&handle, &mut queue);
                outcome
            })
        });
        db.client(ClientRequest::Disconnect { client: handle })
            .expect("the database runs");
    }
    group.finish();
}

/// `PER_CALLER_SUBSCRIBERS` identities, none owning an item, each subscribed to its own
/// `my_items` (a per-caller view reading `item` through its `owner` index), while each
/// transaction moves the price of an item the database owner owns between 50 and 60
/// (outside the range `expensive_items` reads).
fn per_caller(c: &mut Criterion) {
    let rt = Runtime::new().expect("a tokio runtime");
    let (db, owner) = database(&rt);
    let subscribers: Vec<_> = (1..=PER_CALLER_SUBSCRIBERS)
        .map(|n| subscribe(&rt, &db, n, "SELECT * FROM my_items"))
        .collect();
    let mut group = c.benchmark_group("views");
    group.throughput(Throughput::Elements(1));
    let mut i: u64 = 0;
    group.bench_function("per_caller", |b| {
        b.iter(|| {
            // The items priced 50 (odd ids), moved to 60 and back: below
            // `expensive_items`' range, so that view is not run either.
            let cheap = ITEMS / 2;
            let price = if (i / cheap) % 2 == 0 { 60 } else { 50 };
            let args = serde_json::json!([2 * (i % cheap) + 1, price]);
            let outcome = rt.block_on(db.call(owner, None, "set_price".into(), args));
            i += 1;
            outcome
        })
    });
    group.finish();
    for (handle, mut queue) in subscribers {
        // Their views did not change: nothing was sent (beyond a pending flush).
        drain(&handle, &mut queue);
        db.client(ClientRequest::Disconnect { client: handle })
            .expect("the database runs");
    }
}

/// How many per-caller subscribers `per_caller` connects.
const PER_CALLER_SUBSCRIBERS: u128 = 100;

criterion_group!(benches, upkeep, per_caller);
criterion_main!(benches);
