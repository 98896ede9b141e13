//! The SDK procedures end-to-end test's client: connects to a database running
//! `tests/modules/procedures` through the Rust SDK and the bindings our codegen generated
//! for it, then, in order, prints one line per result:
//! - `add = N`: `ctx.procedures.add(2, 40)` awaited (a future of the procedure's `u32`);
//! - `panic_in_tx failed: MESSAGE`: the future of a procedure that panics;
//! - `count_fetched_then = N`: the callback form, with the procedure's `u64`;
//! - `bumped by = [N, …]`: after the reducer `bump(5)` committed, the typed rows of the
//!   one-off query `SELECT * FROM bumped`, sorted;
//! - `query refused: MESSAGE`: a one-off query of a table that does not exist;
//! - with `--fetch URL` (a server started with `--allow-private-http`, `URL` on loopback):
//!   `fetched = BODY`, what `fetch_and_store(URL)` returned, and `row before value = true`
//!   if the row it wrote with `with_tx` reached this client's subscription callback before
//!   the value did;
//! - `done`.
//!
//! With `--hold URL` (a loopback URL that never answers) it only calls
//! `fetch_and_store(URL)`, prints `fetching`, and once the call fails (the test kills the
//! server meanwhile) `the waiting call failed: ERROR`.
//!
//! Usage: `sdk-procedures --uri URL --db NAME [--fetch URL | --hold URL]`. Exits 1 with the
//! reason on any unexpected outcome.

#[path = "../common.rs"]
mod common;
#[path = "../procedures_bindings/mod.rs"]
mod module_bindings;

use common::{main_with, WAIT};
use module_bindings::*;
use spacetimedb_sdk::{DbContext, Error, Table};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

fn main() -> ExitCode {
    main_with(
        "sdk-procedures --uri URL --db NAME [--fetch URL | --hold URL]",
        |uri, db, args| match args.value("--hold") {
            Some(url) => hold(uri, db, &url),
            None => run(uri, db, args.value("--fetch").as_deref()),
        },
    )
}

/// Connects and starts the connection's thread.
fn connect(uri: &str, db: &str) -> Result<DbConnection, String> {
    let (connected_tx, connected) = mpsc::channel();
    let conn = DbConnection::builder()
        .with_uri(uri)
        .with_database_name(db)
        .on_connect(move |_, _, _| {
            let _ = connected_tx.send(());
        })
        .build()
        .map_err(|e| format!("cannot connect: {e}"))?;
    // Answers are processed by the connection's thread; this one awaits them.
    conn.run_threaded();
    connected
        .recv_timeout(WAIT)
        .map_err(|_| "no connection within 30 s".to_string())?;
    Ok(conn)
}

/// A runtime to await the SDK's futures on this thread.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))
}

/// Calls `fetch_and_store(url)` on a URL that never answers and reports how the waiting
/// call ends when the connection does.
fn hold(uri: &str, db: &str, url: &str) -> Result<(), String> {
    let conn = connect(uri, db)?;
    let call = conn.procedures.fetch_and_store(url.into());
    println!("fetching");
    // Longer than WAIT: the test kills the server once the module's request arrived.
    match runtime()?.block_on(async { tokio::time::timeout(WAIT * 2, call).await }) {
        Err(_) => Err("fetch_and_store: still waiting after 60 s".into()),
        Ok(Ok(body)) => Err(format!(
            "fetch_and_store returned {body:?}; the URL should never answer"
        )),
        Ok(Err(e)) => {
            println!("the waiting call failed: {e}");
            Ok(())
        }
    }
}

fn run(uri: &str, db: &str, fetch: Option<&str>) -> Result<(), String> {
    let conn = connect(uri, db)?;
    let runtime = runtime()?;
    let within = |what: &str| format!("{what}: no answer within 30 s");

    let sum = runtime
        .block_on(async { tokio::time::timeout(WAIT, conn.procedures.add(2, 40)).await })
        .map_err(|_| within("add"))?
        .map_err(|e| format!("add failed: {e}"))?;
    println!("add = {sum}");

    match runtime.block_on(async { tokio::time::timeout(WAIT, conn.procedures.panic_in_tx()).await }) {
        Err(_) => return Err(within("panic_in_tx")),
        Ok(Err(Error::ProcedureFailed { message, .. })) => println!("panic_in_tx failed: {message}"),
        Ok(other) => return Err(format!("panic_in_tx: expected a failure, got {other:?}")),
    }

    let (count_tx, count) = mpsc::channel();
    conn.procedures
        .count_fetched_then(move |_, result| {
            let _ = count_tx.send(result);
        })
        .map_err(|e| format!("count_fetched_then: {e}"))?;
    let n = count
        .recv_timeout(WAIT)
        .map_err(|_| within("count_fetched_then"))?
        .map_err(|e| format!("count_fetched failed: {e}"))?;
    println!("count_fetched_then = {n}");

    let (bumped_tx, bumped) = mpsc::channel();
    conn.reducers
        .bump_then(5, move |_, result| {
            let _ = bumped_tx.send(result);
        })
        .map_err(|e| format!("bump: {e}"))?;
    bumped
        .recv_timeout(WAIT)
        .map_err(|_| within("bump"))?
        .map_err(|e| format!("bump failed: {e}"))?
        .map_err(|e| format!("bump returned an error: {e}"))?;
    let rows = runtime
        .block_on(async { tokio::time::timeout(WAIT, conn.query("SELECT * FROM bumped")).await })
        .map_err(|_| within("query"))?
        .map_err(|e| format!("query failed: {e}"))?
        .into_rows::<Bumped>()
        .map_err(|e| format!("query rows: {e}"))?;
    let mut by: Vec<u32> = rows.iter().map(|b| b.by).collect();
    by.sort_unstable();
    println!("bumped by = {by:?}");

    match runtime.block_on(async { tokio::time::timeout(WAIT, conn.query("SELECT * FROM nowhere")).await }) {
        Err(_) => return Err(within("bad query")),
        Ok(Err(Error::QueryFailed { message })) => println!("query refused: {message}"),
        Ok(other) => return Err(format!("a query of a missing table: expected a refusal, got {other:?}")),
    }

    if let Some(url) = fetch {
        let seen = Arc::new(AtomicBool::new(false));
        let flag = seen.clone();
        conn.db
            .fetched()
            .on_insert(move |_, _| flag.store(true, Ordering::SeqCst));
        let (applied_tx, applied) = mpsc::channel();
        let _sub = conn
            .subscription_builder()
            .on_applied(move |_| {
                let _ = applied_tx.send(());
            })
            .subscribe(["SELECT * FROM fetched"]);
        applied.recv_timeout(WAIT).map_err(|_| within("subscribe to fetched"))?;
        let body = runtime
            .block_on(async { tokio::time::timeout(WAIT, conn.procedures.fetch_and_store(url.into())).await })
            .map_err(|_| within("fetch_and_store"))?
            .map_err(|e| format!("fetch_and_store failed: {e}"))?;
        println!("fetched = {body}");
        println!("row before value = {}", seen.load(Ordering::SeqCst));
    }

    println!("done");
    conn.disconnect().map_err(|e| format!("disconnect: {e}"))
}
