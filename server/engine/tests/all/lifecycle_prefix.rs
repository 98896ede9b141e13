//! A lifecycle reducer's transaction and the log's note of the connection it starts or
//! ends must be one commit: a crash, or a leader's failover (a new leader holds exactly
//! a prefix of the commits), can land between any two commits. With the `presence`
//! module (`client_connected` puts the connection in `online`, `client_disconnected`
//! takes it out and inserts a `departure`), a leader connects and disconnects
//! WebSocket, HTTP and hosted (a reader's) clients; then the database is brought back
//! from **every** prefix of its log, both ways a cluster does it:
//! - restarted from a local log holding the prefix (restart replay);
//! - fed the prefix as a standby is (the follower's applier), then promoted.
//!
//! After the clean-up (`client_disconnected` for the connections the log holds as the
//! leader's own), `online` must hold exactly the hosted clients the log still holds
//! (they live on at their node), and no connection may have departed twice.
//!
//! A follower also publishes a lifecycle transaction's rows to its subscribers, as it
//! publishes any transaction's.

use crate::follower::{connect, owner, runtime, standby_apply};
use crate::leader_log::{Captured, NoPrograms};
use crate::modules::{module_bytes, Bindings, ModuleCrate};
use crate::support::host_runtime;
use spacetime_commitlog::{split_commits, Commitlog, CommitlogOptions, LOG_DIR};
use spacetime_engine::module_logs::ModuleLogs;
use spacetime_engine::storage::StorageConfig;
use spacetime_engine::{ClientRequest, Database, SqlResult};
use spacetime_host::ModuleProgram;
use spacetime_protocol::v2::{self, ClientMessage, ServerMessage, TableUpdateRows};
use spacetime_protocol::QuerySetId;
use spacetime_sats::{ConnectionId, Identity};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// `tests/modules/presence`, built against our bindings (it has no upstream twin).
const PRESENCE: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "presence-module",
    upstream_package: "",
};

const HASH: &str = "presence";

fn presence_program() -> &'static ModuleProgram {
    static PROGRAM: OnceLock<ModuleProgram> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let wasm = module_bytes(PRESENCE, Bindings::Ours);
        host_runtime()
            .load(&wasm)
            .unwrap_or_else(|e| panic!("the presence module does not load: {e}"))
    })
}

fn database() -> Identity {
    Identity::from_byte_array([0x51; 32])
}

/// The identity the checks query as: its own HTTP connections (each SQL statement runs
/// between `client_connected` and `client_disconnected`) are left out of the checks.
fn checker() -> Identity {
    Identity::from_byte_array([0xc4; 32])
}

fn carol() -> Identity {
    Identity::from_byte_array([3; 32])
}

fn dave() -> Identity {
    Identity::from_byte_array([4; 32])
}

fn erin() -> Identity {
    Identity::from_byte_array([5; 32])
}

async fn start(dir: &Path, storage: impl FnOnce(StorageConfig) -> StorageConfig) -> Database {
    Database::start(
        database(),
        owner(),
        presence_program().clone(),
        Arc::new(ModuleLogs::in_memory()),
        Some(storage(StorageConfig::new(dir.to_owned(), 0))),
        HASH,
    )
    .await
    .expect("the database starts")
}

async fn follower(dir: &Path) -> (Database, Commitlog) {
    Database::follow(
        database(),
        owner(),
        presence_program().clone(),
        Arc::new(ModuleLogs::in_memory()),
        StorageConfig::new(dir.to_owned(), 0),
        HASH,
        Arc::new(NoPrograms),
    )
    .await
    .expect("the follower starts")
}

/// The rows of `sql` (run as [`checker`]), each as its column values rendered.
async fn query(db: &Database, sql: &str) -> Vec<Vec<String>> {
    let result = db
        .sql(checker(), None, sql.into(), false)
        .await
        .expect("the actor runs");
    let SqlResult::Ran { result, .. } = result else {
        panic!("{sql}: {result:?}");
    };
    let rows = result.unwrap_or_else(|e| panic!("{sql}: {e}")).rows;
    rows.iter()
        .map(|row| {
            row.elements
                .iter()
                .map(|v| v.as_str().map_or_else(|| format!("{v:?}"), str::to_owned))
                .collect()
        })
        .collect()
}

/// Checks the invariant on `db`, brought back from the first `k` commits (`how`).
async fn check(db: &Database, k: usize, how: &str) -> Result<(), String> {
    let not_checker = format!("identity != 0x{}", checker().to_hex());
    let online: BTreeSet<String> = query(db, &format!("SELECT connection FROM online WHERE {not_checker}"))
        .await
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let mut departures = BTreeMap::<String, usize>::new();
    for row in query(db, &format!("SELECT connection FROM departure WHERE {not_checker}")).await {
        *departures.entry(row[0].clone()).or_default() += 1;
    }
    let hosted: BTreeSet<String> = db
        .hosted_clients()
        .await
        .expect("the actor runs")
        .into_iter()
        .map(|c| c.connection_id.to_hex().to_string())
        .collect();
    let twice: Vec<_> = departures.iter().filter(|(_, &n)| n > 1).collect();
    if online != hosted || !twice.is_empty() {
        return Err(format!(
            "{how} from the first {k} commit(s): online {online:?}, but the log holds as \
             connected elsewhere {hosted:?}; departed more than once: {twice:?}"
        ));
    }
    Ok(())
}

/// The leader's history: WebSocket, HTTP and hosted clients connect and disconnect,
/// some are still connected at the end. Returns each commit's frame, in order.
async fn leader_history(dir: &Path) -> Vec<Vec<u8>> {
    let captured = Captured::default();
    let db = start(dir, |s| s.with_replication(1, Box::new(captured.clone()))).await;
    let hosted = |n: u8| ConnectionId::from_le_byte_array([0x20 + n; 16]);
    let (first, _first_out) = connect(&db, carol(), 0x11).await;
    let (_second, _second_out) = connect(&db, carol(), 0x12).await;
    for n in 1..=2 {
        db.connect_hosted(dave(), hosted(n), None, "n3 boot-1".into())
            .await
            .expect("the actor runs")
            .expect("dave connects through n3");
    }
    let (third, _third_out) = connect(&db, erin(), 0x13).await;
    // An HTTP call: its own connection, connected and disconnected around it.
    db.call(owner(), None, "whoami".into(), serde_json::json!([1]))
        .await
        .expect("the call runs")
        .result
        .expect("whoami succeeds");
    db.client(ClientRequest::Disconnect { client: first })
        .expect("the actor runs");
    let ended = db
        .disconnect_hosted(dave(), hosted(1), None)
        .await
        .expect("the actor runs");
    assert!(matches!(ended, Ok(true)), "{ended:?}");
    db.client(ClientRequest::Disconnect { client: third })
        .expect("the actor runs");
    // Served after the disconnects: the actor runs requests in order.
    db.call(owner(), None, "whoami".into(), serde_json::json!([2]))
        .await
        .expect("the call runs")
        .result
        .expect("whoami succeeds");
    db.shutdown();
    db.stopped().await;
    let frames: Vec<Vec<u8>> = captured
        .take()
        .iter()
        .flat_map(|batch| {
            let commits = split_commits(batch).expect("the batch verifies");
            commits.into_iter().map(|(_, range)| batch[range].to_vec())
        })
        .collect();
    let (log, _) = Commitlog::open(dir.join(LOG_DIR), CommitlogOptions::default()).expect("the log opens");
    assert_eq!(
        frames.len() as u64,
        log.next_tx_offset(),
        "the replicated log got every commit"
    );
    frames
}

#[test]
fn every_prefix_of_the_log_has_each_lifecycle_change_and_its_connection_together() {
    let leader_dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let frames = leader_history(leader_dir.path()).await;
        let mut failures = Vec::new();
        for k in 0..=frames.len() {
            let prefix = frames[..k].concat();

            // Restarted from a local log holding the prefix.
            let dir = tempfile::tempdir().unwrap();
            if k > 0 {
                let (mut log, _) =
                    Commitlog::open(dir.path().join(LOG_DIR), CommitlogOptions::default()).expect("the log opens");
                log.append_encoded(&prefix, 0, k as u64).expect("appended");
                log.sync().expect("synced");
            }
            // As a new leader (the log's commits are epoch 1's).
            let db = start(dir.path(), |s| s.with_replication(2, Box::new(Captured::default()))).await;
            failures.extend(check(&db, k, "restarted").await.err());
            db.shutdown();
            db.stopped().await;

            // Fed the prefix as a standby is, then promoted.
            let dir = tempfile::tempdir().unwrap();
            let (db, mut local) = follower(dir.path()).await;
            if k > 0 {
                let mut applied = db.applied().expect("a follower's applied offset");
                standby_apply(&mut local, &db, prefix);
                tokio::time::timeout(Duration::from_secs(10), applied.wait_for(k as u64 - 1))
                    .await
                    .expect("applied within 10 s")
                    .expect("the follower runs");
            }
            db.promote(local, 2, Box::new(Captured::default()))
                .await
                .expect("promoted");
            failures.extend(check(&db, k, "promoted").await.err());
            db.shutdown();
            db.stopped().await;
        }
        assert!(
            failures.is_empty(),
            "{} of {} prefixes break the invariant:\n{}",
            failures.len(),
            2 * (frames.len() + 1),
            failures.join("\n")
        );
    });
}

/// Row changes of `table` in a `TransactionUpdate`: (inserted, deleted).
fn changes(message: &ServerMessage, table: &str) -> (usize, usize) {
    let ServerMessage::TransactionUpdate(update) = message else {
        panic!("not a transaction update: {message:?}");
    };
    (update.query_sets.iter())
        .flat_map(|set| &set.tables)
        .filter(|t| t.table_name == table)
        .flat_map(|t| &t.rows)
        .map(|rows| match rows {
            TableUpdateRows::PersistentTable(rows) => (rows.inserts.len(), rows.deletes.len()),
            TableUpdateRows::EventTable(rows) => (rows.events.len(), 0),
        })
        .fold((0, 0), |(i, d), (ri, rd)| (i + ri, d + rd))
}

#[test]
fn a_follower_publishes_the_rows_of_lifecycle_transactions() {
    let (leader_dir, follower_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    runtime().block_on(async {
        let frames = leader_history(leader_dir.path()).await;
        let (db, mut local) = follower(follower_dir.path()).await;
        // A subscriber of the follower (registered without running client_connected).
        let (_subscriber, mut updates) = connect(&db, carol(), 0x77).await;
        let subscribe = v2::Subscribe {
            request_id: 1,
            query_set_id: QuerySetId::new(1),
            query_strings: vec!["SELECT * FROM online".into(), "SELECT * FROM departure".into()],
        };
        db.client(ClientRequest::Message {
            connection_id: ConnectionId::from_le_byte_array([0x77; 16]),
            message: ClientMessage::Subscribe(subscribe),
        })
        .expect("the actor runs");
        let first = next(&mut updates).await;
        assert!(matches!(first, ServerMessage::SubscribeApplied(_)), "{first:?}");

        let mut applied = db.applied().expect("a follower's applied offset");
        standby_apply(&mut local, &db, frames.concat());
        tokio::time::timeout(Duration::from_secs(10), applied.wait_for(frames.len() as u64 - 1))
            .await
            .expect("applied within 10 s")
            .expect("the follower runs");
        let online = query(&db, "SELECT connection FROM online").await.len();
        let departed = query(&db, "SELECT connection FROM departure").await.len();
        assert!(
            online > 0 && departed > 0,
            "the history connects and disconnects clients"
        );
        // What was published adds up to the follower's rows: every connection's row
        // inserted, the departed ones' deleted, each departure inserted.
        let (mut online_net, mut departures) = (0i64, 0);
        while online_net != online as i64 || departures != departed {
            let message = next(&mut updates).await;
            let (inserted, deleted) = changes(&message, "online");
            online_net += inserted as i64 - deleted as i64;
            departures += changes(&message, "departure").0;
            assert!(departures <= departed, "more departures published than applied");
        }
        db.shutdown();
        db.stopped().await;
    });
}

/// The subscriber's next message, within 10 s.
async fn next(outgoing: &mut tokio::sync::mpsc::Receiver<spacetime_engine::subscription::Outgoing>) -> ServerMessage {
    let message = tokio::time::timeout(Duration::from_secs(10), outgoing.recv())
        .await
        .expect("a message within 10 s")
        .expect("the queue is open");
    ServerMessage::from_bytes(&message.body).expect("a server message")
}
