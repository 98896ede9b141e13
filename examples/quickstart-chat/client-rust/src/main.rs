//! The quickstart chat's terminal client: connects to the chat database (reusing the token
//! saved in a credentials file), subscribes to every user and message, prints other people's
//! messages and who comes online or goes offline as they happen, and turns each line of
//! standard input into a message, or `/name X` into a name change.
//!
//! It prints one line per event and exits on end of input once every call it made has been
//! answered, so a script can drive it through pipes.
//!
//! Usage: `quickstart-chat-client [--host URL] [--db NAME] [--credentials-dir DIR]`
//! (defaults: `http://localhost:3000`, `quickstart-chat`, `~/.spacetimedb_client_credentials`).

// Generated bindings cover the whole module; this client uses only part of them.
#[allow(unused)]
mod module_bindings;

use module_bindings::*;
use spacetimedb_sdk::{credentials, DbContext, Error, Event, Identity, Table, TableWithPrimaryKey};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The key of this client's credentials file.
const CREDENTIALS_KEY: &str = "quickstart-chat";

/// How long to wait at end of input for the server to answer the last calls.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to connect and where the token lives.
struct Options {
    host: String,
    db: String,
    credentials: credentials::File,
}

fn main() -> std::process::ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}\nusage: quickstart-chat-client [--host URL] [--db NAME] [--credentials-dir DIR]");
            return std::process::ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut host = "http://localhost:3000".to_owned();
    let mut db = "quickstart-chat".to_owned();
    let mut credentials = credentials::File::new(CREDENTIALS_KEY);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--host" => host = value()?,
            "--db" => db = value()?,
            "--credentials-dir" => credentials = credentials::File::in_dir(value()?, CREDENTIALS_KEY),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Options { host, db, credentials })
}

/// Prints one event line, flushed at once so a reader on a pipe sees it immediately.
fn say(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    // A closed stdout means nobody is listening; there is nothing better to do than go on.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// The calls sent but not yet answered, so end of input can wait for them.
#[derive(Default)]
struct Pending {
    count: Mutex<usize>,
    answered: Condvar,
}

impl Pending {
    fn start(&self) {
        *self.count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }

    fn finish(&self) {
        *self.count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.answered.notify_all();
    }

    /// Whether every call was answered within `timeout`.
    fn wait(&self, timeout: Duration) -> bool {
        let count = self.count.lock().unwrap_or_else(|e| e.into_inner());
        let (count, _) = self
            .answered
            .wait_timeout_while(count, timeout, |n| *n > 0)
            .unwrap_or_else(|e| e.into_inner());
        *count == 0
    }
}

fn run(options: Options) -> Result<(), String> {
    let token = options
        .credentials
        .load()
        .map_err(|e| format!("cannot read the saved token: {e}"))?;
    let credentials = options.credentials;
    let failed = Arc::new(AtomicUsize::new(0));
    let connect_failed = failed.clone();
    let conn = DbConnection::builder()
        .with_uri(options.host.as_str())
        .with_database_name(options.db.clone())
        .with_token(token)
        .on_connect(move |_, identity, token| {
            if let Err(e) = credentials.save(token) {
                eprintln!("cannot save the token: {e}");
            }
            say(format_args!("Connected as {}.", identity.to_abbreviated_hex()));
        })
        .on_connect_error(move |_, error| {
            eprintln!("Connection error: {error}");
            connect_failed.fetch_add(1, Ordering::SeqCst);
        })
        .on_disconnect(|_, error| match error {
            Some(error) => say(format_args!("Disconnected: {error}")),
            None => say("Disconnected."),
        })
        .build()
        .map_err(|e| format!("cannot connect to {} at {}: {e}", options.db, options.host))?;

    register_callbacks(&conn);
    conn.subscription_builder()
        .on_applied(on_subscription_applied)
        .on_error(|_, error: Error| eprintln!("Subscription failed: {error}"))
        .subscribe(["SELECT * FROM user", "SELECT * FROM message"]);
    let driver = conn.run_threaded();

    let pending = Arc::new(Pending::default());
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("cannot read standard input: {e}"))?;
        send_line(&conn, &pending, line.trim())?;
    }
    if !pending.wait(DRAIN_TIMEOUT) {
        eprintln!("Some calls were not answered within {DRAIN_TIMEOUT:?}.");
    }
    // Already disconnected (e.g. the server went away) is as good as disconnecting now.
    let _ = conn.disconnect();
    let _ = driver.join();
    match failed.load(Ordering::SeqCst) {
        0 => Ok(()),
        _ => Err("the connection failed".to_owned()),
    }
}

/// Sends one line of input: `/name X` renames, anything else non-empty is a message.
fn send_line(conn: &DbConnection, pending: &Arc<Pending>, line: &str) -> Result<(), String> {
    if line.is_empty() {
        return Ok(());
    }
    let done = pending.clone();
    pending.start();
    let name = if line == "/name" {
        Some("")
    } else {
        line.strip_prefix("/name ")
    };
    let sent = if let Some(name) = name {
        conn.reducers.set_name_then(name.trim().to_owned(), move |_, outcome| {
            report("set the name", outcome);
            done.finish();
        })
    } else {
        conn.reducers.send_message_then(line.to_owned(), move |_, outcome| {
            report("send the message", outcome);
            done.finish();
        })
    };
    sent.map_err(|e| format!("cannot send to the server: {e}"))
}

/// Prints why a call failed; a success prints nothing (its effects print as row events).
fn report<E: std::fmt::Display>(what: &str, outcome: Result<Result<(), String>, E>) {
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(message)) => say(format_args!("Failed to {what}: {message}")),
        Err(error) => say(format_args!("Failed to {what}: {error}")),
    }
}

fn register_callbacks(conn: &DbConnection) {
    conn.db.user().on_insert(|ctx, user| {
        if user.online && !is_initial(ctx) {
            say(format_args!("User {} connected.", user_name(user)));
        }
    });
    conn.db.user().on_update(|_, old, new| {
        if old.name != new.name {
            say(format_args!("User {} renamed to {}.", user_name(old), user_name(new)));
        }
        match (old.online, new.online) {
            (true, false) => say(format_args!("User {} disconnected.", user_name(new))),
            (false, true) => say(format_args!("User {} connected.", user_name(new))),
            _ => {}
        }
    });
    conn.db.message().on_insert(|ctx, message| {
        if !is_initial(ctx) && ctx.try_identity() != Some(message.sender) {
            print_message(ctx, message);
        }
    });
}

/// Whether the event is the subscription's initial rows (printed all at once, in order).
fn is_initial(ctx: &EventContext) -> bool {
    matches!(ctx.event, Event::SubscribeApplied)
}

/// Prints the history, oldest first, then says the client is ready for input.
fn on_subscription_applied(ctx: &SubscriptionEventContext) {
    let mut messages: Vec<Message> = ctx.db.message().iter().collect();
    messages.sort_by_key(|m| m.sent);
    for message in &messages {
        print_message(ctx, message);
    }
    say("Fully connected and all subscriptions applied.");
    say("Use /name to set your name, or type a message!");
}

fn print_message(ctx: &impl RemoteDbContext, message: &Message) {
    let sender = ctx
        .db()
        .user()
        .identity()
        .find(&message.sender)
        .map(|u| user_name(&u))
        .unwrap_or_else(|| unknown(message.sender));
    say(format_args!("{sender}: {}", message.text));
}

fn user_name(user: &User) -> String {
    user.name.clone().unwrap_or_else(|| unknown(user.identity))
}

fn unknown(identity: Identity) -> String {
    identity.to_abbreviated_hex().to_string()
}
