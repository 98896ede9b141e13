//! The real-time end-to-end tests' client: connects to a database running
//! `tests/modules/realtime` through the Rust SDK and the bindings our codegen generated
//! for it, then obeys one command per line of standard input and prints one line per
//! thing it observes, so a test can count callbacks exactly.
//!
//! Usage: `realtime-client --uri URL --db NAME [--token TOKEN] [--reconnect-ms N]
//! [--compression none|brotli|gzip]`.
//!
//! Commands:
//! - `sub NAME SQL[|SQL…]`: subscribe a query set; prints `applied NAME` or
//!   `sub-error NAME: …` (also for a live query set that fails later).
//! - `unsub NAME`: unsubscribe it; prints `ended NAME` once its rows are gone.
//! - `call REDUCER ARG…`: call a reducer; prints `result REDUCER ok|err MSG|internal MSG`.
//! - `sync`: call `noop`; prints `synced N` (N counts syncs). Messages arrive in order,
//!   so every callback of an earlier transaction has printed by then.
//! - `dump TABLE`: prints `dump TABLE [row, …]`, the cached rows sorted.
//!
//! Observations: `connected IDENTITY`, `reconnected`, `disconnected[ ERROR]`,
//! `connect-error ERROR`, and for each row callback `insert|delete TABLE ROW via CAUSE`
//! or `update TABLE OLD -> NEW via CAUSE`, where CAUSE is `reducer NAME`, `transaction`,
//! `applied`, `unapplied`, `sub-error` or `disconnected`. Rows print as their fields
//! joined by `/`. End of input disconnects and exits.

mod module_bindings;

use module_bindings::*;
use spacetimedb_sdk::__codegen::Reducer as _;
use spacetimedb_sdk::{Compression, DbContext, Event, InternalError, ReconnectPolicy, Table, TableWithPrimaryKey};
use std::collections::HashMap;
use std::fmt::Display;
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

/// Where to connect, as whom, and whether to come back after a drop.
struct Options {
    uri: String,
    db: String,
    token: Option<String>,
    reconnect: Option<Duration>,
    compression: Compression,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}\nusage: realtime-client --uri URL --db NAME [--token TOKEN] [--reconnect-ms N] [--compression none|brotli|gzip]");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let (mut uri, mut db, mut token, mut reconnect) = (None, None, None, None);
    let mut compression = Compression::default();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--uri" => uri = Some(value),
            "--db" => db = Some(value),
            "--token" => token = Some(value),
            "--reconnect-ms" => reconnect = Some(Duration::from_millis(number(&value)?)),
            "--compression" => {
                compression = match value.as_str() {
                    "none" => Compression::None,
                    "brotli" => Compression::Brotli,
                    "gzip" => Compression::Gzip,
                    other => return Err(format!("unknown compression `{other}`: use none, brotli or gzip")),
                }
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Options {
        uri: uri.ok_or("--uri is required")?,
        db: db.ok_or("--db is required")?,
        token,
        reconnect,
        compression,
    })
}

/// Prints one observation, flushed at once so a reader on a pipe sees it immediately.
fn say(line: impl Display) {
    let mut out = std::io::stdout().lock();
    // A closed stdout means the test is gone; there is nobody left to tell.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

fn run(options: Options) -> Result<(), String> {
    let mut builder = DbConnection::builder()
        .with_uri(options.uri.as_str())
        .with_database_name(options.db.clone())
        .with_token(options.token)
        .with_compression(options.compression)
        .on_connect(|_, identity, _| say(format_args!("connected {}", identity.to_hex())))
        .on_connect_error(|_, error| say(format_args!("connect-error {error}")))
        .on_disconnect(|_, error| match error {
            Some(error) => say(format_args!("disconnected {error}")),
            None => say("disconnected"),
        })
        .on_reconnect(|_, _, _| say("reconnected"));
    if let Some(delay) = options.reconnect {
        builder = builder.with_reconnect(ReconnectPolicy { initial_delay: delay, max_delay: delay, max_attempts: None });
    }
    let conn = builder.build().map_err(|e| format!("cannot connect to {} at {}: {e}", options.db, options.uri))?;
    watch_tables(&conn);
    let driver = conn.run_threaded();

    let mut subs = HashMap::new();
    let mut syncs = 0u32;
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("cannot read standard input: {e}"))?;
        if let Err(message) = command(&conn, &mut subs, &mut syncs, line.trim()) {
            say(format_args!("bad-command {message}"));
        }
    }
    // Already disconnected (the server went away for good) is as good as disconnecting now.
    let _ = conn.disconnect();
    let _ = driver.join();
    Ok(())
}

/// Runs one command line.
fn command(conn: &DbConnection, subs: &mut HashMap<String, SubscriptionHandle>, syncs: &mut u32, line: &str) -> Result<(), String> {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    match verb {
        "" => Ok(()),
        "sub" => {
            let (name, queries) = rest.split_once(' ').ok_or("usage: sub NAME SQL[|SQL…]")?;
            let queries: Vec<String> = queries.split('|').map(|q| q.trim().to_owned()).collect();
            let (applied, failed) = (name.to_owned(), name.to_owned());
            let handle = conn
                .subscription_builder()
                .on_applied(move |_| say(format_args!("applied {applied}")))
                .on_error(move |_, error| say(format_args!("sub-error {failed}: {error}")))
                .subscribe(queries);
            subs.insert(name.to_owned(), handle);
            Ok(())
        }
        "unsub" => {
            let handle = subs.get(rest).ok_or_else(|| format!("no subscription named `{rest}`"))?;
            let name = rest.to_owned();
            handle.unsubscribe_then(move |_| say(format_args!("ended {name}"))).map_err(|e| e.to_string())
        }
        "call" => call(conn, &rest.split(' ').collect::<Vec<_>>()),
        "sync" => {
            *syncs += 1;
            let n = *syncs;
            conn.reducers.noop_then(move |_, _| say(format_args!("synced {n}"))).map_err(|e| e.to_string())
        }
        "dump" => {
            let mut rows: Vec<String> = match rest {
                "item" => conn.db.item().iter().map(|r| r.show()).collect(),
                "person" => conn.db.person().iter().map(|r| r.show()).collect(),
                "pet" => conn.db.pet().iter().map(|r| r.show()).collect(),
                "secret" => conn.db.secret().iter().map(|r| r.show()).collect(),
                other => return Err(format!("no table `{other}`")),
            };
            rows.sort_by_key(|r| (r.split('/').next().and_then(|id| id.parse::<u32>().ok()), r.clone()));
            say(format_args!("dump {rest} [{}]", rows.join(", ")));
            Ok(())
        }
        other => Err(format!("unknown command `{other}`")),
    }
}

/// Calls the reducer named by `words[0]` with the remaining words as its arguments.
fn call(conn: &DbConnection, words: &[&str]) -> Result<(), String> {
    let r = &conn.reducers;
    let sent = match words {
        ["insert_item", id, name, count] => r.insert_item_then(number(id)?, (*name).to_owned(), number(count)?, report("insert_item")),
        ["set_count", id, count] => r.set_count_then(number(id)?, number(count)?, report("set_count")),
        ["delete_item", id] => r.delete_item_then(number(id)?, report("delete_item")),
        ["insert_then_fail", id] => r.insert_then_fail_then(number(id)?, report("insert_then_fail")),
        ["insert_then_panic", id] => r.insert_then_panic_then(number(id)?, report("insert_then_panic")),
        ["noop"] => r.noop_then(report("noop")),
        ["add_person", id, name] => r.add_person_then(number(id)?, (*name).to_owned(), report("add_person")),
        ["rename_person", id, name] => r.rename_person_then(number(id)?, (*name).to_owned(), report("rename_person")),
        ["delete_person", id] => r.delete_person_then(number(id)?, report("delete_person")),
        ["add_pet", id, owner, name] => r.add_pet_then(number(id)?, number(owner)?, (*name).to_owned(), report("add_pet")),
        ["move_pet", id, owner] => r.move_pet_then(number(id)?, number(owner)?, report("move_pet")),
        ["delete_pet", id] => r.delete_pet_then(number(id)?, report("delete_pet")),
        ["add_secret", id, value] => r.add_secret_then(number(id)?, (*value).to_owned(), report("add_secret")),
        _ => return Err(format!("unknown call `{}`", words.join(" "))),
    };
    sent.map_err(|e| e.to_string())
}

/// The completion callback of a call: prints its outcome, checking that the event the
/// SDK reports names the same reducer.
fn report(
    name: &'static str,
) -> impl FnOnce(&ReducerEventContext, Result<Result<(), String>, InternalError>) + Send + 'static {
    move |ctx, outcome| {
        let reported = ctx.event.reducer.reducer_name();
        if reported != name {
            say(format_args!("wrong-reducer {name} reported as {reported}"));
        }
        match outcome {
            Ok(Ok(())) => say(format_args!("result {name} ok")),
            Ok(Err(message)) => say(format_args!("result {name} err {message}")),
            Err(error) => say(format_args!("result {name} internal {error}")),
        }
    }
}

fn number<T: FromStr>(word: &str) -> Result<T, String> {
    word.parse().map_err(|_| format!("`{word}` is not a number"))
}

/// Why a row callback runs, as one word or two.
fn cause(event: &Event<Reducer>) -> String {
    match event {
        Event::Reducer(r) => format!("reducer {}", r.reducer.reducer_name()),
        Event::SubscribeApplied => "applied".into(),
        Event::UnsubscribeApplied => "unapplied".into(),
        Event::SubscribeError(_) => "sub-error".into(),
        Event::Disconnected => "disconnected".into(),
        Event::Transaction => "transaction".into(),
        other => format!("other {other:?}"),
    }
}

/// A row as its fields joined by `/`.
trait Show {
    fn show(&self) -> String;
}

impl Show for Item {
    fn show(&self) -> String {
        format!("{}/{}/{}", self.id, self.name, self.count)
    }
}

impl Show for Person {
    fn show(&self) -> String {
        format!("{}/{}", self.id, self.name)
    }
}

impl Show for Pet {
    fn show(&self) -> String {
        format!("{}/{}/{}", self.id, self.owner_id, self.name)
    }
}

impl Show for Secret {
    fn show(&self) -> String {
        format!("{}/{}", self.id, self.value)
    }
}

/// Prints every insert, delete and update callback of every table.
fn watch_tables(conn: &DbConnection) {
    macro_rules! watch {
        ($($table:ident),*) => {$(
            conn.db.$table().on_insert(|ctx, row| {
                say(format_args!("insert {} {} via {}", stringify!($table), row.show(), cause(&ctx.event)))
            });
            conn.db.$table().on_delete(|ctx, row| {
                say(format_args!("delete {} {} via {}", stringify!($table), row.show(), cause(&ctx.event)))
            });
            conn.db.$table().on_update(|ctx, old, new| {
                say(format_args!("update {} {} -> {} via {}", stringify!($table), old.show(), new.show(), cause(&ctx.event)))
            });
        )*};
    }
    watch!(item, person, pet, secret);
}
