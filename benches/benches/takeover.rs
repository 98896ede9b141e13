//! Failover catch-up: how long a standby takes from winning the election to serving
//! a confirmed call, for a database holding `SPACETIME_BENCH_TXS` transactions
//! (default 10,000) since its last snapshot, cold (today's path before the hot
//! standby: start the database from the local log, replaying all of them) versus hot
//! (the engine's follower, fed the leader's batches as they came, promoted in place).
//!
//! In process, with real commit logs on disk and `tests/modules/host-test`: a leader
//! (its writer's batches captured as the cluster's log receives them) runs HTTP calls
//! of `set_age` (each a `client_connected`, the reducer and a `client_disconnected`
//! transaction, plus the connection records) until its log holds the transactions;
//! then a follower on a second directory is fed every batch (appended to its own log,
//! fsynced, then applied, as `replica.rs` does), and the leader stops. Cold: the
//! leader's directory is started with `Database::start` under epoch 2. Hot: the
//! follower is promoted under epoch 2. Each is timed to its first confirmed call.
//!
//! Run with `cargo bench -p spacetime-benches --bench takeover`.
//!
//! Measured 2026-12-07 (release, 2 shared cores, 10,247 log records: 2,048 calls of
//! five records each, plus the seed), three runs: **cold** started in 32.8 / 25.2 /
//! 18.6 ms and served its first confirmed call at 39.3 / 33.3 / 24.5 ms; **hot**
//! promoted in 0.2 / 0.2 / 0.1 ms, first confirmed call at 1.0 / 2.3 / 0.6 ms. The
//! follower kept up with the leader as it was fed (74-95 batches appended, fsynced and
//! applied in 0.2 s). With `SPACETIME_BENCH_TXS=100000` (100,167 records): cold
//! 158.7 ms to the first confirmed call, hot 0.5 ms (the follower applied the leader's
//! 645 batches in 1.7 s, fsyncs included). Cold grows with the log since the snapshot;
//! hot does not.

use leader_log::{Captured, NoPrograms};
use spacetime_commitlog::split_commits;
use spacetime_engine::module_logs::ModuleLogs;
use spacetime_engine::storage::StorageConfig;
use spacetime_engine::Database;
use spacetime_host::{HostConfig, HostRuntime};
use spacetime_sats::Identity;
use spacetime_testing::modules::{build_module, Bindings, HOST_TEST};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

// The leader's captured batches and a program source, shared with the engine's tests.
#[path = "../../server/engine/tests/all/leader_log.rs"]
mod leader_log;

const HASH: &str = "host-test";

fn ids() -> (Identity, Identity) {
    (
        Identity::from_claims("bench", "db"),
        Identity::from_claims("bench", "owner"),
    )
}

async fn set_age(db: &Database, owner: Identity, age: u64) {
    let args = serde_json::json!(["p", age % 200]);
    let outcome = db
        .call(owner, None, "set_age".into(), args)
        .await
        .expect("the database runs");
    outcome.result.expect("set_age commits");
}

fn main() {
    let txs: u64 = std::env::var("SPACETIME_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let wasm = std::fs::read(build_module(HOST_TEST, Bindings::Ours)).expect("the module builds");
    let program = HostRuntime::new(HostConfig::default())
        .expect("the engine starts")
        .load(&wasm)
        .expect("the module loads");
    let rt = Runtime::new().expect("a runtime");
    let (a, b) = (tempfile::tempdir().expect("a dir"), tempfile::tempdir().expect("a dir"));
    let (identity, owner) = ids();
    let logs = || Arc::new(ModuleLogs::in_memory());
    rt.block_on(async {
        let captured = Captured::default();
        let storage = StorageConfig::new(a.path().to_owned(), 0).with_replication(1, Box::new(captured.clone()));
        let leader = Arc::new(
            Database::start(identity, owner, program.clone(), logs(), Some(storage), HASH)
                .await
                .expect("the leader starts"),
        );
        let args = serde_json::json!(["p", 1, 1]);
        let seeded = leader.call(owner, None, "add_person".into(), args).await.expect("runs");
        seeded.result.expect("add_person commits");
        // Calls in flight together share the writer's batches.
        let started = Instant::now();
        let mut age = 0u64;
        while leader.durable().and_then(|d| d.get()).unwrap_or(0) < txs {
            let calls: Vec<_> = (0..64)
                .map(|_| {
                    age += 1;
                    let (leader, a) = (leader.clone(), age);
                    tokio::spawn(async move { set_age(&leader, owner, a).await })
                })
                .collect();
            for call in calls {
                call.await.expect("the call task");
            }
        }
        let records = leader.durable().and_then(|d| d.get()).unwrap_or(0) + 1;
        println!(
            "leader: {records} log records ({age} HTTP calls) in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        leader.shutdown();
        leader.stopped().await;

        // The hot standby, fed the batches as the replica thread feeds them.
        let (follower, mut local) = Database::follow(
            identity,
            owner,
            program.clone(),
            logs(),
            StorageConfig::new(b.path().to_owned(), 0),
            HASH,
            Arc::new(NoPrograms),
        )
        .await
        .expect("the follower starts");
        let batches = captured.take();
        let fed = Instant::now();
        let n_batches = batches.len();
        for frames in batches {
            let commits = split_commits(&frames).expect("the batch verifies");
            let first = commits.first().expect("a commit").0.tx_offset;
            local
                .append_encoded(&frames, first, commits.len() as u64)
                .expect("appended");
            local.sync().expect("synced");
            follower.apply(frames).expect("the follower runs");
        }
        let mut applied = follower.applied().expect("a follower");
        applied.wait_for(records - 1).await.expect("applied");
        println!(
            "follower: {n_batches} batches appended, fsynced and applied in {:.1} s",
            fed.elapsed().as_secs_f64()
        );

        // Cold: the leader's directory started from its log.
        let storage = StorageConfig::new(a.path().to_owned(), 0)
            .expecting_data()
            .with_replication(2, Box::new(Captured::default()));
        let cold = Instant::now();
        let restarted = Database::start(identity, owner, program.clone(), logs(), Some(storage), HASH)
            .await
            .expect("starts from the log");
        let cold_started = cold.elapsed();
        set_age(&restarted, owner, 7).await;
        let cold_serving = cold.elapsed();
        restarted.shutdown();
        restarted.stopped().await;

        // Hot: the follower promoted in place.
        let hot = Instant::now();
        follower
            .promote(local, 2, Box::new(Captured::default()))
            .await
            .expect("promoted");
        let hot_promoted = hot.elapsed();
        set_age(&follower, owner, 7).await;
        let hot_serving = hot.elapsed();
        follower.shutdown();
        follower.stopped().await;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "takeover with {records} log records since the last snapshot:\n  cold (start from the local log): \
             started in {:.1} ms, first confirmed call at {:.1} ms\n  hot (promote the follower): promoted in \
             {:.1} ms, first confirmed call at {:.1} ms",
            ms(cold_started),
            ms(cold_serving),
            ms(hot_promoted),
            ms(hot_serving)
        );
    });
}
