//! Follower mode (a cluster's hot standby), with real actors, commit logs on disk and
//! the host-test module: a leader's batches (captured from its commit log writer, as
//! the cluster's log would receive them) are appended to a second log and fed to a
//! follower, which holds the same rows, publishes them to its subscribers, serves
//! queries and refuses writes naming the leader; promoted in place, it runs reducers
//! where the leader left off and `client_disconnected` for the leader's clients.

use crate::leader_log::{Captured, NoPrograms};
use crate::support::host_test_program;
use spacetime_commitlog::{split_commits, Commitlog, CommitlogOptions, LOG_DIR};
use spacetime_engine::follower::{NotLeader, PromoteError};
use spacetime_engine::module_logs::ModuleLogs;
use spacetime_engine::storage::StorageConfig;
use spacetime_engine::subscription::{ClientHandle, Outgoing};
use spacetime_engine::{CallError, ClientRequest, Database, SqlResult};
use spacetime_protocol::v2::{self, ClientMessage, ServerMessage, TableUpdateRows};
use spacetime_protocol::QuerySetId;
use spacetime_sats::{ConnectionId, Identity};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const HASH: &str = "host-test";

pub(crate) fn database() -> Identity {
    Identity::from_byte_array([9; 32])
}

pub(crate) fn owner() -> Identity {
    Identity::from_byte_array([1; 32])
}

pub(crate) fn carol() -> Identity {
    Identity::from_byte_array([3; 32])
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

pub(crate) async fn leader(dir: &std::path::Path, epoch: u64, captured: &Captured) -> Database {
    let storage = StorageConfig::new(dir.to_owned(), 0).with_replication(epoch, Box::new(captured.clone()));
    Database::start(
        database(),
        owner(),
        host_test_program().clone(),
        Arc::new(ModuleLogs::in_memory()),
        Some(storage),
        HASH,
    )
    .await
    .expect("the leader starts")
}

pub(crate) async fn follower(dir: &std::path::Path) -> (Database, Commitlog) {
    Database::follow(
        database(),
        owner(),
        host_test_program().clone(),
        Arc::new(ModuleLogs::in_memory()),
        StorageConfig::new(dir.to_owned(), 0),
        HASH,
        Arc::new(NoPrograms),
    )
    .await
    .expect("the follower starts")
}

/// What the standby does with a batch: append it to its local log (fsynced), then
/// feed the follower.
pub(crate) fn standby_apply(log: &mut Commitlog, follower: &Database, frames: Vec<u8>) {
    let commits = split_commits(&frames).expect("the batch verifies");
    let first = commits.first().expect("a commit").0.tx_offset;
    log.append_encoded(&frames, first, commits.len() as u64)
        .expect("appended");
    log.sync().expect("synced");
    follower.apply(frames).expect("the follower runs");
}

pub(crate) async fn call(db: &Database, reducer: &str, args: serde_json::Value) -> Result<(), CallError> {
    let outcome = db.call(owner(), None, reducer.into(), args).await?;
    outcome.result.map(drop).map_err(|e| panic!("{reducer} failed: {e}"))
}

pub(crate) async fn rows(db: &Database, sql: &str) -> usize {
    match db.sql(owner(), None, sql.into(), false).await.expect("the actor runs") {
        SqlResult::Ran { result, .. } => result.expect("the query runs").rows.len(),
        other => panic!("{sql}: {other:?}"),
    }
}

/// Connects a WebSocket client of `identity` and takes its `InitialConnection`.
pub(crate) async fn connect(db: &Database, identity: Identity, id: u8) -> (ClientHandle, mpsc::Receiver<Outgoing>) {
    let (client, mut outgoing) = ClientHandle::new(identity, ConnectionId::from_le_byte_array([id; 16]));
    let (reply, accepted) = tokio::sync::oneshot::channel();
    db.client(ClientRequest::Connect {
        client: client.clone(),
        token: "token".into(),
        jwt: None,
        reply,
    })
    .expect("the actor runs");
    accepted.await.expect("a reply").expect("connected");
    let first = next(&mut outgoing).await;
    assert!(matches!(first, ServerMessage::InitialConnection(_)), "{first:?}");
    (client, outgoing)
}

async fn next(outgoing: &mut mpsc::Receiver<Outgoing>) -> ServerMessage {
    let message = tokio::time::timeout(Duration::from_secs(10), outgoing.recv())
        .await
        .expect("a message within 10 s")
        .expect("the queue is open");
    ServerMessage::from_bytes(&message.body).expect("a server message")
}

/// Inserted rows of `table` in a `TransactionUpdate`.
fn inserted(message: &ServerMessage, table: &str) -> usize {
    let ServerMessage::TransactionUpdate(update) = message else {
        panic!("not a transaction update: {message:?}");
    };
    update
        .query_sets
        .iter()
        .flat_map(|set| &set.tables)
        .filter(|t| t.table_name == table)
        .flat_map(|t| &t.rows)
        .map(|rows| match rows {
            TableUpdateRows::PersistentTable(rows) => rows.inserts.len(),
            TableUpdateRows::EventTable(rows) => rows.events.len(),
        })
        .sum()
}

/// Carol's row in `online` (an HTTP query runs `client_connected` for its caller on a
/// leader, so the table holds the caller too).
pub(crate) fn carol_online() -> String {
    format!("SELECT * FROM online WHERE identity = 0x{}", carol().to_hex())
}

fn commit_ids(dir: &std::path::Path) -> Vec<spacetime_commitlog::CommitId> {
    let (mut log, _) = Commitlog::open(dir.join(LOG_DIR), CommitlogOptions::default()).expect("the log opens");
    log.commit_ids_from(0).expect("the commits read")
}

#[test]
fn a_follower_applies_publishes_refuses_writes_and_is_promoted_in_place() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    runtime().block_on(async {
        let captured = Captured::default();
        let leader = leader(a.path(), 1, &captured).await;
        let (follower, mut local) = follower(b.path()).await;
        assert!(follower.is_follower() && !leader.is_follower());
        let mut applied = follower.applied().expect("a follower's applied offset");

        // A subscriber of the follower, registered without running client_connected.
        let (_subscriber, mut updates) = connect(&follower, carol(), 7).await;
        let subscribe = v2::Subscribe {
            request_id: 1,
            query_set_id: QuerySetId::new(1),
            query_strings: vec!["SELECT * FROM person".into()],
        };
        follower
            .client(ClientRequest::Message {
                connection_id: ConnectionId::from_le_byte_array([7; 16]),
                message: ClientMessage::Subscribe(subscribe),
            })
            .unwrap();
        assert!(matches!(next(&mut updates).await, ServerMessage::SubscribeApplied(_)));

        // The leader: two people, and a WebSocket client still connected when it dies.
        call(&leader, "add_person", serde_json::json!(["ann", 30, 1]))
            .await
            .unwrap();
        let (_leaders_client, _) = connect(&leader, carol(), 8).await;
        call(&leader, "add_person", serde_json::json!(["bob", 40, 2]))
            .await
            .unwrap();
        let batches = captured.take();
        assert!(!batches.is_empty());
        for frames in batches {
            standby_apply(&mut local, &follower, frames);
        }
        let last = local.next_tx_offset() - 1;
        tokio::time::timeout(Duration::from_secs(10), applied.wait_for(last))
            .await
            .expect("applied within 10 s")
            .expect("the follower runs");

        // Same rows, and the subscriber saw both inserts as they were applied.
        assert_eq!(rows(&follower, "SELECT * FROM person").await, 2);
        assert_eq!(
            rows(&follower, &carol_online()).await,
            1,
            "carol, connected to the leader"
        );
        let mut seen = 0;
        while seen < 2 {
            seen += inserted(&next(&mut updates).await, "person");
        }
        assert_eq!(seen, 2);

        // Writes are refused, naming the leader.
        follower.set_leader(Some("node 1 at 127.0.0.1:3000".into()));
        let refused = call(&follower, "add_person", serde_json::json!(["cat", 50, 3])).await;
        let Err(CallError::NotLeader(NotLeader { leader: Some(named) })) = &refused else {
            panic!("not refused as a follower's: {refused:?}");
        };
        assert_eq!(&**named, "node 1 at 127.0.0.1:3000");
        assert!(refused
            .unwrap_err()
            .to_string()
            .contains("its leader is node 1 at 127.0.0.1:3000"));
        let dml = follower
            .sql(owner(), None, "DELETE FROM person".into(), false)
            .await
            .unwrap();
        assert!(matches!(dml, SqlResult::NotLeader(_)), "{dml:?}");
        assert_eq!(rows(&follower, "SELECT * FROM person").await, 2, "nothing deleted");

        // The leader dies; the follower becomes the leader in place.
        leader.shutdown();
        leader.stopped().await;
        let promoted = Captured::default();
        follower
            .promote(local, 2, Box::new(promoted.clone()))
            .await
            .expect("promoted");
        assert!(!follower.is_follower() && follower.durable().is_some());
        // Carol's connection to the dead leader got its client_disconnected.
        assert_eq!(rows(&follower, &carol_online()).await, 0);
        // The sequence goes on where the leader left it (id 3), and the call is
        // logged under the new epoch.
        call(&follower, "add_person", serde_json::json!(["cat", 50, 3]))
            .await
            .unwrap();
        assert_eq!(rows(&follower, "SELECT * FROM person").await, 3);
        let new_batches = promoted.take();
        assert!(new_batches
            .iter()
            .flat_map(|frames| split_commits(frames).unwrap())
            .all(|(id, _)| id.epoch == 2 && id.tx_offset > last));
        follower.shutdown();
        follower.stopped().await;
    });
    // The standby's log holds the leader's commits byte for byte.
    let (leaders, standbys) = (commit_ids(a.path()), commit_ids(b.path()));
    assert_eq!(&standbys[..leaders.len()], &leaders[..]);
}

#[test]
fn a_follower_that_misses_a_batch_stops_and_is_not_promoted() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    runtime().block_on(async {
        let captured = Captured::default();
        let leader = leader(a.path(), 1, &captured).await;
        call(&leader, "add_person", serde_json::json!(["ann", 30, 1]))
            .await
            .unwrap();
        let mut batches = captured.take();
        call(&leader, "add_person", serde_json::json!(["bob", 40, 2]))
            .await
            .unwrap();
        batches.extend(captured.take());
        assert!(batches.len() >= 2, "one batch per acknowledged call");
        let (follower, local) = follower(b.path()).await;
        // The first batch is lost: the second leaves a gap.
        let skipped = batches.remove(0);
        let last = batches.pop().expect("a batch");
        follower.apply(last).unwrap();
        let refused = follower.promote(local, 2, Box::new(Captured::default())).await;
        assert!(matches!(refused, Err(PromoteError::Diverged(_))), "{refused:?}");
        assert!(refused
            .unwrap_err()
            .to_string()
            .contains("this follower applied up to 0"));
        // Still a follower: it refuses writes rather than run them unlogged.
        assert!(follower.is_follower());
        drop(skipped);
        leader.shutdown();
        follower.shutdown();
    });
}
