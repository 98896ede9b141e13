//! Hot backups (issue 16): `spacetime backup` while a WebSocket load of transfers runs,
//! then `spacetime restore` into a new database: every transfer acknowledged before the
//! backup started is in the copy, the copy is one consistent state (the balances are
//! those after some whole number of transfers), it survives a restart, a corrupted file
//! is refused with a message and creates nothing, and an existing name is replaced only
//! with `--delete-data`.

use futures_util::{SinkExt, StreamExt};
use spacetime_protocol::compression::decompress;
use spacetime_protocol::v2::{self, CallFlags, CallReducer, ClientMessage, ServerMessage};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings, ModuleCrate};
use spacetime_testing::server::TestServer;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const BENCH: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "bench-module",
    upstream_package: "upstream-bench",
};
const N: u32 = 7;
const START: i64 = 1_000_000;

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

/// Transfers over one WebSocket until `stop`, counting acknowledged ones in `acked`.
async fn load(url: String, acked: Arc<AtomicU32>, stop: Arc<AtomicBool>) {
    let mut request = url.into_client_request().expect("a URL");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", v2::BIN_PROTOCOL.parse().expect("a header"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connects");
    let mut i = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let mut args = (i % N).to_le_bytes().to_vec();
        args.extend_from_slice(&((i + 1) % N).to_le_bytes());
        args.extend_from_slice(&1i64.to_le_bytes());
        let call = ClientMessage::CallReducer(CallReducer {
            request_id: i,
            flags: CallFlags::Default,
            reducer: "transfer".into(),
            args,
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
        i += 1;
        acked.store(i, Ordering::SeqCst);
    }
}

fn wait_for_acks(acked: &AtomicU32, at_least: u32) {
    let reached = spacetime_testing::wait::until(Duration::from_secs(60), || {
        (acked.load(Ordering::SeqCst) >= at_least).then_some(())
    });
    assert!(
        reached.is_some(),
        "only {} transfers acknowledged",
        acked.load(Ordering::SeqCst)
    );
}

#[test]
fn a_hot_backup_under_load_restores_every_acknowledged_transfer_consistently() {
    let wasm = build_module(BENCH, Bindings::Ours);
    let mut server = TestServer::start();
    let owner = Cli::new(&server);
    owner.publish(&wasm, Some("bank"));
    owner
        .call("bank", "seed", &["0", &N.to_string(), &START.to_string()])
        .ok();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("bank.backup");

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let acked = Arc::new(AtomicU32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let url = format!(
        "{}/v1/database/bank/subscribe?compression=None",
        server.url().replace("http://", "ws://")
    );
    let loader = runtime.spawn(load(url, acked.clone(), stop.clone()));
    wait_for_acks(&acked, 200);
    let before = acked.load(Ordering::SeqCst);
    let out = owner.run(&["backup", "bank", "-o", &file.display().to_string()]).ok();
    let after = acked.load(Ordering::SeqCst);
    wait_for_acks(&acked, after + 50);
    stop.store(true, Ordering::SeqCst);
    runtime.block_on(loader).expect("the load");
    let total = acked.load(Ordering::SeqCst);
    assert!(out.stdout.contains("Backed up `bank` at tx offset"), "{}", out.stdout);
    eprintln!("backup taken between {before} and {after} acknowledged transfers (of {total})");

    owner.run(&["restore", &file.display().to_string(), "bank-copy"]).ok();
    let copy = balances(&owner, "bank-copy");
    assert_eq!(copy.iter().sum::<i64>(), START * i64::from(N), "consistent: {copy:?}");
    let k = (before..=after + 1)
        .find(|&k| expected_balances(k) == copy)
        .unwrap_or_else(|| panic!("the copy is not the state after {before}..={after} transfers: {copy:?}"));
    eprintln!("the copy holds the first {k} transfers");
    assert_eq!(
        balances(&owner, "bank"),
        expected_balances(total),
        "the source kept serving"
    );

    // Durable as any database: a crash and restart keep the copy.
    server.restart();
    assert_eq!(balances(&owner, "bank-copy"), expected_balances(k));

    // A corrupted backup is refused and creates nothing.
    let mut bytes = std::fs::read(&file).expect("read the backup");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    let bad = dir.path().join("bad.backup");
    std::fs::write(&bad, &bytes).expect("write the corrupted copy");
    let refused = owner.run(&["restore", &bad.display().to_string(), "bank-bad"]).err();
    assert!(
        refused.stderr.contains("corrupted") && refused.stderr.contains("checksum"),
        "{}",
        refused.stderr
    );
    let missing = owner.sql("bank-bad", "SELECT * FROM account").err();
    assert!(
        missing.stderr.to_lowercase().contains("no such database"),
        "{}",
        missing.stderr
    );

    // An existing name needs --delete-data, and then holds the backup again.
    let taken = owner.run(&["restore", &file.display().to_string(), "bank"]).err();
    assert!(taken.stderr.contains("--delete-data"), "{}", taken.stderr);
    owner
        .run(&["restore", &file.display().to_string(), "bank", "--delete-data"])
        .ok();
    assert_eq!(balances(&owner, "bank"), expected_balances(k));
}
