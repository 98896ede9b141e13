//! The transfer workload (100,000 accounts, `tests/modules/bench`) in memory versus
//! with every committed transaction appended to a commit log, as a durable database's
//! actor does: `cargo bench -p spacetime-benches --bench durable_transfer`.
//!
//! The server's actor is private to `spacetime-server`, so this drives the same parts
//! it does, in the same order, on one thread: the module host runs the reducer, and
//! the committed rows go to `spacetime_commitlog::Durability` (group commit on its
//! writer thread); the run ends once the last transaction is durable. Each mode runs
//! `SPACETIME_BENCH_TRANSFERS` calls (default 200,000), `ROUNDS` times alternately;
//! the best throughputs and their ratio are printed, with the writer's batches.
//! `SPACETIME_BENCH_MODE`
//! (`memory`, `durable`, default both) runs one mode only, for profiling. The CPU time
//! each thread spent per transaction (from `/proc`, on Linux) is printed too: on a machine busy with other work
//! the writer competes with the caller for a core, and throughput follows CPU time.
//! `SPACETIME_BENCH_WRITE_LOG` writes a log for a startup measurement instead (see
//! `write_log`).

use spacetime_benches::BenchDb;
use spacetime_commitlog::{Commitlog, CommitlogOptions, Durability, DurabilityOptions, DurabilityStats};
use std::time::{Duration, Instant};

const ACCOUNTS: u32 = 100_000;

/// Alternating rounds of each mode, so load from elsewhere on the machine hits both
/// alike; the best round of each is reported.
const ROUNDS: usize = 3;

/// Runs `transfers` calls; with `log`, appends every transaction and waits for the
/// last. Returns the whole time and the part spent waiting for the writer at the end.
fn run(transfers: u32, log: Option<&Durability>) -> (Duration, Duration) {
    let mut db = BenchDb::new();
    db.seed(ACCOUNTS, 1_000_000);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let start = Instant::now();
    let mut last = None;
    for _ in 0..transfers {
        // xorshift: a fixed, cheap sequence of account pairs.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let from = (state % u64::from(ACCOUNTS)) as u32;
        let to = ((state >> 32) % u64::from(ACCOUNTS)) as u32;
        let outcome = db.transfer(from, to, 1);
        let tx = outcome
            .result
            .unwrap_or_else(|e| panic!("transfer {from} -> {to} fails: {e}"));
        if let Some(log) = log {
            last = Some(
                log.append_tx(spacetime_server::encode_tx_record(&tx))
                    .expect("the log writer accepts the transaction"),
            );
        }
    }
    let calls_done = Instant::now();
    if let (Some(log), Some(last)) = (log, last) {
        log.wait_durable(last, None).expect("the log becomes durable");
    }
    (start.elapsed(), calls_done.elapsed())
}

/// CPU time (user + system) used so far by the thread whose `/proc` task directory is
/// `task`; `None` where that is unavailable (not Linux).
fn task_cpu(task: &std::path::Path) -> Option<Duration> {
    spacetime_benches::proc_stat_cpu(&task.join("stat"))
}

/// CPU time used so far by this process's thread named `name` (as `/proc` shows it,
/// cut to 15 bytes).
fn thread_cpu(name: &str) -> Option<Duration> {
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        let comm = std::fs::read_to_string(path.join("comm")).ok()?;
        if comm.trim_end() == name {
            return task_cpu(&path);
        }
    }
    None
}

/// CPU time used so far by the calling thread.
fn own_cpu() -> Option<Duration> {
    task_cpu(std::path::Path::new("/proc/thread-self"))
}

/// The best of several rounds of one mode: wall-clock throughput, and the CPU time per
/// transaction of the calling thread and of the log writer.
#[derive(Default)]
struct Best {
    per_sec: f64,
    caller_cpu: Option<Duration>,
    writer_cpu: Option<Duration>,
}

impl Best {
    fn add(&mut self, per_sec: f64, caller_cpu: Option<Duration>, writer_cpu: Option<Duration>) {
        self.per_sec = self.per_sec.max(per_sec);
        let min = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.caller_cpu = min(self.caller_cpu, caller_cpu);
        self.writer_cpu = min(self.writer_cpu, writer_cpu);
    }

    /// CPU microseconds per transaction, both threads together.
    fn cpu_per_tx(&self, transfers: u32) -> Option<f64> {
        let total = self.caller_cpu? + self.writer_cpu.unwrap_or_default();
        Some(total.as_secs_f64() * 1e6 / f64::from(transfers))
    }
}

/// Runs one round and measures it: `(tx/s, caller CPU, writer CPU)`.
fn measure(transfers: u32, log: Option<&Durability>) -> (f64, Option<Duration>, Option<Duration>, Duration) {
    let writer_before = log.and_then(|_| thread_cpu(WRITER_THREAD));
    let before = own_cpu();
    let (time, waited) = run(transfers, log);
    let caller = own_cpu()
        .zip(before)
        .map(|(after, before)| after.saturating_sub(before));
    let writer = log
        .and_then(|_| thread_cpu(WRITER_THREAD))
        .zip(writer_before)
        .map(|(a, b)| a.saturating_sub(b));
    (f64::from(transfers) / time.as_secs_f64(), caller, writer, waited)
}

/// The log writer's thread name as `/proc` shows it (cut to 15 bytes).
const WRITER_THREAD: &str = "commitlog-write";

/// `SPACETIME_BENCH_WRITE_LOG=<replica dir>`: instead of measuring, appends the
/// transfers' records to the commit log in `<replica dir>/clog` and exits. For a
/// startup/replay measurement: publish the bench module on a durable server, call
/// `seed(0, 100000, 1000000)` (the state this benchmark starts from), stop the server,
/// append with this, then time the server's start.
fn write_log(replica_dir: &std::path::Path, transfers: u32) {
    let recovered = spacetime_commitlog::recover(replica_dir, CommitlogOptions::default()).expect("the log opens");
    let durability = Durability::start(recovered.commitlog, DurabilityOptions::default()).expect("the writer starts");
    let (time, _) = run(transfers, Some(&durability));
    let log = durability.close().expect("the log is written");
    println!(
        "appended {transfers} transfers in {time:?}; the log now ends at tx offset {}",
        log.next_tx_offset()
    );
}

fn main() {
    let transfers: u32 = std::env::var("SPACETIME_BENCH_TRANSFERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    if let Some(dir) = std::env::var_os("SPACETIME_BENCH_WRITE_LOG") {
        write_log(std::path::Path::new(&dir), transfers);
        return;
    }
    let mode = std::env::var("SPACETIME_BENCH_MODE").unwrap_or_default();
    let (run_memory, run_durable) = (mode != "durable", mode != "memory");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (log, _) = Commitlog::open(dir.path(), CommitlogOptions::default()).expect("the commit log opens");
    let durability = Durability::start(log, DurabilityOptions::default()).expect("the writer starts");
    let (mut memory, mut durable, mut tail) = (Best::default(), Best::default(), Duration::ZERO);
    for _ in 0..ROUNDS {
        if run_memory {
            let (per_sec, caller, _, _) = measure(transfers, None);
            memory.add(per_sec, caller, None);
        }
        if run_durable {
            let (per_sec, caller, writer, waited) = measure(transfers, Some(&durability));
            durable.add(per_sec, caller, writer);
            tail = tail.max(waited);
        }
    }
    let DurabilityStats { syncs, txs, bytes } = durability.stats();
    println!("transfer, {ACCOUNTS} accounts, {transfers} calls, best of {ROUNDS}");
    println!("  in memory: {:>10.0} tx/s", memory.per_sec);
    println!(
        "  durable:   {:>10.0} tx/s ({:.0}% of in memory)",
        durable.per_sec,
        100.0 * durable.per_sec / memory.per_sec
    );
    println!("  longest wait for the last fsync after the calls: {tail:?}");
    println!(
        "  writer: {syncs} fsyncs for {txs} txs ({:.1} txs, {:.0} bytes per fsync)",
        txs as f64 / syncs.max(1) as f64,
        bytes as f64 / syncs.max(1) as f64
    );
    // On a machine busy with other work, the writer's CPU competes with the caller's:
    // then throughput follows the CPU spent per transaction by both threads.
    let us = |d: Option<Duration>| {
        d.map_or("?".to_owned(), |d| {
            format!("{:.2}", d.as_secs_f64() * 1e6 / f64::from(transfers))
        })
    };
    println!("  CPU µs per tx, in memory: caller {}", us(memory.caller_cpu));
    println!(
        "  CPU µs per tx, durable:   caller {}, writer {}",
        us(durable.caller_cpu),
        us(durable.writer_cpu)
    );
    if let (Some(m), Some(d)) = (memory.cpu_per_tx(transfers), durable.cpu_per_tx(transfers)) {
        println!(
            "  CPU-bound ratio (in-memory CPU per tx / durable CPU per tx): {:.0}%",
            100.0 * m / d
        );
    }
}
