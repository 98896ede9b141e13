//! Cache semantics: reference counts across overlapping query sets, primary-key update
//! pairing, net diffs within one message, unique lookups, and reconnect diffing.

use crate::chat::*;
use crate::support::*;
use spacetime_protocol::v2::*;
use spacetime_protocol::QuerySetId;
use spacetimedb_sdk::{DbContext, Table};

#[test]
fn a_row_in_two_query_sets_is_inserted_once_and_removed_with_the_last() {
    let (conn, mut server, log) = connected();
    let (first, qs1) = subscribe(&conn, &mut server, &log);
    let (second, qs2) = subscribe(&conn, &mut server, &log);
    assert_ne!(qs1, qs2);
    let alice = user(1, "alice", true);
    server.send(applied(qs1, std::slice::from_ref(&alice), &[]));
    server.send(applied(qs2, &[alice.clone(), user(2, "bob", true)], &[]));
    conn.frame_tick().unwrap();
    assert_eq!(
        log.take(),
        ["insert user alice", "applied", "insert user bob", "applied"]
    );
    assert_eq!(conn.db.user().count(), 2);
    assert!(first.is_active() && second.is_active());

    first.unsubscribe().unwrap();
    conn.frame_tick().unwrap();
    match server.try_recv() {
        Some(ClientMessage::Unsubscribe(u)) => {
            assert_eq!(u.query_set_id.id, qs1);
            assert_eq!(u.flags, UnsubscribeFlags::SendDroppedRows);
        }
        other => panic!("expected an Unsubscribe, got {other:?}"),
    }
    server.send(ServerMessage::UnsubscribeApplied(UnsubscribeApplied {
        request_id: 0,
        query_set_id: QuerySetId::new(qs1),
        rows: Some(query_rows(std::slice::from_ref(&alice), &[])),
    }));
    conn.frame_tick().unwrap();
    assert_eq!(
        log.take(),
        Vec::<String>::new(),
        "alice is still held by the second query set"
    );
    assert_eq!(conn.db.user().count(), 2);
    assert!(first.is_ended());

    // The second set's delete of alice is the last reference.
    server.send(transaction(vec![user_changes(qs2, &[], std::slice::from_ref(&alice))]));
    conn.frame_tick().unwrap();
    assert_eq!(log.take(), ["delete user alice"]);
    assert_eq!(
        conn.db.user().iter().map(|u| u.name.unwrap()).collect::<Vec<_>>(),
        ["bob"]
    );
}

#[test]
fn delete_and_insert_of_one_primary_key_is_an_update() {
    let (conn, mut server, log) = connected();
    let (_sub, qs) = subscribe(&conn, &mut server, &log);
    server.send(applied(qs, &[user(1, "alice", true)], &[message(1, "hi")]));
    conn.frame_tick().unwrap();
    log.take();

    // User has a primary key: one update. Message has none: a delete and an insert.
    server.send(transaction(vec![
        user_changes(qs, &[user(1, "alicia", true)], &[user(1, "alice", true)]),
        message_changes(qs, &[message(1, "hello")], &[message(1, "hi")]),
    ]));
    conn.frame_tick().unwrap();
    assert_eq!(
        log.take(),
        [
            "update user alice -> alicia",
            "delete message hi",
            "insert message hello"
        ]
    );
    assert_eq!(
        conn.db.user().identity().find(&identity(1)).and_then(|u| u.name),
        Some("alicia".into())
    );
    assert_eq!(conn.db.user().identity().find(&identity(2)), None);
}

#[test]
fn a_row_that_comes_and_goes_in_one_message_fires_nothing() {
    let (conn, mut server, log) = connected();
    let (_sub, qs) = subscribe(&conn, &mut server, &log);
    server.send(applied(qs, &[], &[]));
    conn.frame_tick().unwrap();
    log.take();
    let ghost = user(3, "ghost", false);
    // Two query-set updates in one transaction: one inserts, the other deletes.
    server.send(transaction(vec![
        user_changes(qs, std::slice::from_ref(&ghost), &[]),
        user_changes(qs, &[], std::slice::from_ref(&ghost)),
    ]));
    conn.frame_tick().unwrap();
    assert_eq!(log.take(), Vec::<String>::new());
    assert_eq!(conn.db.user().count(), 0);
}

#[test]
fn a_failed_live_subscription_drops_only_its_own_rows() {
    let (conn, mut server, log) = connected();
    let l = log.clone();
    let failing = conn
        .subscription_builder()
        .on_error(move |_, e| l.push(format!("error {e}")))
        .subscribe("SELECT * FROM user");
    conn.frame_tick().unwrap();
    let qs_failing = match server.try_recv() {
        Some(ClientMessage::Subscribe(s)) => s.query_set_id.id,
        other => panic!("{other:?}"),
    };
    let (_other, qs_other) = subscribe(&conn, &mut server, &log);
    server.send(applied(
        qs_failing,
        &[user(1, "alice", true), user(2, "bob", true)],
        &[],
    ));
    server.send(applied(qs_other, &[user(2, "bob", true)], &[]));
    conn.frame_tick().unwrap();
    log.take();
    server.send(ServerMessage::SubscriptionError(SubscriptionError {
        request_id: None,
        query_set_id: QuerySetId::new(qs_failing),
        error: "table dropped".into(),
    }));
    conn.frame_tick().unwrap();
    assert_eq!(
        log.take(),
        [
            "delete user alice",
            "error the server reported an error for a subscription: table dropped"
        ]
    );
    assert!(failing.is_ended());
    assert_eq!(conn.db.user().count(), 1);
}

#[test]
fn reconnect_fires_only_the_real_differences() {
    let (conn, mut server, log) = connected();
    let (sub, qs) = subscribe(&conn, &mut server, &log);
    server.send(applied(
        qs,
        &[user(1, "alice", true), user(2, "bob", true), user(3, "carol", true)],
        &[message(1, "hi")],
    ));
    conn.frame_tick().unwrap();
    log.take();

    // A reducer call in flight when the connection drops fails with a clear error.
    let l = log.clone();
    conn.reducers
        .set_name_then("al".into(), move |_, r| l.push(format!("set_name {r:?}")))
        .unwrap();
    conn.frame_tick().unwrap();
    assert!(matches!(server.try_recv(), Some(ClientMessage::CallReducer(_))));

    server.drop_and_reconnect("network unreachable");
    conn.frame_tick().unwrap();
    let entries = log.take();
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].contains("the connection was lost before the reducer's result arrived"),
        "{entries:?}"
    );
    assert!(conn.is_active(), "a reconnecting connection is still active");
    assert_eq!(conn.db.user().count(), 3, "readers see the old rows while reconnecting");

    // Calls made while reconnecting wait for the resubscription.
    conn.reducers.send_message("queued".into()).unwrap();
    conn.frame_tick().unwrap();
    assert!(server.try_recv().is_none());

    server.accept(identity(9), spacetimedb_sdk::ConnectionId::from_u128(8), "token-1");
    conn.frame_tick().unwrap();
    match server.try_recv() {
        Some(ClientMessage::Subscribe(s)) => assert_eq!(s.query_set_id.id, qs, "the same query set is resubscribed"),
        other => panic!("expected the resubscription, got {other:?}"),
    }
    // Meanwhile alice left, bob was renamed, dave arrived; carol and the message are unchanged.
    server.send(applied(
        qs,
        &[user(2, "robert", true), user(3, "carol", true), user(4, "dave", true)],
        &[message(1, "hi")],
    ));
    conn.frame_tick().unwrap();
    let mut entries = log.take();
    entries.sort();
    assert_eq!(
        entries,
        ["delete user alice", "insert user dave", "update user bob -> robert"]
    );
    assert!(sub.is_active());
    assert_eq!(
        conn.try_connection_id(),
        Some(spacetimedb_sdk::ConnectionId::from_u128(8))
    );
    // The call queued during the outage goes out after the resubscription.
    match server.try_recv() {
        Some(ClientMessage::CallReducer(c)) => assert_eq!(c.reducer, "send_message"),
        other => panic!("expected the queued reducer call, got {other:?}"),
    }
}
