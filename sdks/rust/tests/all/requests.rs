//! Procedure calls, one-off queries and views, through the generated bindings of the
//! procedures module with two views (codegen's golden copy) and a [`MockServer`]: what the
//! client sends, how each answer reaches the future or the callback, and how waiting
//! requests fail when the connection ends or drops.

use crate::procedures::*;
use crate::support::{identity, rows, Log};
use futures_util::FutureExt;
use spacetime_protocol::v2::*;
use spacetime_protocol::QuerySetId;
use spacetimedb_sdk::mock::MockServer;
use spacetimedb_sdk::{ConnectionId, DbContext, Error, Table, TableWithPrimaryKey, TimeDuration, Timestamp};

fn connected() -> (DbConnection, MockServer) {
    let (conn, server) = DbConnection::builder().build_with_mock();
    server.accept(identity(1), ConnectionId::from_u128(1), "token");
    conn.frame_tick().expect("connected");
    (conn, server)
}

fn returned(request_id: u32, status: ProcedureStatus) -> ServerMessage {
    ServerMessage::ProcedureResult(ProcedureResult {
        status,
        timestamp: Timestamp::from_micros_since_unix_epoch(1),
        total_host_execution_duration: TimeDuration::from_micros(10),
        request_id,
    })
}

fn sent_procedure(server: &mut MockServer) -> CallProcedure {
    match server.try_recv() {
        Some(ClientMessage::CallProcedure(c)) => c,
        other => panic!("expected a CallProcedure, got {other:?}"),
    }
}

#[test]
fn a_procedure_call_resolves_with_its_decoded_return_value() {
    let (conn, mut server) = connected();
    let call = conn.procedures.add(2, 40);
    conn.frame_tick().unwrap();
    let sent = sent_procedure(&mut server);
    assert_eq!(sent.procedure, "add");
    assert_eq!(sent.args, spacetime_sats::bsatn::to_vec(&(2u32, 40u32)));

    server.send(returned(
        sent.request_id,
        ProcedureStatus::Returned(spacetime_sats::bsatn::to_vec(&42u32)),
    ));
    conn.frame_tick().unwrap();
    assert_eq!(call.now_or_never().expect("answered").expect("returned"), 42);
}

#[test]
fn a_failed_procedure_rejects_with_the_hosts_message() {
    let (conn, mut server) = connected();
    let call = conn.procedures.panic_in_tx();
    conn.frame_tick().unwrap();
    let sent = sent_procedure(&mut server);
    server.send(returned(
        sent.request_id,
        ProcedureStatus::InternalError("boom inside with_tx".into()),
    ));
    conn.frame_tick().unwrap();
    match call.now_or_never().expect("answered") {
        Err(Error::ProcedureFailed { procedure, message }) => {
            assert_eq!(
                (procedure.as_str(), message.as_str()),
                ("panic_in_tx", "boom inside with_tx")
            );
        }
        other => panic!("expected ProcedureFailed, got {other:?}"),
    }
}

#[test]
fn the_callback_form_gets_a_context_and_the_value() {
    let (conn, mut server) = connected();
    let log = Log::default();
    let l = log.clone();
    conn.procedures
        .fetch_and_store_then("http://example.invalid/".into(), move |ctx, result| {
            l.push(format!("{result:?} active={}", ctx.is_active()));
        })
        .unwrap();
    conn.frame_tick().unwrap();
    let sent = sent_procedure(&mut server);
    assert_eq!(
        sent.args,
        spacetime_sats::bsatn::to_vec(&"http://example.invalid/".to_string())
    );
    server.send(returned(
        sent.request_id,
        ProcedureStatus::Returned(spacetime_sats::bsatn::to_vec(&"body".to_string())),
    ));
    conn.frame_tick().unwrap();
    assert_eq!(log.take(), ["Ok(\"body\") active=true"]);
}

#[test]
fn a_return_value_of_the_wrong_shape_is_an_error_not_a_panic() {
    let (conn, mut server) = connected();
    let call = conn.procedures.count_fetched();
    conn.frame_tick().unwrap();
    let sent = sent_procedure(&mut server);
    server.send(returned(sent.request_id, ProcedureStatus::Returned(vec![1, 2])));
    conn.frame_tick().unwrap();
    let error = call
        .now_or_never()
        .expect("answered")
        .expect_err("two bytes are not a u64");
    assert!(error.to_string().contains("count_fetched"), "{error}");
}

#[test]
fn waiting_requests_fail_when_the_connection_ends() {
    let (conn, mut server) = connected();
    let log = Log::default();
    let call = conn.procedures.add(1, 1);
    let query = conn.query("SELECT * FROM fetched");
    let l = log.clone();
    conn.procedures
        .count_fetched_then(move |_, result| l.push(format!("{result:?}")))
        .unwrap();
    conn.frame_tick().unwrap();
    assert_eq!(server.drain().len(), 3);
    server.close(Some("server went away"));
    assert!(conn.frame_tick().is_err());

    let error = call.now_or_never().expect("failed").expect_err("no result");
    assert!(error.to_string().contains("before procedure `add` returned"), "{error}");
    let error = query.now_or_never().expect("failed").expect_err("no result");
    assert!(error.to_string().contains("one-off query"), "{error}");
    let logged = log.take();
    assert!(logged.len() == 1 && logged[0].contains("count_fetched"), "{logged:?}");

    // After the end, a new call fails at once.
    let late = conn.procedures.add(1, 2).now_or_never().expect("failed at once");
    assert!(matches!(late, Err(Error::Disconnected)), "{late:?}");
}

#[test]
fn a_dropped_connection_fails_waiting_requests_as_lost() {
    let (conn, server) = DbConnection::builder().build_with_mock();
    let mut server = server;
    server.accept(identity(1), ConnectionId::from_u128(1), "token");
    conn.frame_tick().unwrap();
    let call = conn.procedures.add(1, 1);
    conn.frame_tick().unwrap();
    sent_procedure(&mut server);
    server.drop_and_reconnect("network");
    conn.frame_tick().unwrap();
    let error = call.now_or_never().expect("failed").expect_err("lost");
    assert!(
        error.to_string().contains("was lost before procedure `add` returned"),
        "{error}"
    );
}

#[test]
fn one_off_queries_return_typed_rows_or_the_servers_error() {
    let (conn, mut server) = connected();
    let query = conn.query("SELECT * FROM fetched");
    conn.frame_tick().unwrap();
    let sent = match server.try_recv() {
        Some(ClientMessage::OneOffQuery(q)) => q,
        other => panic!("expected a OneOffQuery, got {other:?}"),
    };
    assert_eq!(sent.query_string, "SELECT * FROM fetched");
    let fetched = [
        Fetched {
            id: 1,
            body: "a".into(),
        },
        Fetched {
            id: 2,
            body: "b".into(),
        },
    ];
    server.send(ServerMessage::OneOffQueryResult(OneOffQueryResult {
        request_id: sent.request_id,
        result: Ok(QueryRows {
            tables: vec![SingleTableRows {
                table: "fetched".into(),
                rows: rows(&fetched),
            }],
        }),
    }));
    conn.frame_tick().unwrap();
    let answer = query.now_or_never().expect("answered").expect("rows");
    assert_eq!(answer.len(), 2);
    assert_eq!(answer.tables()[0].name, "fetched");
    assert_eq!(answer.rows_of::<Fetched>("fetched").unwrap(), fetched);
    assert!(answer.rows_of::<Fetched>("bumped").unwrap().is_empty());
    assert_eq!(answer.into_rows::<Fetched>().unwrap(), fetched);
    // One-off rows never enter the cache.
    assert_eq!(conn.db.fetched().count(), 0);

    let bad = conn.query("SELECT * FROM nowhere");
    conn.frame_tick().unwrap();
    let sent = match server.try_recv() {
        Some(ClientMessage::OneOffQuery(q)) => q,
        other => panic!("expected a OneOffQuery, got {other:?}"),
    };
    server.send(ServerMessage::OneOffQueryResult(OneOffQueryResult {
        request_id: sent.request_id,
        result: Err("no such table: `nowhere`".into()),
    }));
    conn.frame_tick().unwrap();
    match bad.now_or_never().expect("answered") {
        Err(Error::QueryFailed { message }) => assert_eq!(message, "no such table: `nowhere`"),
        other => panic!("expected QueryFailed, got {other:?}"),
    }
}

#[test]
fn a_keyed_view_is_cached_like_a_table_and_pairs_updates() {
    let (conn, mut server) = connected();
    let log = Log::default();
    let l = log.clone();
    conn.db
        .recent_fetches()
        .on_update(move |_, old, new| l.push(format!("update {} -> {}", old.body, new.body)));
    let l = log.clone();
    conn.db
        .my_last_bump()
        .on_insert(move |_, b| l.push(format!("insert bump {}", b.by)));
    let _sub = conn
        .subscription_builder()
        .subscribe(["SELECT * FROM recent_fetches", "SELECT * FROM my_last_bump"]);
    conn.frame_tick().unwrap();
    let qs = match server.try_recv() {
        Some(ClientMessage::Subscribe(s)) => s.query_set_id,
        other => panic!("expected a Subscribe, got {other:?}"),
    };
    let first = Fetched {
        id: 7,
        body: "old".into(),
    };
    server.send(ServerMessage::SubscribeApplied(SubscribeApplied {
        request_id: 0,
        query_set_id: qs,
        rows: QueryRows {
            tables: vec![
                SingleTableRows {
                    table: "recent_fetches".into(),
                    rows: rows(std::slice::from_ref(&first)),
                },
                SingleTableRows {
                    table: "my_last_bump".into(),
                    rows: rows(&[Bumped { id: 1, by: 3 }]),
                },
            ],
        },
    }));
    conn.frame_tick().unwrap();
    assert_eq!(conn.db.recent_fetches().count(), 1);
    assert_eq!(conn.db.recent_fetches().id().find(&7), Some(first.clone()));
    assert_eq!(log.take(), ["insert bump 3"]);

    let second = Fetched {
        id: 7,
        body: "new".into(),
    };
    server.send(ServerMessage::TransactionUpdate(TransactionUpdate {
        query_sets: vec![QuerySetUpdate {
            query_set_id: QuerySetId::new(qs.id),
            tables: vec![TableUpdate {
                table_name: "recent_fetches".into(),
                rows: vec![TableUpdateRows::PersistentTable(PersistentTableRows {
                    inserts: rows(std::slice::from_ref(&second)),
                    deletes: rows(&[first]),
                })],
            }],
        }],
    }));
    conn.frame_tick().unwrap();
    assert_eq!(log.take(), ["update old -> new"]);
    assert_eq!(conn.db.recent_fetches().id().find(&7), Some(second));
}

#[test]
fn subscribing_to_all_tables_includes_the_views() {
    let (conn, mut server) = connected();
    let _handle = conn.subscription_builder().subscribe_to_all_tables();
    conn.frame_tick().unwrap();
    let Some(ClientMessage::Subscribe(s)) = server.try_recv() else {
        panic!("no subscribe")
    };
    for view in ["SELECT * FROM recent_fetches", "SELECT * FROM my_last_bump"] {
        assert!(
            s.query_strings.iter().any(|q| q == view),
            "{view} missing: {:?}",
            s.query_strings
        );
    }
}
