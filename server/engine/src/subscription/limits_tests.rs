//! The per-client limits (issue 12, D3 to D5) through the manager's public API: a
//! `Subscribe` with repeated queries evaluates each once; one with too many queries, a
//! connection with too many query sets and initial rows over the byte limit are
//! refused with errors naming the limit; a client whose pending bytes pass the budget
//! is dropped as too slow; a replaced connection's late end does not forget its
//! replacement.

use super::test_db::{auth, catalog, database, owner};
use super::*;
use spacetime_protocol::QuerySetId;
use tokio::sync::mpsc;

fn client(manager: &mut SubscriptionManager, id: u8) -> (ClientHandle, mpsc::Receiver<Outgoing>) {
    let connection_id = ConnectionId::from_le_byte_array([id; 16]);
    let (handle, mut receiver) = ClientHandle::new(owner(), connection_id);
    let queue = handle.take_queue().unwrap();
    manager.add_client(owner(), connection_id, queue, "token".into(), None);
    let hello = receiver.try_recv().expect("InitialConnection");
    handle.flushed(hello.body.len());
    assert!(matches!(
        ServerMessage::from_bytes(&hello.body),
        Ok(ServerMessage::InitialConnection(_))
    ));
    (handle, receiver)
}

fn next(receiver: &mut mpsc::Receiver<Outgoing>) -> ServerMessage {
    ServerMessage::from_bytes(&receiver.try_recv().expect("a queued message").body).unwrap()
}

fn subscribe(id: u32, queries: Vec<String>) -> v2::Subscribe {
    v2::Subscribe {
        request_id: id,
        query_set_id: QuerySetId::new(id),
        query_strings: queries,
    }
}

fn error_of(message: ServerMessage) -> String {
    match message {
        ServerMessage::SubscriptionError(e) => e.error,
        other => panic!("expected a SubscriptionError, got {other:?}"),
    }
}

#[test]
fn repeated_queries_in_one_set_are_evaluated_once() {
    let (module, mut ds) = database(true);
    spacetime_sql::execute(
        "INSERT INTO person VALUES (1, 'a'), (2, 'b')",
        &auth(),
        catalog(&module),
        &mut ds,
    )
    .unwrap();
    let mut manager = SubscriptionManager::default();
    let (handle, mut receiver) = client(&mut manager, 1);
    let copies = vec!["SELECT * FROM person".to_owned(); MAX_QUERIES_PER_SUBSCRIBE];
    manager.subscribe(
        handle.connection_id,
        &auth(),
        subscribe(1, copies),
        catalog(&module),
        &ds,
        None,
    );
    match next(&mut receiver) {
        ServerMessage::SubscribeApplied(applied) => {
            let rows: usize = applied.rows.tables.iter().map(|t| t.rows.len()).sum();
            assert_eq!(rows, 2, "each row once, not once per copy");
        }
        other => panic!("expected SubscribeApplied, got {other:?}"),
    }
    assert_eq!(manager.distinct_queries(), 1);
}

#[test]
fn a_subscribe_over_the_query_limit_is_refused_naming_the_limit() {
    let (module, ds) = database(true);
    let mut manager = SubscriptionManager::default();
    let (handle, mut receiver) = client(&mut manager, 1);
    let copies = vec!["SELECT * FROM person".to_owned(); 3000];
    manager.subscribe(
        handle.connection_id,
        &auth(),
        subscribe(1, copies),
        catalog(&module),
        &ds,
        None,
    );
    let error = error_of(next(&mut receiver));
    assert!(
        error.contains("3000 queries") && error.contains("limit of 1000"),
        "{error}"
    );
    assert_eq!(manager.query_set_ids(handle.connection_id), Vec::<u32>::new());
}

#[test]
fn query_sets_per_connection_are_capped() {
    let (module, ds) = database(true);
    let mut manager = SubscriptionManager::default();
    let (handle, mut receiver) = client(&mut manager, 1);
    for id in 0..MAX_QUERY_SETS_PER_CLIENT as u32 {
        let query = vec![format!("SELECT * FROM person WHERE id = {id}")];
        manager.subscribe(
            handle.connection_id,
            &auth(),
            subscribe(id, query),
            catalog(&module),
            &ds,
            None,
        );
        assert!(matches!(next(&mut receiver), ServerMessage::SubscribeApplied(_)));
    }
    let query = vec!["SELECT * FROM person".to_owned()];
    manager.subscribe(
        handle.connection_id,
        &auth(),
        subscribe(5000, query),
        catalog(&module),
        &ds,
        None,
    );
    let error = error_of(next(&mut receiver));
    assert!(
        error.contains("1000 live query sets") && error.contains("limit is 1000"),
        "{error}"
    );
}

#[test]
fn initial_rows_over_the_byte_limit_are_refused_naming_the_limit() {
    let (module, mut ds) = database(true);
    // Rows of about 1 MiB each, one more than the limit holds.
    let person = ds.table_id_from_name("person").unwrap();
    let name = "x".repeat(1 << 20);
    let mut tx = ds.begin_mut_tx();
    for id in 0..(MAX_INITIAL_ROWS_BYTES >> 20) as u32 + 1 {
        let row = spacetime_sats::bsatn::to_vec(&(id, name.clone()));
        tx.insert_bsatn(person, &row).unwrap();
    }
    tx.commit();
    let mut manager = SubscriptionManager::default();
    let (handle, mut receiver) = client(&mut manager, 1);
    let query = vec!["SELECT * FROM person".to_owned()];
    manager.subscribe(
        handle.connection_id,
        &auth(),
        subscribe(1, query),
        catalog(&module),
        &ds,
        None,
    );
    let error = error_of(next(&mut receiver));
    assert!(error.contains("exceed 64 MiB"), "{error}");
    assert_eq!(manager.distinct_queries(), 0, "the refused set holds no query");
}

#[test]
fn a_client_over_the_byte_budget_is_dropped_as_too_slow() {
    let mut manager = SubscriptionManager::default();
    let (handle, mut receiver) = client(&mut manager, 1);
    let chunk = 16 << 20;
    // Taken off the queue and flushed: no longer pending.
    manager.send(handle.connection_id, vec![0; chunk], None);
    let taken = receiver.try_recv().unwrap();
    handle.flushed(taken.body.len());
    assert_eq!(handle.pending_bytes(), 0);
    for _ in 0..CLIENT_BYTE_BUDGET / chunk {
        manager.send(handle.connection_id, vec![0; chunk], None);
    }
    assert!(handle.dropped().is_none(), "exactly at the budget is allowed");
    assert_eq!(manager.identity_of(handle.connection_id), Some(owner()));
    manager.send(handle.connection_id, vec![0; 1], None);
    match handle.dropped() {
        Some(DropReason::TooSlow(reason)) => {
            assert!(
                reason.starts_with("too slow: 65 MiB queued, over the 64 MiB budget"),
                "{reason}"
            )
        }
        other => panic!("expected a too-slow drop, got {other:?}"),
    }
    assert_eq!(manager.identity_of(handle.connection_id), None);
    for _ in 0..CLIENT_BYTE_BUDGET / chunk {
        assert!(receiver.try_recv().is_ok());
    }
    assert!(matches!(
        receiver.try_recv(),
        Err(mpsc::error::TryRecvError::Disconnected)
    ));
}

#[test]
fn a_replaced_connection_ends_once_and_leaves_its_replacement() {
    let mut manager = SubscriptionManager::default();
    let (old, mut old_receiver) = client(&mut manager, 1);
    manager.replace_client(old.connection_id);
    assert_eq!(old.dropped(), Some(&DropReason::Replaced));
    assert!(matches!(
        old_receiver.try_recv(),
        Err(mpsc::error::TryRecvError::Disconnected)
    ));
    let (new, _new_receiver) = client(&mut manager, 1);
    assert!(
        !manager.end_connection(&old),
        "the replaced connection's end was handled"
    );
    assert_eq!(
        manager.identity_of(new.connection_id),
        Some(owner()),
        "the replacement stays"
    );

    // A connection that ended without being replaced is forgotten once.
    assert!(manager.end_connection(&new));
    assert_eq!(manager.identity_of(new.connection_id), None);
    assert!(!manager.end_connection(&new));
}
