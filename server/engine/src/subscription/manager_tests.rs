//! The manager without a module: a query set whose query fails on a transaction is
//! ended with a `SubscriptionError` (no request id) while the client's other sets keep
//! their updates; a forgotten client's queue closes although the WebSocket side still
//! holds its handle; `SELECT * FROM *` expands to the tables the caller may read;
//! deferred messages (the actor's mode) wait for `flush` and die with their client.

use super::test_db::{auth, catalog, database, owner};
use super::*;
use spacetime_protocol::v2::{QuerySetUpdate, TableUpdateRows, TransactionUpdate};
use tokio::sync::mpsc;

fn dml(module: &ModuleDef, ds: &mut Datastore, sql: &str) -> TxData {
    spacetime_sql::execute(sql, &auth(), catalog(module), ds)
        .unwrap()
        .tx
        .unwrap()
}

/// Registers a client with one query set per entry of `sets`, each compiled on `on`,
/// and takes its `InitialConnection` and `SubscribeApplied` messages off its queue.
fn register(
    manager: &mut SubscriptionManager,
    on: &(ModuleDef, Datastore),
    sets: &[(u32, &str)],
) -> (ClientHandle, mpsc::Receiver<Outgoing>) {
    let connection_id = ConnectionId::from_le_byte_array([7; 16]);
    let (handle, mut receiver) = ClientHandle::new(owner(), connection_id);
    let queue = handle.take_queue().unwrap();
    manager.add_client(owner(), connection_id, queue, "token".into(), None);
    for (id, sql) in sets {
        let subscribe = v2::Subscribe {
            request_id: *id,
            query_set_id: spacetime_protocol::QuerySetId::new(*id),
            query_strings: vec![(*sql).to_owned()],
        };
        manager.subscribe(connection_id, &auth(), subscribe, catalog(&on.0), &on.1, None);
    }
    manager.flush();
    assert!(matches!(next(&mut receiver), ServerMessage::InitialConnection(_)));
    for _ in sets {
        assert!(matches!(next(&mut receiver), ServerMessage::SubscribeApplied(_)));
    }
    (handle, receiver)
}

fn next(receiver: &mut mpsc::Receiver<Outgoing>) -> ServerMessage {
    ServerMessage::from_bytes(&receiver.try_recv().expect("a queued message").body).unwrap()
}

#[test]
fn a_query_that_fails_on_a_transaction_ends_only_its_query_set() {
    let compiled_on = database(true);
    // The same tables without the index on `pet.owner`: the join's probe finds no index.
    let (module, mut ds) = database(false);
    let mut manager = SubscriptionManager::default();
    let join = "SELECT pet.* FROM pet JOIN person ON pet.owner = person.id";
    let (_handle, mut receiver) = register(&mut manager, &compiled_on, &[(1, join), (2, "SELECT * FROM person")]);

    let tx = dml(&module, &mut ds, "INSERT INTO person VALUES (1, 'alice')");
    manager.publish(&ds, &tx, None, None);

    match next(&mut receiver) {
        ServerMessage::SubscriptionError(e) => {
            assert_eq!(e.request_id, None, "a live query set's failure has no request id");
            assert_eq!(e.query_set_id, spacetime_protocol::QuerySetId::new(1));
            assert!(e.error.contains(join), "the error names the query: {}", e.error);
        }
        other => panic!("expected a SubscriptionError, got {other:?}"),
    }
    match next(&mut receiver) {
        ServerMessage::TransactionUpdate(TransactionUpdate { query_sets }) => {
            let ids: Vec<_> = query_sets.iter().map(|s: &QuerySetUpdate| s.query_set_id).collect();
            assert_eq!(
                ids,
                [spacetime_protocol::QuerySetId::new(2)],
                "the healthy set still gets its update"
            );
            assert!(matches!(
                &query_sets[0].tables[0].rows[0],
                TableUpdateRows::PersistentTable { .. }
            ));
        }
        other => panic!("expected the healthy set's TransactionUpdate, got {other:?}"),
    }
    assert!(receiver.try_recv().is_err(), "nothing else is sent");
    let connection_id = ConnectionId::from_le_byte_array([7; 16]);
    assert_eq!(manager.query_set_ids(connection_id), [2], "the failed set is gone");
    assert_eq!(manager.distinct_queries(), 1, "the failed query is released");

    // The dead set hears nothing more.
    let tx = dml(&module, &mut ds, "INSERT INTO person VALUES (2, 'bob')");
    manager.publish(&ds, &tx, None, None);
    assert!(matches!(next(&mut receiver), ServerMessage::TransactionUpdate(_)));
    assert!(receiver.try_recv().is_err());
}

#[test]
fn a_forgotten_client_is_disconnected_though_its_handle_lives_on() {
    let db = database(true);
    let mut manager = SubscriptionManager::default();
    let (handle, mut receiver) = register(&mut manager, &db, &[(1, "SELECT * FROM person")]);
    manager.remove_client(handle.connection_id);
    assert!(
        matches!(receiver.try_recv(), Err(mpsc::error::TryRecvError::Disconnected)),
        "the queue closes, so the connection task ends the connection"
    );

    // A stopping database (the manager dropped with it) closes every queue too.
    let mut manager = SubscriptionManager::default();
    let (_handle, mut receiver) = register(&mut manager, &db, &[(1, "SELECT * FROM person")]);
    drop(manager);
    assert!(matches!(
        receiver.try_recv(),
        Err(mpsc::error::TryRecvError::Disconnected)
    ));
}

#[test]
fn select_star_from_star_is_every_readable_table() {
    let (module, _) = database(true);
    let queries = ["SELECT * FROM person".to_owned(), " select *  FROM * ;".to_owned()];
    assert_eq!(
        expand_all_tables(&queries, &auth(), &module),
        [
            "SELECT * FROM person",
            "SELECT * FROM person",
            "SELECT * FROM pet",
            "SELECT * FROM secret"
        ]
    );
    let stranger = SqlAuth {
        caller: Identity::from_claims("test", "stranger"),
        owner: owner(),
    };
    assert_eq!(
        expand_all_tables(&queries[1..], &stranger, &module),
        ["SELECT * FROM person", "SELECT * FROM pet"]
    );
    assert_eq!(
        expand_all_tables(&["SELECT * FROM pet".to_owned()], &stranger, &module),
        ["SELECT * FROM pet"]
    );
}

#[test]
fn deferred_messages_wait_for_flush_and_die_with_their_client() {
    let on = database(true);
    let (module, mut ds) = database(true);
    let mut manager = SubscriptionManager::default();
    manager.defer_sends();
    let (handle, mut receiver) = register(&mut manager, &on, &[(1, "SELECT * FROM person")]);

    let tx = dml(&module, &mut ds, "INSERT INTO person VALUES (1, 'alice')");
    manager.publish(&ds, &tx, None, None);
    let tx = dml(&module, &mut ds, "INSERT INTO person VALUES (2, 'bob')");
    manager.publish(&ds, &tx, None, None);
    assert!(receiver.try_recv().is_err(), "held until the flush");
    manager.flush();
    assert!(matches!(next(&mut receiver), ServerMessage::TransactionUpdate(_)));
    assert!(matches!(next(&mut receiver), ServerMessage::TransactionUpdate(_)));
    assert!(receiver.try_recv().is_err());

    // A client dropped before the flush takes its held messages with it, so a
    // reconnect under the same connection id does not receive them.
    let tx = dml(&module, &mut ds, "INSERT INTO person VALUES (3, 'carol')");
    manager.publish(&ds, &tx, None, None);
    manager.remove_client(handle.connection_id);
    let (_again, mut receiver) = register(&mut manager, &on, &[(1, "SELECT * FROM person")]);
    manager.flush();
    assert!(
        receiver.try_recv().is_err(),
        "the old connection's update is not delivered"
    );
}
