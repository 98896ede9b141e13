//! Log retention (issue 16): under a steady load of updates, long enough for many
//! snapshots, the data directory stops growing (each snapshot lets the log segments
//! before the oldest kept snapshot go), only `--snapshots-to-keep` snapshots remain, and
//! a restart after retention restores exactly the acknowledged state.

use crate::bank::{balances, expected_balances, Teller, BENCH, N, START};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings};
use spacetime_testing::server::TestServer;
use std::path::Path;

/// Transfers in all, and how often to measure.
const CALLS: u32 = 6_000;
const SAMPLE_EVERY: u32 = 500;

/// Bytes of all files under `dir`.
fn size_of(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                size_of(&path)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}

/// Files under `dir` whose names end with `suffix`.
fn count_files(dir: &Path, suffix: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                count_files(&path, suffix)
            } else {
                usize::from(path.to_string_lossy().ends_with(suffix))
            }
        })
        .sum()
}

#[test]
fn the_data_directory_stays_bounded_under_load_and_a_restart_replays_correctly() {
    let wasm = build_module(BENCH, Bindings::Ours);
    let mut server = TestServer::start_with_args(&[
        "--snapshot-every",
        "250",
        "--snapshots-to-keep",
        "2",
        "--max-segment-size",
        "16384",
    ]);
    let cli = Cli::new(&server);
    cli.publish(&wasm, Some("retained"));
    cli.call("retained", "seed", &["0", &N.to_string(), &START.to_string()])
        .ok();
    let data = server.data_dir();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut sizes = Vec::new();
    runtime.block_on(async {
        let mut teller = Teller::connect(&server.url(), "retained").await;
        for i in 0..CALLS {
            teller.transfer(i).await;
            if (i + 1) % SAMPLE_EVERY == 0 {
                sizes.push((i + 1, size_of(&data), count_files(&data, ".stdb.log")));
            }
        }
    });
    eprintln!("data directory over time (calls, bytes, segments): {sizes:?}");
    // Growth stops: every size in the second half is within the first half's largest
    // plus one segment and one snapshot's slack.
    let half = sizes.len() / 2;
    let early_max = sizes[..half].iter().map(|s| s.1).max().expect("samples");
    let late_max = sizes[half..].iter().map(|s| s.1).max().expect("samples");
    let total_log_written = u64::from(CALLS) * 64;
    assert!(
        late_max <= early_max + 32 * 1024,
        "the data directory kept growing: {sizes:?}"
    );
    assert!(
        late_max < total_log_written,
        "retention removed nothing ({late_max} bytes on disk): {sizes:?}"
    );
    // The last snapshot may have been written just now, with the oldest one about to be
    // pruned: wait for the pruning, then at most two must remain.
    spacetime_testing::wait::poll(
        "the snapshots to be pruned to two",
        std::time::Duration::from_secs(30),
        || (count_files(&data, ".snapshot") <= 2).then_some(()),
        || format!("{} snapshots", count_files(&data, ".snapshot")),
    );
    assert_eq!(count_files(&data, ".snapshot"), 2, "two snapshots kept");
    server.restart();
    assert_eq!(balances(&cli, "retained"), expected_balances(CALLS));
}
