//! Clients another node hosts (a cluster reader's WebSocket clients), with real
//! actors, commit logs on disk and the host-test module: the leader runs their
//! `client_connected`, their calls on their own connection id and their
//! `client_disconnected` once; the connection is in the replicated log with its host,
//! so a follower promoted in place keeps it connected while it ends the old leader's
//! own clients.

use crate::follower::{call, carol, connect, database, follower, leader, owner, rows, runtime, standby_apply};
use crate::leader_log::Captured;
use spacetime_engine::{CallError, ConnectError, Database, HostedError};
use spacetime_sats::{ConnectionId, Identity};

fn dave() -> Identity {
    Identity::from_byte_array([4; 32])
}

fn online(identity: Identity) -> String {
    format!("SELECT * FROM online WHERE identity = 0x{}", identity.to_hex())
}

async fn connect_dave(db: &Database, connection_id: ConnectionId) -> Result<(), HostedError> {
    db.connect_hosted(dave(), connection_id, None, "n3 boot-1".into())
        .await
        .expect("the actor runs")
}

#[test]
fn hosted_clients_survive_a_promotion_and_are_disconnected_once() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let daves = ConnectionId::from_le_byte_array([5; 16]);
    runtime().block_on(async {
        let captured = Captured::default();
        let leader = leader(a.path(), 1, &captured).await;
        let (follower, mut local) = follower(b.path()).await;
        let mut applied = follower.applied().expect("a follower's applied offset");

        // Dave connects through node n3; carol to the leader itself.
        connect_dave(&leader, daves).await.expect("dave connects");
        assert_eq!(rows(&leader, &online(dave())).await, 1);
        // A retry (the reader did not see the answer) runs nothing again.
        connect_dave(&leader, daves).await.expect("a retry is accepted");
        assert_eq!(rows(&leader, &online(dave())).await, 1);
        let (_carols, _) = connect(&leader, carol(), 8).await;
        // Another identity cannot take dave's connection id.
        let taken = leader
            .connect_hosted(carol(), daves, None, "n4 boot-1".into())
            .await
            .expect("the actor runs");
        assert!(
            matches!(taken, Err(HostedError::Connect(ConnectError::ConnectionIdInUse(_)))),
            "{taken:?}"
        );
        // A call on dave's connection runs as dave's (the host-test module checks
        // nothing of it, but the call must be admitted on that connection).
        let outcome = leader
            .call_hosted(
                dave(),
                daves,
                None,
                "add_person".into(),
                serde_json::json!(["dan", 20, 1]),
            )
            .await
            .expect("the call on dave's connection runs");
        outcome.result.expect("add_person succeeds");
        let listed = leader.hosted_clients().await.expect("the actor runs");
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].identity, listed[0].connection_id, listed[0].host.as_str()),
            (dave(), daves, "n3 boot-1")
        );

        for frames in captured.take() {
            standby_apply(&mut local, &follower, frames);
        }
        let last = local.next_tx_offset() - 1;
        applied.wait_for(last).await.expect("the follower runs");

        // The leader dies; the follower is promoted: carol's connection died with it,
        // dave's lives on at n3.
        leader.shutdown();
        leader.stopped().await;
        follower
            .promote(local, 2, Box::new(Captured::default()))
            .await
            .expect("promoted");
        assert_eq!(
            rows(&follower, &online(carol())).await,
            0,
            "carol's client_disconnected ran"
        );
        assert_eq!(
            rows(&follower, &online(dave())).await,
            1,
            "dave is still connected at n3"
        );
        assert_eq!(follower.hosted_clients().await.expect("the actor runs"), listed);
        call(&follower, "add_person", serde_json::json!(["eve", 30, 2]))
            .await
            .unwrap();

        // Dave leaves: once, however often it is asked.
        let ended = follower
            .disconnect_hosted(dave(), daves, None)
            .await
            .expect("the actor runs");
        assert!(matches!(ended, Ok(true)), "{ended:?}");
        assert_eq!(rows(&follower, &online(dave())).await, 0);
        let again = follower
            .disconnect_hosted(dave(), daves, None)
            .await
            .expect("the actor runs");
        assert!(matches!(again, Ok(false)), "{again:?}");
        assert!(follower.hosted_clients().await.expect("the actor runs").is_empty());
        // A call on a connection that ended is refused.
        let refused = follower
            .call_hosted(
                dave(),
                daves,
                None,
                "add_person".into(),
                serde_json::json!(["fay", 40, 3]),
            )
            .await;
        assert!(
            matches!(refused, Err(CallError::NotConnected(id)) if id == daves),
            "{refused:?}"
        );
        assert_eq!(rows(&follower, "SELECT * FROM person").await, 2);
        follower.shutdown();
        follower.stopped().await;
    });
    let _ = (database(), owner());
}

#[test]
fn a_refused_hosted_client_is_not_logged_and_a_restart_keeps_the_hosted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let daves = ConnectionId::from_le_byte_array([6; 16]);
    runtime().block_on(async {
        let captured = Captured::default();
        let db = leader(dir.path(), 1, &captured).await;
        call(&db, "ban", serde_json::json!([{ "__identity__": format!("0x{}", carol().to_hex()) }]))
            .await
            .unwrap();
        let refused = db
            .connect_hosted(carol(), ConnectionId::from_le_byte_array([7; 16]), None, "n3 boot-1".into())
            .await
            .expect("the actor runs");
        assert!(
            matches!(&refused, Err(HostedError::Connect(ConnectError::Rejected(e))) if e.to_string().contains("banned")),
            "{refused:?}"
        );
        connect_dave(&db, daves).await.expect("dave connects");
        let (_carols, _) = connect(&db, owner(), 9).await;
        db.shutdown();
        db.stopped().await;
    });
    // Restarted from its log: the owner's WebSocket is gone (its client_disconnected
    // runs), dave's connection at n3 is not.
    runtime().block_on(async {
        let db = leader(dir.path(), 2, &Captured::default()).await;
        let hosted = db.hosted_clients().await.expect("the actor runs");
        assert_eq!(hosted.len(), 1, "{hosted:?}");
        assert_eq!(hosted[0].connection_id, daves);
        assert_eq!(rows(&db, &online(dave())).await, 1);
        db.shutdown();
        db.stopped().await;
    });
}
