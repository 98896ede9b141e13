//! The transfer workload (100,000 accounts, `tests/modules/bench`) in memory versus
//! with every committed transaction appended to a commit log, as a durable database's
//! actor does: `cargo bench -p spacetime-benches --bench durable_transfer`.
//!
//! The server's actor is private to `spacetime-server`, so this drives the same parts
//! it does, in the same order, on one thread: the module host runs the reducer, and
//! the committed rows go to `spacetime_commitlog::Durability` (group commit on its
//! writer thread); the run ends once the last transaction is durable. Each mode runs
//! `TRANSFERS` calls, `ROUNDS` times alternately; the best throughputs and their
//! ratio are printed.

use spacetime_benches::BenchDb;
use spacetime_commitlog::{Commitlog, CommitlogOptions, Durability, DurabilityOptions};
use std::time::{Duration, Instant};

const ACCOUNTS: u32 = 100_000;
const TRANSFERS: u32 = 200_000;


/// Runs the workload; with `log`, appends every transaction and waits for the last.
/// Returns the whole time and the part spent waiting for the writer at the end.
fn run(log: Option<&Durability>) -> (Duration, Duration) {
    let mut db = BenchDb::new();
    db.seed(ACCOUNTS, 1_000_000);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let start = Instant::now();
    let mut last = None;
    for _ in 0..TRANSFERS {
        // xorshift: a fixed, cheap sequence of account pairs.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let from = (state % u64::from(ACCOUNTS)) as u32;
        let to = ((state >> 32) % u64::from(ACCOUNTS)) as u32;
        let outcome = db.transfer(from, to, 1);
        let tx = outcome.result.unwrap_or_else(|e| panic!("transfer {from} -> {to} fails: {e}"));
        if let Some(log) = log {
            last = Some(log.append_tx(spacetime_server::encode_tx_record(&tx)).expect("the log writer accepts the transaction"));
        }
    }
    let calls_done = Instant::now();
    if let (Some(log), Some(last)) = (log, last) {
        log.wait_durable(last, None).expect("the log becomes durable");
    }
    (start.elapsed(), calls_done.elapsed())
}

/// Alternating rounds of each mode, so load from elsewhere on the machine hits both
/// alike; the best round of each is reported.
const ROUNDS: usize = 3;

fn main() {
    let per_sec = |d: Duration| f64::from(TRANSFERS) / d.as_secs_f64();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (log, _) = Commitlog::open(dir.path(), CommitlogOptions::default()).expect("the commit log opens");
    let durability = Durability::start(log, DurabilityOptions::default()).expect("the writer starts");
    let (mut memory, mut durable, mut tail) = (0f64, 0f64, Duration::ZERO);
    for _ in 0..ROUNDS {
        memory = memory.max(per_sec(run(None).0));
        let (time, waited) = run(Some(&durability));
        durable = durable.max(per_sec(time));
        tail = tail.max(waited);
    }
    println!("transfer, {ACCOUNTS} accounts, {TRANSFERS} calls, best of {ROUNDS}");
    println!("  in memory: {memory:>10.0} tx/s");
    println!("  durable:   {durable:>10.0} tx/s ({:.0}% of in memory)", 100.0 * durable / memory);
    println!("  longest wait for the last fsync after the calls: {tail:?}");
}
