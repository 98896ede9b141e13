//! Each message of `tests/vectors/messages.json` (encoded by SpacetimeDB 2.10.1) built
//! with our types: encoding must give exactly the recorded bytes, decoding must give the
//! message back.

use spacetime_protocol::v2::*;
use spacetime_protocol::{BsatnRowList, QuerySetId, RowSizeHint};
use spacetime_sats::{u256, ConnectionId, Identity, TimeDuration, Timestamp};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("vector hex is valid"))
        .collect()
}

fn rows_fixed() -> BsatnRowList {
    BsatnRowList::fixed_size(4, vec![1, 0, 0, 0, 2, 0, 0, 0]).expect("valid fixed-size list")
}

fn rows_offsets() -> BsatnRowList {
    BsatnRowList::new(
        RowSizeHint::RowOffsets(vec![0, 3]),
        b"\x01\x00\x00\x02\x00".to_vec().into(),
    )
    .expect("valid offsets")
}

fn transaction_update() -> TransactionUpdate {
    TransactionUpdate {
        query_sets: vec![QuerySetUpdate {
            query_set_id: QuerySetId::new(7),
            tables: vec![
                TableUpdate {
                    table_name: "user".into(),
                    rows: vec![TableUpdateRows::PersistentTable(PersistentTableRows {
                        inserts: rows_fixed(),
                        deletes: rows_offsets(),
                    })],
                },
                TableUpdate {
                    table_name: "ev".into(),
                    rows: vec![TableUpdateRows::EventTable(EventTableRows { events: rows_fixed() })],
                },
            ],
        }],
    }
}

fn query_rows() -> QueryRows {
    QueryRows {
        tables: vec![SingleTableRows {
            table: "message".into(),
            rows: rows_offsets(),
        }],
    }
}

enum Msg {
    Client(ClientMessage),
    Server(ServerMessage),
}

fn case(name: &str) -> Msg {
    let identity = Identity::from_u256(u256::from_words(
        0x0102030405060708090a0b0c0d0e0f10,
        0x1112131415161718191a1b1c1d1e1f20,
    ));
    let connection_id = ConnectionId::from_u128(0xa1a2a3a4a5a6a7a8a9aaabacadaeafb0);
    let timestamp = Timestamp::from_micros_since_unix_epoch(1_700_000_000_123_456);
    let qs = QuerySetId::new(2);
    let reducer = |result| {
        Msg::Server(ServerMessage::ReducerResult(ReducerResult {
            request_id: 6,
            timestamp,
            result,
        }))
    };
    match name {
        "client_subscribe" => Msg::Client(ClientMessage::Subscribe(Subscribe {
            request_id: 1,
            query_set_id: qs,
            query_strings: vec!["SELECT * FROM user".into(), "SELECT * FROM message".into()],
        })),
        "client_unsubscribe_default" => Msg::Client(ClientMessage::Unsubscribe(Unsubscribe {
            request_id: 3,
            query_set_id: qs,
            flags: UnsubscribeFlags::Default,
        })),
        "client_unsubscribe_send_dropped" => Msg::Client(ClientMessage::Unsubscribe(Unsubscribe {
            request_id: 4,
            query_set_id: qs,
            flags: UnsubscribeFlags::SendDroppedRows,
        })),
        "client_one_off_query" => Msg::Client(ClientMessage::OneOffQuery(OneOffQuery {
            request_id: 5,
            query_string: "SELECT 1".into(),
        })),
        "client_call_reducer" => Msg::Client(ClientMessage::CallReducer(CallReducer {
            request_id: 6,
            flags: CallFlags::Default,
            reducer: "set_name".into(),
            args: b"\x03\x00\x00\x00bob".to_vec(),
        })),
        "client_call_procedure" => Msg::Client(ClientMessage::CallProcedure(CallProcedure {
            request_id: 7,
            flags: CallFlags::Default,
            procedure: "p".into(),
            args: Vec::new(),
        })),
        "server_initial_connection" => Msg::Server(ServerMessage::InitialConnection(InitialConnection {
            identity,
            connection_id,
            token: "tok".into(),
        })),
        "server_subscribe_applied" => Msg::Server(ServerMessage::SubscribeApplied(SubscribeApplied {
            request_id: 1,
            query_set_id: qs,
            rows: query_rows(),
        })),
        "server_unsubscribe_applied_rows" => Msg::Server(ServerMessage::UnsubscribeApplied(UnsubscribeApplied {
            request_id: 4,
            query_set_id: qs,
            rows: Some(query_rows()),
        })),
        "server_unsubscribe_applied_none" => Msg::Server(ServerMessage::UnsubscribeApplied(UnsubscribeApplied {
            request_id: 3,
            query_set_id: qs,
            rows: None,
        })),
        "server_subscription_error_request" => Msg::Server(ServerMessage::SubscriptionError(SubscriptionError {
            request_id: Some(1),
            query_set_id: qs,
            error: "no such table".into(),
        })),
        "server_subscription_error_live" => Msg::Server(ServerMessage::SubscriptionError(SubscriptionError {
            request_id: None,
            query_set_id: qs,
            error: "bad".into(),
        })),
        "server_transaction_update" => Msg::Server(ServerMessage::TransactionUpdate(transaction_update())),
        "server_one_off_ok" => Msg::Server(ServerMessage::OneOffQueryResult(OneOffQueryResult {
            request_id: 5,
            result: Ok(query_rows()),
        })),
        "server_one_off_err" => Msg::Server(ServerMessage::OneOffQueryResult(OneOffQueryResult {
            request_id: 5,
            result: Err("oops".into()),
        })),
        "server_reducer_ok" => reducer(ReducerOutcome::Ok(ReducerOk {
            ret_value: Vec::new(),
            transaction_update: transaction_update(),
        })),
        "server_reducer_ok_empty" => reducer(ReducerOutcome::OkEmpty),
        "server_reducer_err" => reducer(ReducerOutcome::Err(spacetime_sats::bsatn::to_vec(
            &"Names must not be empty".to_string(),
        ))),
        "server_reducer_internal_error" => reducer(ReducerOutcome::InternalError("reducer ran out of energy".into())),
        "server_procedure_returned" => Msg::Server(ServerMessage::ProcedureResult(ProcedureResult {
            status: ProcedureStatus::Returned(vec![42]),
            timestamp,
            total_host_execution_duration: TimeDuration::from_micros(1500),
            request_id: 7,
        })),
        "server_procedure_internal_error" => Msg::Server(ServerMessage::ProcedureResult(ProcedureResult {
            status: ProcedureStatus::InternalError("no such procedure".into()),
            timestamp,
            total_host_execution_duration: TimeDuration::from_micros(0),
            request_id: 7,
        })),
        other => panic!("vector {other} has no message in this test: add one"),
    }
}

#[test]
fn every_vector_matches_upstream_bytes() {
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../vectors/messages.json")).expect("vector file parses");
    assert_eq!(cases.len(), 21, "the vector file lost or gained cases");
    let mut tags_seen = std::collections::BTreeSet::new();
    for c in &cases {
        let name = c["name"].as_str().expect("name");
        let bytes = unhex(c["bsatn_hex"].as_str().expect("bsatn_hex"));
        match case(name) {
            Msg::Client(m) => {
                assert_eq!(m.to_bytes(), bytes, "{name}: encoding");
                assert_eq!(
                    ClientMessage::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}")),
                    m,
                    "{name}: decoding"
                );
                tags_seen.insert(("client", bytes[0]));
            }
            Msg::Server(m) => {
                assert_eq!(m.to_bytes(), bytes, "{name}: encoding");
                assert_eq!(
                    ServerMessage::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}")),
                    m,
                    "{name}: decoding"
                );
                tags_seen.insert(("server", bytes[0]));
            }
        }
    }
    // Every variant of both enums is covered.
    assert_eq!(tags_seen.len(), 5 + 8);
}

#[test]
fn procedure_result_puts_request_id_last() {
    let Msg::Server(m) = case("server_procedure_returned") else {
        unreachable!()
    };
    let bytes = m.to_bytes();
    assert_eq!(&bytes[bytes.len() - 4..], &7u32.to_le_bytes());
}
