//! The connection lifecycle, reducer calls and subscription handles.

use crate::chat::*;
use crate::support::*;
use spacetime_protocol::v2::*;
use spacetimedb_sdk::{DbContext, Error, Event, Table, TableWithPrimaryKey, Timestamp};

#[test]
fn row_callbacks_run_before_the_reducer_callback() {
    let (conn, mut server, log) = connected();
    let (_sub, qs) = subscribe(&conn, &mut server, &log);
    server.send(applied(qs, &[user(9, "me", true)], &[]));
    conn.frame_tick().unwrap();
    log.take();

    let l = log.clone();
    conn.db.user().on_update(move |ctx, _, _| {
        if let Event::Reducer(e) = &ctx.event {
            l.push(format!("update event {:?} {:?}", e.reducer, e.status));
        }
    });
    let l = log.clone();
    conn.reducers
        .set_name_then("neo".into(), move |ctx, result| {
            // The cache already holds the new row when the reducer's callback runs.
            let name = ctx.db.user().identity().find(&identity(9)).and_then(|u| u.name);
            l.push(format!("set_name {result:?} {name:?} {:?}", ctx.event.status));
        })
        .unwrap();
    conn.frame_tick().unwrap();
    let call = match server.try_recv() {
        Some(ClientMessage::CallReducer(c)) => c,
        other => panic!("expected a CallReducer, got {other:?}"),
    };
    assert_eq!(call.reducer, "set_name");
    assert_eq!(call.args, spacetime_sats::bsatn::to_vec(&"neo".to_string()));

    let update = TransactionUpdate {
        query_sets: vec![user_changes(qs, &[user(9, "neo", true)], &[user(9, "me", true)])],
    };
    server.send(ServerMessage::ReducerResult(ReducerResult {
        request_id: call.request_id,
        timestamp: Timestamp::from_micros_since_unix_epoch(5),
        result: ReducerOutcome::Ok(ReducerOk {
            ret_value: vec![],
            transaction_update: update,
        }),
    }));
    conn.frame_tick().unwrap();
    assert_eq!(
        log.take(),
        [
            "update user me -> neo",
            "update event SetName { name: \"neo\" } Committed",
            "set_name Ok(Ok(())) Some(\"neo\") Committed"
        ]
    );
}

#[test]
fn reducer_errors_reach_the_callback() {
    let (conn, mut server, log) = connected();
    for (outcome, expected) in [
        (
            ReducerOutcome::Err(spacetime_sats::bsatn::to_vec(&"Names must not be empty".to_string())),
            "Ok(Err(\"Names must not be empty\"))",
        ),
        (
            ReducerOutcome::InternalError("reducer ran out of energy".into()),
            "Err(InternalError",
        ),
        (ReducerOutcome::OkEmpty, "Ok(Ok(()))"),
    ] {
        let l = log.clone();
        conn.reducers
            .set_name_then(String::new(), move |ctx, r| {
                l.push(format!("{r:?} {:?}", ctx.event.status))
            })
            .unwrap();
        conn.frame_tick().unwrap();
        let Some(ClientMessage::CallReducer(call)) = server.try_recv() else {
            panic!("no call sent")
        };
        server.send(ServerMessage::ReducerResult(ReducerResult {
            request_id: call.request_id,
            timestamp: Timestamp::from_micros_since_unix_epoch(1),
            result: outcome,
        }));
        conn.frame_tick().unwrap();
        let entries = log.take();
        assert_eq!(entries.len(), 1);
        assert!(entries[0].starts_with(expected), "{entries:?}");
        if expected.starts_with("Ok(Err") {
            assert!(entries[0].ends_with("Err(\"Names must not be empty\")"));
        }
    }
    // Another client's transaction is a `Transaction` event.
    let l = log.clone();
    conn.db
        .message()
        .on_insert(move |ctx, _| l.push(format!("{:?}", matches!(ctx.event, Event::Transaction))));
    let (_sub, qs) = subscribe(&conn, &mut server, &log);
    server.send(transaction(vec![message_changes(qs, &[message(2, "yo")], &[])]));
    conn.frame_tick().unwrap();
    assert_eq!(log.take(), ["insert message yo", "true"]);
}

#[test]
fn unsubscribe_before_sending_cancels_locally() {
    let (conn, mut server, log) = connected();
    let l = log.clone();
    let l2 = log.clone();
    let handle = conn
        .subscription_builder()
        .on_applied(move |_| l.push("applied"))
        .subscribe("SELECT * FROM user");
    handle.unsubscribe_then(move |_| l2.push("ended")).unwrap();
    assert!(matches!(handle.unsubscribe(), Err(Error::AlreadyUnsubscribed)));
    conn.frame_tick().unwrap();
    assert_eq!(log.take(), ["ended"]);
    assert!(
        server.try_recv().is_none(),
        "nothing was sent for a cancelled subscription"
    );
    assert!(handle.is_ended());
    assert!(matches!(handle.unsubscribe(), Err(Error::AlreadyEnded)));
}

#[test]
fn a_rejected_subscription_reports_its_error() {
    let (conn, mut server, log) = connected();
    let l = log.clone();
    let handle = conn
        .subscription_builder()
        .on_applied(|_| panic!("must not apply"))
        .on_error(move |ctx, e| l.push(format!("{e} / {:?}", ctx.event.is_some())))
        .subscribe("SELECT * FROM nowhere");
    conn.frame_tick().unwrap();
    let Some(ClientMessage::Subscribe(s)) = server.try_recv() else {
        panic!("no subscribe")
    };
    server.send(ServerMessage::SubscriptionError(SubscriptionError {
        request_id: Some(s.request_id),
        query_set_id: s.query_set_id,
        error: "no such table `nowhere`".into(),
    }));
    conn.frame_tick().unwrap();
    assert_eq!(
        log.take(),
        ["the server reported an error for a subscription: no such table `nowhere` / true"]
    );
    assert!(handle.is_ended());
}

#[test]
fn subscribe_to_all_tables_names_every_table() {
    let (conn, mut server, _log) = connected();
    let _handle = conn.subscription_builder().subscribe_to_all_tables();
    conn.frame_tick().unwrap();
    let Some(ClientMessage::Subscribe(s)) = server.try_recv() else {
        panic!("no subscribe")
    };
    assert_eq!(s.query_strings, ["SELECT * FROM message", "SELECT * FROM user"]);
}

#[test]
fn disconnect_runs_on_disconnect_once_and_ends_the_connection() {
    let log = Log::default();
    let l = log.clone();
    let (conn, mut server) = DbConnection::builder()
        .on_disconnect(move |ctx, e| l.push(format!("disconnect {e:?} active={}", ctx.is_active())))
        .build_with_mock();
    server.accept(identity(1), spacetimedb_sdk::ConnectionId::from_u128(1), "t");
    conn.frame_tick().unwrap();
    assert_eq!(conn.identity(), identity(1));
    conn.disconnect().unwrap();
    assert!(!conn.is_active());
    assert!(matches!(conn.disconnect(), Err(Error::Disconnected)));
    assert!(matches!(conn.frame_tick(), Err(Error::Disconnected)));
    assert_eq!(log.take(), ["disconnect None active=false"]);
    assert!(server.client_closed());
    assert!(matches!(conn.frame_tick(), Err(Error::Disconnected)));
    assert!(matches!(conn.reducers.set_name("x".into()), Err(Error::Disconnected)));
    server.drain();
}

#[test]
fn a_close_before_the_initial_message_is_a_connect_error() {
    let log = Log::default();
    let (l1, l2) = (log.clone(), log.clone());
    let (conn, server) = DbConnection::builder()
        .on_connect(|_, _, _| panic!("must not connect"))
        .on_connect_error(move |_, e| l1.push(format!("connect error: {e}")))
        .on_disconnect(move |_, _| l2.push("disconnect"))
        .build_with_mock();
    server.close(Some("client_connected rejected the client"));
    let err = conn.frame_tick().unwrap_err();
    assert!(err.to_string().contains("rejected"), "{err}");
    assert_eq!(log.take(), ["connect error: client_connected rejected the client"]);
    assert!(!conn.is_active());
}

#[test]
fn callbacks_can_register_callbacks_but_not_drive_the_connection() {
    let (conn, mut server, log) = connected();
    let (_sub, qs) = subscribe(&conn, &mut server, &log);
    let inner = conn.clone();
    let l = log.clone();
    conn.db.message().on_insert(move |ctx, m| {
        let reentered = inner.frame_tick().map_err(|e| e.to_string());
        l.push(format!("reentry {reentered:?}"));
        let l2 = l.clone();
        let text = m.text.clone();
        ctx.db
            .message()
            .on_delete(move |_, gone| l2.push(format!("late delete {} after {text}", gone.text)));
    });
    server.send(transaction(vec![message_changes(qs, &[message(1, "a")], &[])]));
    conn.frame_tick().unwrap();
    let entries = log.take();
    assert_eq!(entries[0], "insert message a");
    assert!(
        entries[1].contains("cannot be called from inside one of its callbacks"),
        "{entries:?}"
    );
    // The callback registered inside a callback runs for later messages.
    server.send(transaction(vec![message_changes(qs, &[], &[message(1, "a")])]));
    conn.frame_tick().unwrap();
    assert_eq!(log.take(), ["delete message a", "late delete a after a"]);
}

#[test]
fn a_dropped_connection_without_reconnect_is_a_disconnect_with_error() {
    let log = Log::default();
    let l = log.clone();
    let (conn2, server2) = DbConnection::builder()
        .on_disconnect(move |_, e| l.push(e.map(|e| e.to_string()).unwrap_or_default()))
        .build_with_mock();
    server2.accept(identity(1), spacetimedb_sdk::ConnectionId::from_u128(1), "t");
    conn2.frame_tick().unwrap();
    server2.close(Some("connection reset"));
    assert!(conn2.frame_tick().unwrap_err().to_string().contains("connection reset"));
    assert!(!conn2.is_active());
    assert_eq!(log.take(), ["connection reset"]);
}

#[test]
fn builder_errors_name_the_missing_setting() {
    let err = DbConnection::builder()
        .with_database_name("chat")
        .build()
        .err()
        .expect("no uri");
    assert!(err.to_string().contains("with_uri"), "{err}");
    let err = DbConnection::builder()
        .with_uri("http://localhost:3000")
        .build()
        .err()
        .expect("no name");
    assert!(err.to_string().contains("with_database_name"), "{err}");
    let err = DbConnection::builder()
        .with_uri("ftp://localhost")
        .with_database_name("chat")
        .build()
        .err()
        .expect("bad scheme");
    assert!(err.to_string().contains("unsupported URI scheme `ftp`"), "{err}");
    let err = DbConnection::builder()
        .with_uri("http://a b")
        .with_database_name("chat")
        .build()
        .err()
        .expect("bad uri");
    assert!(err.to_string().contains("invalid server URI"), "{err}");
}
