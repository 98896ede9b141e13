//! The behaviour vectors every Spacetime SDK reads (`protocol/tests/vectors/`, described in
//! its README): the default reconnect backoff (`reconnect.json`), the subscribe URL
//! (`subscribe_url.json`) and the client cache's row events and contents
//! (`cache.json`).
//!
//! The cache vectors run through a real connection on a [`MockServer`]: a module written
//! here registers the tables each case declares, with rows kept as opaque bytes keyed by
//! their first four, and each step's message is delivered as the server would send it.

use serde_json::Value;
use spacetime_protocol::v2::*;
use spacetime_protocol::{BsatnRowList, Compression, QuerySetId};
use spacetime_sats::bsatn::{Decode, DecodeError};
use spacetimedb_sdk::__codegen as sdk;
use spacetimedb_sdk::mock::MockServer;
use spacetimedb_sdk::{ConnectionId, Identity, ReconnectPolicy};
use std::cell::RefCell;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Reads `protocol/tests/vectors/<name>` and returns its object, checking the shape every
/// vector file shares.
fn vector_file(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../protocol/tests/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
    assert!(file["description"].is_string(), "{name}: no description");
    file
}

fn cases<'a>(file: &'a Value, name: &str) -> &'a [Value] {
    let cases = file["cases"].as_array().unwrap_or_else(|| panic!("{name}: no cases"));
    assert!(!cases.is_empty(), "{name}: no cases");
    cases
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {v}"))
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` is not an unsigned integer in {v}"))
}

fn policy_of(v: &Value) -> ReconnectPolicy {
    ReconnectPolicy {
        initial_delay: Duration::from_millis(u64_of(v, "initial_delay_ms")),
        max_delay: Duration::from_millis(u64_of(v, "max_delay_ms")),
        max_attempts: v["max_attempts"]
            .as_u64()
            .map(|n| u32::try_from(n).expect("max_attempts is a u32")),
    }
}

#[test]
fn reconnect_vectors() {
    let file = vector_file("reconnect.json");
    let default = policy_of(&file["policy"]);
    assert_eq!(ReconnectPolicy::default(), default, "the default policy");
    let cases = cases(&file, "reconnect.json");
    for case in cases {
        let name = str_of(case, "name");
        let policy = case.get("policy").map_or_else(|| default.clone(), policy_of);
        let failures = u32::try_from(u64_of(case, "failures")).expect("failures is a u32");
        let expected = Duration::from_millis(u64_of(case, "delay_ms"));
        assert_eq!(policy.delay(failures), expected, "{name}");
    }
    assert!(
        cases.len() >= 34,
        "reconnect.json: {} cases, expected at least 34",
        cases.len()
    );
}

fn compression_of(name: &str) -> Compression {
    match name {
        "None" => Compression::None,
        "Gzip" => Compression::Gzip,
        "Brotli" => Compression::Brotli,
        other => panic!("unknown compression {other}"),
    }
}

#[test]
fn subscribe_url_vectors() {
    let file = vector_file("subscribe_url.json");
    let cases = cases(&file, "subscribe_url.json");
    for case in cases {
        let name = str_of(case, "name");
        let compression = compression_of(str_of(case, "compression"));
        let confirmed = match &case["confirmed"] {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            other => panic!("{name}: confirmed is {other}"),
        };
        // A URI the builder cannot even parse is refused as well (by `build`).
        let url = str_of(case, "uri")
            .parse()
            .map_err(|e| format!("unparsable: {e}"))
            .and_then(|uri| {
                spacetimedb_sdk::subscribe_url(&uri, str_of(case, "database"), compression, confirmed)
                    .map_err(|e| e.to_string())
            });
        if case["error"] == Value::Bool(true) {
            assert!(url.is_err(), "{name}: expected an error, got {url:?}");
        } else {
            assert_eq!(url.as_deref(), Ok(str_of(case, "url")), "{name}");
        }
    }
    assert!(
        cases.len() >= 21,
        "subscribe_url.json: {} cases, expected at least 21",
        cases.len()
    );
}

/// A row of a vector table: its bytes, and the `u32` they start with (the primary key of
/// tables that have one).
#[derive(Clone, Debug)]
struct VectorRow {
    key: u32,
    bytes: Vec<u8>,
}

impl Decode for VectorRow {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let bytes = input.to_vec();
        let key = u32::decode(input)?;
        *input = &[];
        Ok(Self { key, bytes })
    }
}

fn key_of(row: &VectorRow) -> &u32 {
    &row.key
}

thread_local! {
    /// The tables of the case this thread is running: name and whether it has a primary
    /// key. `register_tables` has no other input, and every cache of a mock connection is
    /// made on the thread driving it.
    static CASE_TABLES: RefCell<Vec<(&'static str, bool)>> = const { RefCell::new(Vec::new()) };
}

/// The module of the vector cases: no reducers, the tables of the current case.
struct VectorModule;

#[derive(Clone, Debug)]
enum NoReducer {}

impl sdk::Reducer for NoReducer {
    fn reducer_name(&self) -> &'static str {
        match *self {}
    }
    fn args_bsatn(&self) -> Vec<u8> {
        match *self {}
    }
}

struct VectorTables {
    imp: sdk::DbContextImpl<VectorModule>,
}

impl sdk::FromDbContextImpl<VectorModule> for VectorTables {
    fn from_imp(imp: sdk::DbContextImpl<VectorModule>) -> Self {
        Self { imp }
    }
}

struct NoReducers;

impl sdk::FromDbContextImpl<VectorModule> for NoReducers {
    fn from_imp(_: sdk::DbContextImpl<VectorModule>) -> Self {
        Self
    }
}

impl sdk::SpacetimeModule for VectorModule {
    type Reducer = NoReducer;
    type DbView = VectorTables;
    type Reducers = NoReducers;
    type Procedures = NoReducers;
    const ALL_TABLE_NAMES: &'static [&'static str] = &[];

    fn register_tables(cache: &mut sdk::ClientCache<Self>) {
        CASE_TABLES.with(|tables| {
            for &(name, has_pk) in tables.borrow().iter() {
                let table = cache.register_table::<VectorRow>(name);
                if has_pk {
                    table.set_primary_key(key_of);
                }
            }
        });
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd-length hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("bad hex {s}: {e}")))
        .collect()
}

fn row_list(rows: &Value) -> BsatnRowList {
    let rows = rows.as_array().unwrap_or_else(|| panic!("rows are not a list: {rows}"));
    BsatnRowList::from_rows(rows.iter().map(|r| unhex(r.as_str().expect("a row is a hex string"))))
}

fn query_rows(rows: &Value) -> QueryRows {
    let tables = rows
        .as_object()
        .unwrap_or_else(|| panic!("rows are not an object: {rows}"));
    QueryRows {
        tables: tables
            .iter()
            .map(|(table, rows)| SingleTableRows {
                table: table.as_str().into(),
                rows: row_list(rows),
            })
            .collect(),
    }
}

/// The query set a transaction's rows are attributed to: the vectors give none, and no
/// case subscribes this one (see the README).
const TRANSACTION_QUERY_SET: u32 = u32::MAX;

/// The server message a vector step describes.
fn server_message(message: &Value) -> ServerMessage {
    let query_set = || QuerySetId::new(u32::try_from(u64_of(message, "query_set")).expect("a u32 query set"));
    match str_of(message, "kind") {
        "subscribe_applied" => ServerMessage::SubscribeApplied(SubscribeApplied {
            request_id: 0,
            query_set_id: query_set(),
            rows: query_rows(&message["rows"]),
        }),
        "unsubscribe_applied" => ServerMessage::UnsubscribeApplied(UnsubscribeApplied {
            request_id: 0,
            query_set_id: query_set(),
            rows: Some(query_rows(&message["rows"])),
        }),
        "transaction_update" => {
            let tables = message["tables"].as_object().expect("transaction tables are an object");
            ServerMessage::TransactionUpdate(TransactionUpdate {
                query_sets: vec![QuerySetUpdate {
                    query_set_id: QuerySetId::new(TRANSACTION_QUERY_SET),
                    tables: tables
                        .iter()
                        .map(|(table, change)| TableUpdate {
                            table_name: table.as_str().into(),
                            rows: vec![TableUpdateRows::PersistentTable(PersistentTableRows {
                                inserts: row_list(&change["inserts"]),
                                deletes: row_list(&change["deletes"]),
                            })],
                        })
                        .collect(),
                }],
            })
        }
        other => panic!("unknown message kind {other}"),
    }
}

/// An event as the vectors write it, as one comparable string.
fn event_text(event: &Value) -> String {
    match str_of(event, "event") {
        "update" => format!(
            "update {} {} -> {}",
            str_of(event, "table"),
            str_of(event, "old"),
            str_of(event, "new")
        ),
        kind @ ("insert" | "delete") => format!("{kind} {} {}", str_of(event, "table"), str_of(event, "row")),
        other => panic!("unknown event {other}"),
    }
}

type Events = Arc<Mutex<Vec<String>>>;

fn take(events: &Events) -> Vec<String> {
    std::mem::take(&mut *events.lock().expect("events lock"))
}

/// A connection to a mock server, accepted, with every table's row callbacks logging.
fn connect(tables: &[(&'static str, bool)]) -> (sdk::DbConnection<VectorModule>, MockServer, Events) {
    CASE_TABLES.with(|t| *t.borrow_mut() = tables.to_vec());
    let (conn, server) = sdk::DbConnection::<VectorModule>::builder().build_with_mock();
    let events = Events::default();
    for &(table, has_pk) in tables {
        let handle = conn.db.imp.get_table::<VectorRow>(table);
        let log = events.clone();
        handle.on_insert(move |_, r| {
            log.lock()
                .expect("events lock")
                .push(format!("insert {table} {}", hex(&r.bytes)))
        });
        let log = events.clone();
        handle.on_delete(move |_, r| {
            log.lock()
                .expect("events lock")
                .push(format!("delete {table} {}", hex(&r.bytes)))
        });
        if has_pk {
            let log = events.clone();
            handle.on_update(move |_, old, new| {
                let text = format!("update {table} {} -> {}", hex(&old.bytes), hex(&new.bytes));
                log.lock().expect("events lock").push(text)
            });
        }
    }
    server.accept(Identity::from_byte_array([1; 32]), ConnectionId::from_u128(1), "token");
    conn.frame_tick().expect("the mock connection is accepted");
    (conn, server, events)
}

fn run_cache_case(case: &Value) -> usize {
    let name = str_of(case, "name");
    let declared = case["tables"]
        .as_object()
        .unwrap_or_else(|| panic!("{name}: no tables"));
    let tables: Vec<(&'static str, bool)> = declared
        .iter()
        .map(|(table, def)| {
            let has_pk = match &def["primary_key"] {
                Value::Null => false,
                pk => {
                    assert_eq!(pk.as_u64(), Some(0), "{name}: vector primary keys are column 0");
                    true
                }
            };
            // The SDK names tables by `&'static str`, as generated bindings do.
            (&*Box::leak(table.clone().into_boxed_str()), has_pk)
        })
        .collect();
    let (conn, server, events) = connect(&tables);
    let steps = case["steps"].as_array().unwrap_or_else(|| panic!("{name}: no steps"));
    for (i, step) in steps.iter().enumerate() {
        server.send(server_message(&step["message"]));
        conn.frame_tick().unwrap_or_else(|e| panic!("{name} step {i}: {e}"));
        let mut got = take(&events);
        let mut expected: Vec<String> = step["events"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} step {i}: no events"))
            .iter()
            .map(event_text)
            .collect();
        if step["ordered"] != Value::Bool(true) {
            got.sort();
            expected.sort();
        }
        assert_eq!(got, expected, "{name} step {i}: events");
        let cache = step["cache"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} step {i}: no cache"));
        assert_eq!(
            cache.len(),
            tables.len(),
            "{name} step {i}: the cache lists every table"
        );
        for &(table, _) in &tables {
            let mut rows: Vec<String> = conn
                .db
                .imp
                .get_table::<VectorRow>(table)
                .iter()
                .map(|r| hex(&r.bytes))
                .collect();
            rows.sort();
            let expected: Vec<&str> = cache[table]
                .as_array()
                .unwrap_or_else(|| panic!("{name} step {i}: no rows for {table}"))
                .iter()
                .map(|r| r.as_str().expect("a row is a hex string"))
                .collect();
            assert_eq!(rows, expected, "{name} step {i}: rows of {table}");
        }
    }
    steps.len()
}

#[test]
fn cache_vectors() {
    let file = vector_file("cache.json");
    let cases = cases(&file, "cache.json");
    let steps: usize = cases.iter().map(run_cache_case).sum();
    assert!(
        cases.len() >= 15 && steps >= 46,
        "cache.json: {} cases of {steps} steps, expected at least 15 of 46",
        cases.len()
    );
}
