//! Hot backups (issue 16): `spacetime backup` while a WebSocket load of transfers runs,
//! then `spacetime restore` into a new database: every transfer acknowledged before the
//! backup started is in the copy, the copy is one consistent state (the balances are
//! those after some whole number of transfers), it survives a restart, a corrupted file
//! is refused with a message and creates nothing, and an existing name is replaced only
//! with `--delete-data`.

use crate::bank::{balances, expected_balances, Teller, BENCH, N, START};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings};
use spacetime_testing::server::TestServer;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Transfers over one WebSocket until `stop`, counting acknowledged ones in `acked`.
async fn load(url: String, acked: Arc<AtomicU32>, stop: Arc<AtomicBool>) {
    let mut teller = Teller::connect(&url, "bank").await;
    let mut i = 0u32;
    while !stop.load(Ordering::SeqCst) {
        teller.transfer(i).await;
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
    let loader = runtime.spawn(load(server.url(), acked.clone(), stop.clone()));
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
