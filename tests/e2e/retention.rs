//! Log retention (issue 16): under a steady load of updates, long enough for many
//! snapshots, the data directory stops growing (each snapshot lets the log segments
//! before the oldest kept snapshot go), only `--snapshots-to-keep` snapshots remain, and
//! a restart after retention restores exactly the acknowledged state.

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use spacetime_protocol::compression::decompress;
use spacetime_protocol::v2::{self, CallFlags, CallReducer, ClientMessage, ServerMessage};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings, ModuleCrate};
use spacetime_testing::server::TestServer;
use std::path::Path;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const BENCH: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "bench-module",
    upstream_package: "upstream-bench",
};

/// Accounts, their starting balance, transfers in all, and how often to measure.
const N: u32 = 7;
const START: i64 = 1_000_000;
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

/// `transfer(from, to, 1)` as BSATN arguments.
fn transfer_args(i: u32) -> Vec<u8> {
    let mut args = (i % N).to_le_bytes().to_vec();
    args.extend_from_slice(&((i + 1) % N).to_le_bytes());
    args.extend_from_slice(&1i64.to_le_bytes());
    args
}

fn expected_balances(calls: u32) -> Vec<i64> {
    let mut balances = vec![START; N as usize];
    for i in 0..calls {
        balances[(i % N) as usize] -= 1;
        balances[((i + 1) % N) as usize] += 1;
    }
    balances
}

fn balances(cli: &Cli, db: &str) -> Vec<i64> {
    let out = cli.sql(db, "SELECT id, balance FROM account").ok().stdout;
    let mut rows: Vec<(u32, i64)> = out
        .lines()
        .filter_map(|l| {
            let mut cells = l.split('|').map(str::trim);
            Some((cells.next()?.parse().ok()?, cells.next()?.parse().ok()?))
        })
        .collect();
    rows.sort_unstable();
    rows.into_iter().map(|(_, b)| b).collect()
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
    let url = format!(
        "{}/v1/database/retained/subscribe?compression=None",
        server.url().replace("http://", "ws://")
    );
    let mut sizes = Vec::new();
    runtime.block_on(async {
        let mut request = url.into_client_request().expect("a URL");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", v2::BIN_PROTOCOL.parse().expect("a header"));
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connects");
        for i in 0..CALLS {
            let call = ClientMessage::CallReducer(CallReducer {
                request_id: i,
                flags: CallFlags::Default,
                reducer: "transfer".into(),
                args: transfer_args(i),
            });
            socket
                .send(Message::Binary(call.to_bytes().into()))
                .await
                .expect("send");
            loop {
                let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
                    .await
                    .expect("a reply within 30 s")
                    .expect("open")
                    .expect("a frame");
                if let Message::Binary(payload) = frame {
                    let message =
                        ServerMessage::from_bytes(&decompress(&payload).expect("an envelope")).expect("a message");
                    if let ServerMessage::ReducerResult(result) = message {
                        assert!(
                            matches!(result.result, v2::ReducerOutcome::Ok(_) | v2::ReducerOutcome::OkEmpty),
                            "transfer {i} failed"
                        );
                        break;
                    }
                }
            }
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
    assert_eq!(count_files(&data, ".snapshot"), 2, "two snapshots kept");
    server.restart();
    assert_eq!(balances(&cli, "retained"), expected_balances(CALLS));
}
