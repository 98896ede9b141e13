//! The bodies of Spacetime's fuzz targets, one function per target, each feeding arbitrary
//! bytes to the product code that reads untrusted input and checking what must hold of the
//! result (a decoded value re-encodes to the same bytes, and so on), not only that nothing
//! panics.
//!
//! # Brief overview
//! - [`ws_client_message`]: a WebSocket binary frame from a client, as v2 (one message) and
//!   v3 (messages back to back), through `spacetime_protocol`.
//! - [`bsatn_value`]: a BSATN typespace and type, then a value of that type, through
//!   `spacetime_sats::bsatn::value`.
//! - [`module_def`]: a module's `__describe_module__` output, decoded as a `RawModuleDef`,
//!   validated into a `ModuleDef`, and its tables created in a datastore as publish does.
//! - [`sql_text`]: a SQL statement run by the owner and by another client against the
//!   [`fixture`] database through `spacetime_sql::execute`.
//! - [`http_json_args`]: the body of `POST /v1/database/:name/call/:reducer`, decoded against
//!   every reducer of the [`fixture`] module as the engine decodes HTTP call arguments.
//!
//! `cargo fuzz` (the package in `fuzz/`, its own workspace) calls these from
//! `fuzz/fuzz_targets/`; this crate's `tests/replay.rs` runs every file of
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` through them in the normal test
//! run. A failed check panics, which libFuzzer reports as a crash.
#![deny(missing_docs)]

pub mod fixture;

use spacetime_datastore::Datastore;
use spacetime_protocol::v2::ClientMessage;
use spacetime_protocol::v3;
use spacetime_sats::bsatn::value::{decode_value, decode_value_exact, skip_value, value_to_vec};
use spacetime_sats::bsatn::{from_slice, to_vec, Decode, Encode};
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::RawModuleDef;
use spacetime_sats::json::{value_from_json, value_to_json};
use spacetime_sats::{AlgebraicType, AlgebraicValue, ArrayValue, Typespace};
use spacetime_sql::rls::RlsRules;
use spacetime_sql::SqlOutcome;

/// The names of the targets, which are also their corpus directories.
pub const TARGETS: [&str; 5] = [
    "ws_client_message",
    "bsatn_value",
    "module_def",
    "sql_text",
    "http_json_args",
];

/// Runs the target called `name` on `data`; `false` if there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "ws_client_message" => ws_client_message(data),
        "bsatn_value" => bsatn_value(data),
        "module_def" => module_def(data),
        "sql_text" => sql_text(data),
        "http_json_args" => http_json_args(data),
        _ => return false,
    }
    true
}

/// A client's WebSocket binary frame, read as the server reads it under each framing.
///
/// Checks: a decoded message re-encodes to exactly the frame (BSATN is canonical, so a
/// frame that decodes has one meaning); a v2 frame is also a valid one-message v3 frame;
/// every error renders (it becomes the close reason).
pub fn ws_client_message(data: &[u8]) {
    let v2 = ClientMessage::from_bytes(data);
    match &v2 {
        Ok(message) => assert_eq!(message.to_bytes(), data, "v2 message does not re-encode to its frame"),
        Err(e) => drop(e.to_string()),
    }
    match v3::decode_frame::<ClientMessage>(data) {
        Ok(messages) => {
            assert_eq!(
                v3::encode_frame(&messages),
                data,
                "v3 frame does not re-encode to itself"
            );
            if let Ok(message) = v2 {
                assert_eq!(messages, [message], "a v2 frame decodes differently as v3");
            }
        }
        Err(e) => {
            assert!(v2.is_err(), "a valid v2 frame is not a valid v3 frame: {e}");
            drop(e.to_string());
        }
    }
}

/// A BSATN `Typespace` and `AlgebraicType` (as a module definition carries them), followed
/// by a value of that type.
///
/// Checks: the type section re-encodes to its bytes; a decoded value re-encodes to exactly
/// its bytes and decodes again to itself; [`skip_value`] accepts exactly what
/// [`decode_value`] accepts and stops at the same place.
pub fn bsatn_value(data: &[u8]) {
    let mut input = data;
    let Ok(typespace) = Typespace::decode(&mut input) else {
        return;
    };
    let Ok(ty) = AlgebraicType::decode(&mut input) else {
        return;
    };
    let type_bytes = &data[..data.len() - input.len()];
    let mut reencoded = to_vec(&typespace);
    ty.encode(&mut reencoded);
    assert_eq!(
        reencoded, type_bytes,
        "typespace and type do not re-encode to their bytes"
    );

    let value_bytes = input;
    let mut decoded_rest = value_bytes;
    let decoded = decode_value(&ty, &typespace, &mut decoded_rest);
    let mut skipped_rest = value_bytes;
    let skipped = skip_value(&ty, &typespace, &mut skipped_rest);
    assert_eq!(
        decoded.is_ok(),
        skipped.is_ok(),
        "decode ({decoded:?}) and skip ({skipped:?}) disagree"
    );
    let Ok(value) = decoded else { return };
    assert_eq!(
        decoded_rest.len(),
        skipped_rest.len(),
        "decode and skip stop at different places"
    );

    let used = &value_bytes[..value_bytes.len() - decoded_rest.len()];
    let bytes = value_to_vec(&value);
    assert_eq!(bytes, used, "value does not re-encode to its bytes");
    let again = decode_value_exact(&ty, &typespace, &bytes).expect("a re-encoded value decodes");
    assert_eq!(again, value, "value changes across encode and decode");
}

/// A module's `__describe_module__` output, as publish reads it.
///
/// Checks: a decoded definition re-encodes to exactly its bytes; validation never panics
/// and its errors render; a definition that validates creates all its tables in a fresh
/// datastore (validation is the only gate before publish creates them); its row-level
/// security filters are checked as publish checks them, and their errors render.
pub fn module_def(data: &[u8]) {
    let raw = match from_slice::<RawModuleDef>(data) {
        Ok(raw) => raw,
        Err(e) => return drop(e.to_string()),
    };
    assert_eq!(
        to_vec(&raw),
        data,
        "raw module definition does not re-encode to its bytes"
    );
    let def = match ModuleDef::from_raw(raw) {
        Ok(def) => def,
        Err(errors) => {
            assert!(errors.iter().next().is_some(), "validation failed without an error");
            return drop(errors.to_string());
        }
    };
    let mut ds = Datastore::new();
    for table in &def.tables {
        if let Err(e) = ds.create_table(table, &def.typespace) {
            panic!("validated table `{}` is refused by the datastore: {e}", table.name);
        }
    }
    if let Err(e) = RlsRules::compile(&def, &ds) {
        drop(e.to_string());
    }
}

/// A SQL statement over HTTP (`POST /v1/database/:name/sql`) or in a one-off query, run by
/// the owner and by another client against a fresh copy of the [`fixture`] database.
///
/// Checks: no panic or stack overflow on any text; every result row has exactly the
/// result schema's columns; a non-owner's statement never changes anything and never reads
/// the private table or a row the module's row-level security filter hides; a query (no
/// transaction) gives the same rows when run again.
pub fn sql_text(data: &[u8]) {
    // The HTTP route reads the body as UTF-8 text; anything else is refused before SQL.
    let Ok(sql) = std::str::from_utf8(data) else { return };
    let catalog = fixture::catalog();
    for auth in [fixture::owner_auth(), fixture::other_auth()] {
        let mut ds = fixture::datastore();
        let result = spacetime_sql::execute(sql, &auth, catalog, &mut ds);
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(e) => {
                drop(e.to_string());
                continue;
            }
        };
        check_rows(&outcome);
        if !auth.is_owner() {
            assert!(
                outcome.tx.is_none(),
                "a non-owner's statement changed the database: {sql:?}"
            );
            assert!(
                !outcome.rows.iter().flat_map(|r| &r.elements).any(is_owner_only),
                "a non-owner read a private table or a filtered row: {sql:?}"
            );
        }
        if outcome.tx.is_none() && outcome.stats == Default::default() {
            let again = spacetime_sql::execute(sql, &auth, catalog, &mut ds).expect("a query that ran once runs again");
            assert_eq!(again.rows, outcome.rows, "a query gives different rows on a second run");
        }
    }
}

/// Every row of a result has one value per schema column.
fn check_rows(outcome: &SqlOutcome) {
    for row in &outcome.rows {
        assert_eq!(
            row.elements.len(),
            outcome.schema.elements.len(),
            "result row does not match its schema"
        );
    }
}

/// Whether a value is text only the owner may read.
fn is_owner_only(value: &AlgebraicValue) -> bool {
    matches!(value, AlgebraicValue::String(s) if fixture::OWNER_ONLY.contains(&&**s))
}

/// The body of `POST /v1/database/:name/call/:reducer`, decoded as the server does: the
/// route parses it as JSON (empty means no arguments), then the engine decodes it with
/// [`value_from_json`] against the reducer's parameter product and encodes the BSATN the
/// module receives.
///
/// Checks, for each reducer of the [`fixture`]: accepted arguments' BSATN decodes back to
/// the same value; their SATS-JSON output is accepted again as the same value (floats that
/// are not finite print as `null` and are left out of that check); errors render.
pub fn http_json_args(data: &[u8]) {
    // axum's `String` body extractor refuses a body that is not UTF-8.
    let Ok(body) = std::str::from_utf8(data) else { return };
    let args = if body.trim().is_empty() {
        serde_json::Value::Array(Vec::new())
    } else {
        match serde_json::from_str::<serde_json::Value>(body) {
            Ok(json) => json,
            Err(_) => return,
        }
    };
    let def: &ModuleDef = fixture::module_def();
    for reducer in &def.reducers {
        let params = AlgebraicType::Product(reducer.params.clone());
        let value = match value_from_json(&args, &params, &def.typespace) {
            Ok(value) => value,
            Err(e) => {
                drop(e.under("args").to_string());
                continue;
            }
        };
        let bsatn = value_to_vec(&value);
        let decoded = decode_value_exact(&params, &def.typespace, &bsatn).expect("encoded arguments decode");
        assert_eq!(decoded, value, "arguments change across BSATN");
        if has_non_finite_float(&value) {
            continue;
        }
        let printed = value_to_json(&value, &params, &def.typespace);
        match value_from_json(&printed, &params, &def.typespace) {
            Ok(reread) => assert_eq!(reread, value, "arguments change across SATS-JSON: {printed}"),
            Err(e) => panic!("the server's own SATS-JSON {printed} is refused: {e}"),
        }
    }
}

/// Whether a value holds a NaN or an infinity anywhere.
fn has_non_finite_float(value: &AlgebraicValue) -> bool {
    match value {
        AlgebraicValue::F32(f) => !f.get().is_finite(),
        AlgebraicValue::F64(f) => !f.get().is_finite(),
        AlgebraicValue::Sum(s) => has_non_finite_float(&s.value),
        AlgebraicValue::Product(p) => p.elements.iter().any(has_non_finite_float),
        AlgebraicValue::Array(ArrayValue::Values(v)) => v.iter().any(has_non_finite_float),
        _ => false,
    }
}
