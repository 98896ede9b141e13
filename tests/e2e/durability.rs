//! Durability across crashes (`TestServer::restart` SIGKILLs the server): rows and
//! sequences come back from the commit log, schedules resume, a damaged log tail is cut
//! with a message saying what was dropped, and under steady load every acknowledged
//! call survives and no transaction is half-applied.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings, ModuleCrate};
use spacetime_testing::server::TestServer;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// `tests/modules/bench`: accounts and transfers between them.
const BENCH: ModuleCrate =
    ModuleCrate { workspace: "tests/modules", package: "bench-module", upstream_package: "upstream-bench" };

/// How long a scheduled reducer or a load round may take to show progress.
const PROGRESS: Duration = Duration::from_secs(30);

/// Every commit-log segment under the data directory.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(segments(&path));
        } else if path.to_string_lossy().ends_with(".stdb.log") {
            found.push(path);
        }
    }
    found.sort();
    found
}

#[test]
fn rows_and_sequences_survive_a_crash() {
    let mut fx = Fixture::new(CONSTRAINTS, Bindings::Ours, "durable-rows");
    for name in ["Alice", "Bob", "Carol"] {
        fx.call("add", &[name]).ok();
    }
    fx.call("remove", &["Carol"]).ok();
    fx.server.restart();
    let rows = fx.sql("SELECT * FROM person");
    assert!(rows.contains("\"Alice\"") && rows.contains("\"Bob\""), "{rows}");
    assert!(!rows.contains("Carol"), "a logged delete is replayed: {rows}");
    // Carol had id 3: the sequence continues above every value it handed out.
    fx.call("add", &["Dave"]).ok();
    let dave = fx.sql("SELECT id FROM person WHERE name = 'Dave'");
    assert!(dave.lines().any(|l| l.trim() == "4"), "Dave gets id 4, never a reused one: {dave}");
    // `init` does not run again, and a second restart replays the same log again.
    fx.server.restart();
    let rows = fx.sql("SELECT * FROM person");
    assert_eq!(rows.matches('"').count(), 6, "Alice, Bob and Dave, once each: {rows}");
}

#[test]
fn scheduled_reducers_resume_after_a_crash() {
    let mut fx = Fixture::new(SCHEDULE, Bindings::Ours, "durable-schedule");
    fx.call("start_ticking", &["20"]).ok();
    let count = |fx: &Fixture| fx.sql("SELECT * FROM fired").matches("\"tick\"").count();
    poll("a first tick", PROGRESS, || (count(&fx) > 0).then_some(()), || fx.sql("SELECT * FROM fired"));
    fx.server.restart();
    let before = count(&fx);
    assert!(before > 0, "ticks before the crash were logged");
    poll("a tick after the restart", PROGRESS, || (count(&fx) > before).then_some(()), || fx.sql("SELECT * FROM fired"));
}

#[test]
fn a_damaged_log_tail_is_cut_and_reported() {
    let mut fx = Fixture::new(CONSTRAINTS, Bindings::Ours, "durable-damaged");
    for name in ["Alice", "Bob", "Carol"] {
        fx.call("add", &[name]).ok();
    }
    // Carol's insert is the last commit (the module has no connect/disconnect reducers);
    // tearing its last bytes is what a crash in the middle of a write leaves.
    let segment = segments(&fx.server.data_dir()).pop().expect("a commit-log segment in the data directory");
    let len = std::fs::metadata(&segment).expect("segment metadata").len();
    let file = std::fs::OpenOptions::new().write(true).open(&segment).expect("open the segment");
    file.set_len(len - 3).expect("truncate the segment");
    drop(file);
    fx.server.restart();
    let rows = fx.sql("SELECT * FROM person");
    assert!(rows.contains("\"Alice\"") && rows.contains("\"Bob\""), "earlier commits are kept: {rows}");
    assert!(!rows.contains("Carol"), "the torn commit is dropped: {rows}");
    let logs = fx.logs(100);
    assert!(
        logs.iter().any(|l| l.contains("commit log damaged at") && l.contains("dropped 1 commit")),
        "the module log says what was dropped: {logs:?}"
    );
    // The log goes on after the cut.
    fx.call("add", &["Dave"]).ok();
    fx.server.restart();
    assert!(fx.sql("SELECT * FROM person").contains("\"Dave\""));
}

/// Balances after the first `k` transfers of the load: transfer `i` moves 1 from
/// account `i % N` to `(i + 1) % N`, starting from `START` each.
fn expected_balances(k: u64) -> Vec<i64> {
    let mut balances = vec![START; N as usize];
    for i in 0..k {
        balances[(i % N) as usize] -= 1;
        balances[((i + 1) % N) as usize] += 1;
    }
    balances
}

const N: u64 = 7;
const START: i64 = 1_000_000;

/// The balances as SQL shows them, by account id.
fn balances(cli: &Cli, db: &str) -> Vec<i64> {
    let out = cli.sql(db, "SELECT id, balance FROM account").ok().stdout;
    let mut rows: Vec<(u64, i64)> = out
        .lines()
        .filter_map(|l| {
            let mut cells = l.split('|').map(str::trim);
            Some((cells.next()?.parse().ok()?, cells.next()?.parse().ok()?))
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, b)| b).collect()
}

#[test]
fn acknowledged_calls_survive_crashes_under_load() {
    let rounds = if std::env::var_os("SPACETIME_STRESS").is_some() { 20 } else { 3 };
    let wasm = build_module(BENCH, Bindings::Ours);
    let mut server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&wasm, Some("durable-load"));
    cli.call("durable-load", "seed", &["0", &N.to_string(), &START.to_string()]).ok();
    let mut done = 0u64;
    for round in 0..rounds {
        let acked = Arc::new(AtomicU64::new(done));
        let stop = Arc::new(AtomicBool::new(false));
        let loader = {
            let (acked, stop) = (acked.clone(), stop.clone());
            // Anyone may call `transfer`; the loader is a user of its own.
            let caller = Cli::new(&server);
            std::thread::spawn(move || {
                let mut i = acked.load(Ordering::SeqCst);
                while !stop.load(Ordering::SeqCst) {
                    let (from, to) = ((i % N).to_string(), ((i + 1) % N).to_string());
                    if !caller.call("durable-load", "transfer", &[&from, &to, "1"]).success() {
                        // Killed mid-call: this transfer may or may not have committed.
                        break;
                    }
                    i += 1;
                    acked.store(i, Ordering::SeqCst);
                }
            })
        };
        let target = done + 3 + random_below(17);
        poll(
            "acknowledged transfers",
            PROGRESS,
            || (acked.load(Ordering::SeqCst) >= target).then_some(()),
            || format!("{} acknowledged", acked.load(Ordering::SeqCst)),
        );
        server.restart();
        stop.store(true, Ordering::SeqCst);
        loader.join().expect("the load thread");
        let acked = acked.load(Ordering::SeqCst);
        let found = balances(&cli, "durable-load");
        assert_eq!(found.iter().sum::<i64>(), START * N as i64, "round {round}: no transfer is half-applied: {found:?}");
        // Every acknowledged transfer is there, plus at most the one in flight at the kill.
        done = (acked..=acked + 1)
            .find(|&k| expected_balances(k) == found)
            .unwrap_or_else(|| panic!("round {round}: {acked} acknowledged transfers, but the balances are {found:?}"));
    }
}

/// A number below `n` that differs from run to run (the kill moment of a load round).
fn random_below(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) % n
}
