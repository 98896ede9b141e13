//! A terminal chat client: connects to the database, prints the messages other people
//! send as they arrive, and sends each line you type (`/name X` sets your name). It exits
//! at the end of input once the server has answered every line.
//!
//! Usage: `cargo run -- [--host URL] [--db NAME]` (defaults: http://localhost:3000 and the
//! database in ../spacetime.json). Regenerate `src/module_bindings` after changing the
//! module with `spacetime generate` in the project directory.

#[allow(unused)]
mod module_bindings;

use module_bindings::*;
use spacetimedb_sdk::{DbContext, Table};
use std::io::{BufRead, Write};
use std::sync::mpsc;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    let mut host = "http://localhost:3000".to_owned();
    let mut db = "{{database}}".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--host", Some(value)) => host = value,
            ("--db", Some(value)) => db = value,
            _ => {
                eprintln!("usage: {{project_name}}-client [--host URL] [--db NAME]");
                return std::process::ExitCode::from(2);
            }
        }
    }
    match run(&host, &db) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prints a line at once, so a reader on a pipe sees it immediately.
fn say(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

fn run(host: &str, db: &str) -> Result<(), String> {
    let conn = DbConnection::builder()
        .with_uri(host)
        .with_database_name(db)
        .on_connect(|_, identity, _| say(format_args!("Connected as {}.", identity.to_abbreviated_hex())))
        .on_connect_error(|_, error| eprintln!("Connection error: {error}"))
        .build()
        .map_err(|e| format!("cannot connect to {db} at {host}: {e}"))?;
    conn.db.message().on_insert(|ctx, message| {
        // Messages of the initial subscription are history; print only new ones of others.
        if !matches!(ctx.event, spacetimedb_sdk::Event::SubscribeApplied) && ctx.try_identity() != Some(message.sender)
        {
            let sender = ctx.db.user().identity().find(&message.sender);
            let name = sender
                .and_then(|u| u.name)
                .unwrap_or_else(|| message.sender.to_abbreviated_hex().to_string());
            say(format_args!("{name}: {}", message.text));
        }
    });
    conn.subscription_builder()
        .on_applied(|_| say("Ready: type a message, or /name <name>."))
        .subscribe(["SELECT * FROM user", "SELECT * FROM message"]);
    let driver = conn.run_threaded();

    let (answered, answers) = mpsc::channel();
    let mut sent = 0;
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("cannot read standard input: {e}"))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let done = answered.clone();
        let report = move |outcome: Result<Result<(), String>, spacetimedb_sdk::InternalError>| {
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(message)) => say(format_args!("Failed: {message}")),
                Err(error) => say(format_args!("Failed: {error}")),
            }
            let _ = done.send(());
        };
        let result = match line.strip_prefix("/name ") {
            Some(name) => conn
                .reducers
                .set_name_then(name.trim().to_owned(), move |_, r| report(r)),
            None => conn.reducers.send_message_then(line.to_owned(), move |_, r| report(r)),
        };
        result.map_err(|e| format!("cannot send to the server: {e}"))?;
        sent += 1;
    }
    for _ in 0..sent {
        if answers.recv_timeout(Duration::from_secs(10)).is_err() {
            eprintln!("The server did not answer every line within 10 s.");
            break;
        }
    }
    let _ = conn.disconnect();
    let _ = driver.join();
    Ok(())
}
