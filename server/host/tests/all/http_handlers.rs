//! HTTP handler calls at the host's edge, with hand-written modules: a handler's response
//! head and body come back; a head that is not a BSATN `HttpResponse`, a module that
//! declares handlers without exporting `__call_http_handler__`, an unknown handler id, a
//! trapping handler and a body past the cap are each a clear error, and the instance keeps
//! serving.

use crate::support::{alice, runtime, wat_data};
use spacetime_host::{HttpHandlerCall, HttpHandlerError, HttpHandlerOutcome, ModuleInstance, ProcedureHost, TxLoan};
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::def::raw::{RawHttpHandlerDefV10, RawModuleDef, RawModuleDefV10, RawModuleDefV10Section};
use spacetime_sats::http::{HttpHeaders, HttpMethod, HttpRequest, HttpVersion};
use spacetime_sats::{Identity, Timestamp};
use std::sync::Arc;

/// A definition with handlers `ok`, `bad_head`, `traps` and `huge`.
fn definition() -> Vec<u8> {
    let handlers = ["ok", "bad_head", "traps", "huge"]
        .map(|name| RawHttpHandlerDefV10 {
            source_name: name.into(),
        })
        .to_vec();
    to_vec(&RawModuleDef::V10(RawModuleDefV10 {
        sections: vec![RawModuleDefV10Section::HttpHandlers(handlers)],
    }))
}

/// A module whose handler 0 answers 200 with body `hi`, handler 1 writes a malformed head,
/// handler 2 traps and handler 3 writes a 17 MiB body; without `export`, it does not
/// export `__call_http_handler__`.
fn wat(export: bool) -> String {
    let def = definition();
    let handler = if export {
        r#"(func (export "__call_http_handler__")
            (param $id i32) (param i64 i64 i64 i64) (param i32) (param i64) (param i32 i32)
            (param $head i32) (param $body i32) (result i32)
            (block (block (block (block
                (br_table 0 1 2 3 (local.get $id)))
                ;; ok: no headers, HTTP/1.1, status 200, body "hi".
                (i32.store (i32.const 0) (i32.const 7))
                (drop (call $write (local.get $head) (i32.const 32) (i32.const 0)))
                (i32.store (i32.const 0) (i32.const 2))
                (drop (call $write (local.get $body) (i32.const 48) (i32.const 0)))
                (return (i32.const 0)))
              ;; bad_head: one byte that is no response head.
              (i32.store (i32.const 0) (i32.const 1))
              (drop (call $write (local.get $head) (i32.const 40) (i32.const 0)))
              (return (i32.const 0)))
             ;; traps.
             unreachable)
            ;; huge: 17 MiB of body, past the host's 16 MiB cap.
            (i32.store (i32.const 0) (i32.const 17825792))
            (drop (call $write (local.get $body) (i32.const 0) (i32.const 0)))
            (i32.const 0))"#
    } else {
        ""
    };
    format!(
        r#"(module
        (import "spacetime_10.0" "bytes_sink_write" (func $write (param i32 i32 i32) (result i32)))
        (memory (export "memory") 300)
        (data (i32.const 32) "\00\00\00\00\02\c8\00")
        (data (i32.const 40) "\ff")
        (data (i32.const 48) "hi")
        (data (i32.const 64) "{escaped}")
        (func (export "__describe_module__") (param $sink i32)
            (i32.store (i32.const 0) (i32.const {len}))
            (drop (call $write (local.get $sink) (i32.const 64) (i32.const 0))))
        (func (export "__call_reducer__")
            (param i32 i64 i64 i64 i64 i64 i64 i64 i32 i32) (result i32)
            (i32.const 0))
        {handler})"#,
        escaped = wat_data(&def),
        len = def.len()
    )
}

fn instance(export: bool) -> ModuleInstance {
    let wasm = wat::parse_str(wat(export)).expect("valid WAT");
    let program = runtime()
        .load(&wasm)
        .unwrap_or_else(|e| panic!("the hand-written module must load: {e}"));
    program
        .instantiate(Identity::ZERO, Arc::new(spacetime_host::DiscardLogs))
        .expect("an instance")
}

/// Lends no transactions: these handlers never ask.
struct NoTransactions;

impl ProcedureHost for NoTransactions {
    fn begin_tx(&mut self) -> Option<TxLoan> {
        None
    }
}

fn call(instance: &mut ModuleInstance, handler_id: u32) -> HttpHandlerOutcome {
    let request = HttpRequest {
        method: HttpMethod::Get,
        headers: HttpHeaders { entries: Vec::new() },
        timeout: None,
        uri: "http://127.0.0.1/v1/database/db/route/x".into(),
        version: HttpVersion::Http11,
    };
    instance.call_http_handler(
        HttpHandlerCall {
            handler_id,
            sender: alice(),
            timestamp: Timestamp::now(),
            request: &request,
            body: b"",
        },
        Box::new(NoTransactions),
    )
}

#[test]
fn a_handler_answers_with_its_head_and_body() {
    let response = call(&mut instance(true), 0).result.expect("a response");
    assert_eq!(response.head.code, 200);
    assert_eq!(response.head.version, HttpVersion::Http11);
    assert!(response.head.headers.entries.is_empty());
    assert_eq!(response.body, b"hi");
}

#[test]
fn failures_are_named_and_the_instance_keeps_serving() {
    let mut instance = instance(true);
    match call(&mut instance, 1).result {
        Err(e @ HttpHandlerError::MalformedResponse { .. }) => {
            assert!(
                e.to_string().contains("`bad_head` returned a malformed response"),
                "{e}"
            )
        }
        other => panic!("expected a malformed response, got {other:?}"),
    }
    match call(&mut instance, 2).result {
        Err(e @ HttpHandlerError::Failed { .. }) => {
            assert!(
                e.to_string().starts_with("HTTP handler `traps` failed: it trapped"),
                "{e}"
            )
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    match call(&mut instance, 3).result {
        Err(e @ HttpHandlerError::Failed { .. }) => assert!(
            e.to_string().contains("response body") && e.to_string().contains("MAX_HTTP_HANDLER_RESPONSE_BYTES"),
            "{e}"
        ),
        other => panic!("expected the body cap, got {other:?}"),
    }
    assert_eq!(
        call(&mut instance, 7).result,
        Err(HttpHandlerError::NoSuchHandler { id: 7, count: 4 })
    );
    assert!(
        call(&mut instance, 0).result.is_ok(),
        "the replaced instance serves again"
    );
}

#[test]
fn handlers_without_the_export_are_refused_clearly() {
    let error = call(&mut instance(false), 0).result.expect_err("no export");
    assert_eq!(error, HttpHandlerError::NotExported);
    assert!(error.to_string().contains("`unstable` feature"), "{error}");
}
