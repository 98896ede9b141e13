//! The child process of the crash test (`tests/all/crash.rs`), not a user tool.
//!
//! `commitlog-crash-child <dir> <producers> <max-txs>` opens the log in `<dir>`,
//! starts the group-commit writer, and lets `<producers>` threads append records
//! until `<max-txs>` were appended. Each record's bytes are derived from its tx
//! offset ([`expected_record`]), so the test can check the content of every offset.
//! Each time the durable offset advances it prints `durable <offset>` on stdout and
//! flushes: a promise the test holds it to after SIGKILLing it at a random moment.

use spacetime_commitlog::{Commitlog, CommitlogOptions, Durability, DurabilityOptions};
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// The record the child writes at `tx_offset` (lengths 1..=300, content from the
/// offset). `tests/all/crash.rs` has the same function; keep them equal.
fn expected_record(tx_offset: u64) -> Vec<u8> {
    let len = 1 + (tx_offset.wrapping_mul(2_654_435_761) % 300) as usize;
    (0..len)
        .map(|i| (tx_offset as usize).wrapping_mul(31).wrapping_add(i) as u8)
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, producers, max_txs] = args.as_slice() else {
        eprintln!("usage: commitlog-crash-child <dir> <producers> <max-txs>");
        return ExitCode::from(2);
    };
    let (Ok(producers), Ok(max_txs)) = (producers.parse::<u64>(), max_txs.parse::<u64>()) else {
        eprintln!("<producers> and <max-txs> must be whole numbers");
        return ExitCode::from(2);
    };
    // Small segments so that kills also land around rotations.
    let options = CommitlogOptions::default()
        .max_segment_size(64 * 1024)
        .write_buffer_size(4096);
    let log = match Commitlog::open(dir, options) {
        Ok((log, _report)) => log,
        Err(e) => {
            eprintln!("cannot open the log: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stop_at = log.next_tx_offset() + max_txs;
    let durability = match Durability::start(log, DurabilityOptions::default().queue_capacity(256)) {
        Ok(d) => Arc::new(d),
        Err(e) => {
            eprintln!("cannot start the writer: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Producers reserve offsets under this lock so each can compute its record from
    // the offset it will get; waiting for durability happens outside it, so batches
    // of up to `producers` transactions form.
    let reserve = Arc::new(Mutex::new(()));
    let workers: Vec<_> = (0..producers.max(1))
        .map(|_| {
            let (durability, reserve) = (durability.clone(), reserve.clone());
            std::thread::spawn(move || -> Result<(), String> {
                loop {
                    let offset = {
                        let _reserved = reserve.lock().map_err(|_| "a producer panicked".to_owned())?;
                        let offset = durability.next_tx_offset();
                        if offset >= stop_at {
                            return Ok(());
                        }
                        let got = durability
                            .append_tx(expected_record(offset))
                            .map_err(|e| e.to_string())?;
                        if got != offset {
                            return Err(format!("prepared the record of tx offset {offset} but got {got}"));
                        }
                        offset
                    };
                    durability.wait_durable(offset, None).map_err(|e| e.to_string())?;
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "durable {offset}")
                        .and_then(|()| out.flush())
                        .map_err(|e| e.to_string())?;
                }
            })
        })
        .collect();
    let mut status = ExitCode::SUCCESS;
    for worker in workers {
        match worker.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("producer failed: {e}");
                status = ExitCode::FAILURE;
            }
            Err(_) => {
                eprintln!("producer panicked");
                status = ExitCode::FAILURE;
            }
        }
    }
    // Every producer has been joined, so this is the last handle.
    if let Ok(durability) = Arc::try_unwrap(durability) {
        if let Err(e) = durability.close() {
            eprintln!("closing failed: {e}");
            status = ExitCode::FAILURE;
        }
    }
    status
}
