//! The SDK views end-to-end test's client: two connections (two anonymous identities) to a
//! database running `tests/modules/views`, through the Rust SDK and the bindings our
//! codegen generated for it. Views are read-only tables in the client cache; this prints,
//! in order:
//! - `A my_items = [..]`, `B my_items = [..]`: a per-caller view, each caller's own items;
//! - `A expensive_items = [..]`: an anonymous view's initial rows;
//! - `A expensive_items insert NAME PRICE`: its delta when B adds an expensive item, while
//!   `A my_items count = 2` stays (B's item is not A's);
//! - `A my_player insert NAME SCORE`, `A my_player find = NAME`, then
//!   `A my_player update OLD -> NEW`: a keyed view gives `find` and `on_update`;
//! - `A query my_items = [..]`: a one-off query of a view, typed rows;
//! - `done`.
//!
//! Usage: `sdk-views --uri URL --db NAME`. Exits 1 with the reason on any unexpected
//! outcome.

#[path = "../common.rs"]
mod common;
#[path = "../views_bindings/mod.rs"]
mod module_bindings;

use common::{main_with, WAIT};
use module_bindings::*;
use spacetimedb_sdk::{DbContext, Table, TableWithPrimaryKey};
use std::cell::RefCell;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};

fn main() -> ExitCode {
    main_with("sdk-views --uri URL --db NAME", |uri, db, _| run(uri, db))
}

/// A connection driven on its own thread, with the lines its callbacks report.
struct Client {
    conn: DbConnection,
    events: Receiver<String>,
    backlog: RefCell<Vec<String>>,
    tx: Sender<String>,
}

impl Client {
    fn connect(uri: &str, db: &str) -> Result<Self, String> {
        let (tx, events) = mpsc::channel();
        let connected = tx.clone();
        let conn = DbConnection::builder()
            .with_uri(uri)
            .with_database_name(db)
            .on_connect(move |_, _, _| {
                let _ = connected.send("connected".into());
            })
            .build()
            .map_err(|e| format!("cannot connect: {e}"))?;
        conn.run_threaded();
        let client = Self {
            conn,
            events,
            backlog: RefCell::new(Vec::new()),
            tx,
        };
        client.wait_for("connected")?;
        Ok(client)
    }

    /// Waits for a reported line starting with `prefix` and returns it; lines that do
    /// not match are kept for later waits (a row callback reports before the reducer
    /// callback of the same transaction).
    fn wait_for(&self, prefix: &str) -> Result<String, String> {
        let mut backlog = self.backlog.borrow_mut();
        if let Some(i) = backlog.iter().position(|l| l.starts_with(prefix)) {
            return Ok(backlog.remove(i));
        }
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.events.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return Ok(line),
                Ok(line) => backlog.push(line),
                Err(_) => return Err(format!("no `{prefix}` within 30 s (seen: {backlog:?})")),
            }
        }
    }

    /// Calls `add_item` and waits for it to commit.
    fn add_item(&self, name: &str, price: u32) -> Result<(), String> {
        let tx = self.tx.clone();
        self.conn
            .reducers
            .add_item_then(name.into(), price, move |_, result| {
                let _ = tx.send(format!("reducer {result:?}"));
            })
            .map_err(|e| format!("add_item: {e}"))?;
        self.expect_committed()
    }

    /// Calls `set_player` and waits for it to commit.
    fn set_player(&self, name: &str, score: u32) -> Result<(), String> {
        let tx = self.tx.clone();
        self.conn
            .reducers
            .set_player_then(name.into(), score, move |_, result| {
                let _ = tx.send(format!("reducer {result:?}"));
            })
            .map_err(|e| format!("set_player: {e}"))?;
        self.expect_committed()
    }

    fn expect_committed(&self) -> Result<(), String> {
        match self.wait_for("reducer ")?.as_str() {
            "reducer Ok(Ok(()))" => Ok(()),
            other => Err(format!("a reducer did not commit: {other}")),
        }
    }

    /// Subscribes to `queries` and waits until they are applied.
    fn subscribe(&self, queries: &[&str]) -> Result<SubscriptionHandle, String> {
        let tx = self.tx.clone();
        let handle = self
            .conn
            .subscription_builder()
            .on_applied(move |_| {
                let _ = tx.send("applied".into());
            })
            .subscribe(queries.iter().map(|q| q.to_string()).collect::<Vec<_>>());
        self.wait_for("applied")?;
        Ok(handle)
    }
}

fn names(items: impl Iterator<Item = Item>) -> Vec<String> {
    let mut names: Vec<String> = items.map(|i| i.name).collect();
    names.sort();
    names
}

fn run(uri: &str, db: &str) -> Result<(), String> {
    let a = Client::connect(uri, db)?;
    let b = Client::connect(uri, db)?;
    a.add_item("a-cheap", 5)?;
    a.add_item("a-pricey", 150)?;
    b.add_item("b-thing", 7)?;

    let tx = a.tx.clone();
    a.conn.db.expensive_items().on_insert(move |_, item| {
        let _ = tx.send(format!("expensive_items insert {} {}", item.name, item.price));
    });
    let tx = a.tx.clone();
    a.conn.db.my_player().on_insert(move |_, p| {
        let _ = tx.send(format!("my_player insert {} {}", p.name, p.score));
    });
    let tx = a.tx.clone();
    a.conn.db.my_player().on_update(move |_, old, new| {
        let _ = tx.send(format!("my_player update {} -> {}", old.score, new.score));
    });
    let tx = b.tx.clone();
    b.conn.db.my_items().on_insert(move |_, item| {
        let _ = tx.send(format!("my_items insert {}", item.name));
    });

    let _a_sub = a.subscribe(&[
        "SELECT * FROM my_items",
        "SELECT * FROM expensive_items",
        "SELECT * FROM my_player",
    ])?;
    let _b_sub = b.subscribe(&["SELECT * FROM my_items"])?;
    println!("A my_items = {:?}", names(a.conn.db.my_items().iter()));
    println!("B my_items = {:?}", names(b.conn.db.my_items().iter()));
    println!("A expensive_items = {:?}", names(a.conn.db.expensive_items().iter()));

    b.add_item("b-pricey", 500)?;
    b.wait_for("my_items insert b-pricey")?;
    // (The subscription's initial rows were inserts too; this one is B's.)
    println!("A {}", a.wait_for("expensive_items insert b-pricey")?);
    println!("A my_items count = {}", a.conn.db.my_items().count());

    a.set_player("alice", 1)?;
    println!("A {}", a.wait_for("my_player insert")?);
    let me = a.conn.identity();
    let found = a.conn.db.my_player().identity().find(&me).map(|p| p.name);
    println!("A my_player find = {}", found.unwrap_or_else(|| "none".into()));
    a.set_player("alice", 2)?;
    println!("A {}", a.wait_for("my_player update")?);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let rows = runtime
        .block_on(async { tokio::time::timeout(WAIT, a.conn.query("SELECT * FROM my_items")).await })
        .map_err(|_| "the one-off query: no answer within 30 s".to_string())?
        .map_err(|e| format!("the one-off query failed: {e}"))?
        .into_rows::<Item>()
        .map_err(|e| format!("the one-off query's rows: {e}"))?;
    println!("A query my_items = {:?}", names(rows.into_iter()));

    println!("done");
    a.conn.disconnect().map_err(|e| format!("disconnect: {e}"))?;
    b.conn.disconnect().map_err(|e| format!("disconnect: {e}"))
}
