//! The Rust SDK against a real server, through `tests/realtime-client` (the SDK plus the
//! bindings our codegen generated for `tests/modules/realtime`): row callbacks fire once
//! per change, the caller gets its reducer result while others get a transaction, a
//! failed reducer changes no cache, overlapping query sets share rows, unsubscribing
//! removes rows, a join follows both of its tables, and a private table refuses a
//! non-owner's subscription. Every test runs against the module built with our bindings
//! and with upstream's 2.10.1 crate.
//!
//! Exactness comes from `sync`: a client calls `noop` and waits for its result; the
//! server answers in order, so every callback of an earlier transaction has printed by
//! then, and the lines since a mark are all the callbacks there are.

use crate::common::*;
use crate::toolchains::cargo_build;
use spacetime_testing::modules::{build_module, Bindings, REALTIME};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Builds the test client once per test process.
fn client_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| cargo_build("tests/realtime-client", None, "realtime-client"))
        .clone()
}

/// A server running the realtime module, published by `owner`.
pub fn realtime_fixture(bindings: Bindings) -> Fixture {
    Fixture::new(REALTIME, bindings, "realtime")
}

/// One running test client, speaking its line protocol (`sub`, `call`, `sync`, `dump`)
/// over a [`ClientProcess`].
pub struct RealtimeClient {
    process: ClientProcess,
    syncs: u32,
}

impl RealtimeClient {
    /// Connects to `db` at `url` as the holder of `token` (anonymous without one),
    /// reconnecting after `reconnect_ms` if given, and waits for `connected`.
    pub fn connect(url: &str, db: &str, token: Option<&str>, reconnect_ms: Option<u64>) -> Self {
        Self::connect_with(url, db, token, reconnect_ms, &[])
    }

    /// As [`RealtimeClient::connect`], with more client flags (`--compression gzip`).
    pub fn connect_with(url: &str, db: &str, token: Option<&str>, reconnect_ms: Option<u64>, extra: &[&str]) -> Self {
        let mut command = Command::new(client_bin());
        command.args(["--uri", url, "--db", db]).args(extra);
        if let Some(token) = token {
            command.args(["--token", token]);
        }
        if let Some(ms) = reconnect_ms {
            command.args(["--reconnect-ms", &ms.to_string()]);
        }
        let client = Self {
            process: ClientProcess::start(command),
            syncs: 0,
        };
        client.wait_for("connected ");
        client
    }

    /// Anonymous client of the fixture's database.
    pub fn anonymous(fx: &Fixture) -> Self {
        Self::connect(&fx.server.url(), &fx.name, None, None)
    }

    /// The fixture's database owner.
    pub fn owner(fx: &Fixture) -> Self {
        let token = fx.owner.token().expect("the owner has a token");
        Self::connect(&fx.server.url(), &fx.name, Some(&token), None)
    }

    /// Sends one command line.
    #[track_caller]
    pub fn send(&mut self, line: &str) {
        self.process.send(line);
    }

    /// Everything printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.process.lines()
    }

    /// Everything printed so far, for failure messages.
    pub fn output(&self) -> String {
        self.process.output()
    }

    /// How many lines were printed so far; a mark for [`RealtimeClient::callbacks_since`].
    pub fn mark(&self) -> usize {
        self.process.mark()
    }

    /// Waits for a line starting with `prefix` and returns its index.
    #[track_caller]
    pub fn wait_for(&self, prefix: &str) -> usize {
        self.process
            .wait_line(0, &format!("a line starting with {prefix:?}"), |l| {
                l.starts_with(prefix)
            })
            .0
    }

    /// Waits for a line starting with `prefix` printed at or after `mark`.
    #[track_caller]
    pub fn wait_for_since(&self, mark: usize, prefix: &str) -> String {
        self.process
            .wait_line(
                mark,
                &format!("a line starting with {prefix:?} after line {mark}"),
                |l| l.starts_with(prefix),
            )
            .1
    }

    /// Subscribes the query set `name` and waits until it is applied.
    #[track_caller]
    pub fn subscribe(&mut self, name: &str, queries: &[&str]) {
        let mark = self.mark();
        self.send(&format!("sub {name} {}", queries.join("|")));
        let line = self.wait_for_since(mark, &format!("applied {name}"));
        assert_eq!(line, format!("applied {name}"), "{}", self.output());
        self.assert_no_errors();
    }

    /// Calls a reducer and returns its result line without the `result NAME ` prefix.
    #[track_caller]
    pub fn call(&mut self, reducer: &str, args: &[&str]) -> String {
        let mark = self.mark();
        let mut line = format!("call {reducer}");
        for arg in args {
            line.push(' ');
            line.push_str(arg);
        }
        self.send(&line);
        let prefix = format!("result {reducer} ");
        self.wait_for_since(mark, &prefix)[prefix.len()..].to_owned()
    }

    /// Calls a reducer that must commit.
    #[track_caller]
    pub fn call_ok(&mut self, reducer: &str, args: &[&str]) {
        let result = self.call(reducer, args);
        assert_eq!(
            result,
            "ok",
            "{reducer}{args:?} commits; the client printed:\n{}",
            self.output()
        );
    }

    /// Waits until every message the server sent before now has been handled.
    #[track_caller]
    pub fn sync(&mut self) {
        self.syncs += 1;
        self.send("sync");
        self.wait_for(&format!("synced {}", self.syncs));
    }

    /// The row-callback lines printed since `mark`.
    pub fn callbacks_since(&self, mark: usize) -> Vec<String> {
        let lines = self.lines();
        lines[mark..]
            .iter()
            .filter(|l| ["insert ", "delete ", "update "].iter().any(|p| l.starts_with(p)))
            .cloned()
            .collect()
    }

    /// The cached rows of `table`, as `dump` prints them.
    #[track_caller]
    pub fn dump(&mut self, table: &str) -> String {
        let mark = self.mark();
        self.send(&format!("dump {table}"));
        self.wait_for_since(mark, &format!("dump {table} "))
    }

    /// Fails if the client reported a bad command or a mismatched reducer event.
    #[track_caller]
    pub fn assert_no_errors(&self) {
        let lines = self.lines();
        let bad: Vec<_> = lines
            .iter()
            .filter(|l| l.starts_with("bad-command") || l.starts_with("wrong-reducer"))
            .collect();
        assert!(
            bad.is_empty(),
            "the client reported problems: {bad:?}\nall output:\n{}",
            self.output()
        );
    }

    /// Closes stdin and waits for a clean exit.
    #[track_caller]
    pub fn finish(mut self) {
        self.assert_no_errors();
        self.process.finish();
    }
}

/// Sorts callback lines, for transactions whose callbacks have no promised order.
fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

both_bindings!(fn client_bindings_are_what_generate_prints(bindings) {
    let wasm = build_module(REALTIME, bindings);
    assert_bindings_current("rust", &wasm, &["--include-private"], &["tests/realtime-client/src/module_bindings"]);
});

both_bindings!(fn row_callbacks_fire_once_and_the_caller_gets_its_result(bindings) {
    let fx = realtime_fixture(bindings);
    let mut alice = RealtimeClient::anonymous(&fx);
    let mut bob = RealtimeClient::anonymous(&fx);

    // The caller hears about a reducer even when it is subscribed to nothing.
    assert_eq!(alice.call("noop", &[]), "ok", "{}", alice.output());

    alice.subscribe("items", &["SELECT * FROM item"]);
    bob.subscribe("items", &["SELECT * FROM item"]);
    let (a, b) = (alice.mark(), bob.mark());
    alice.call_ok("insert_item", &["1", "apple", "5"]);
    let result_at = alice.wait_for_since(a, "result insert_item");
    alice.sync();
    bob.sync();
    assert_eq!(alice.callbacks_since(a), strings(&["insert item 1/apple/5 via reducer insert_item"]), "{}", alice.output());
    assert_eq!(bob.callbacks_since(b), strings(&["insert item 1/apple/5 via transaction"]), "{}", bob.output());
    let alice_lines = alice.lines();
    let insert_at = alice_lines.iter().position(|l| l.starts_with("insert item 1/apple/5")).unwrap();
    let result_at = alice_lines.iter().position(|l| *l == result_at).unwrap();
    assert!(insert_at < result_at, "row callbacks run before the reducer's completion callback:\n{}", alice.output());
    assert!(!bob.lines().iter().any(|l| l.starts_with("result insert_item")), "only the caller gets the reducer result:\n{}", bob.output());

    // An update through the primary key is one on_update, not a delete and an insert.
    let (a, b) = (alice.mark(), bob.mark());
    bob.call_ok("set_count", &["1", "7"]);
    alice.sync();
    bob.sync();
    assert_eq!(alice.callbacks_since(a), strings(&["update item 1/apple/5 -> 1/apple/7 via transaction"]), "{}", alice.output());
    assert_eq!(bob.callbacks_since(b), strings(&["update item 1/apple/5 -> 1/apple/7 via reducer set_count"]), "{}", bob.output());

    // Changes made outside any WebSocket (an HTTP call) reach both as transactions.
    let (a, b) = (alice.mark(), bob.mark());
    fx.call("insert_item", &["2", "pear", "3"]).ok();
    fx.call("delete_item", &["1"]).ok();
    alice.sync();
    bob.sync();
    let expected = strings(&["insert item 2/pear/3 via transaction", "delete item 1/apple/7 via transaction"]);
    assert_eq!(alice.callbacks_since(a), expected, "{}", alice.output());
    assert_eq!(bob.callbacks_since(b), expected, "{}", bob.output());

    let (a, b) = (alice.mark(), bob.mark());
    alice.call_ok("delete_item", &["2"]);
    alice.sync();
    bob.sync();
    assert_eq!(alice.callbacks_since(a), strings(&["delete item 2/pear/3 via reducer delete_item"]), "{}", alice.output());
    assert_eq!(bob.callbacks_since(b), strings(&["delete item 2/pear/3 via transaction"]), "{}", bob.output());
    assert_eq!(alice.dump("item"), "dump item []", "{}", alice.output());
    assert_eq!(bob.dump("item"), "dump item []", "{}", bob.output());
    alice.finish();
    bob.finish();
});

both_bindings!(fn a_failed_reducer_changes_no_cache(bindings) {
    let fx = realtime_fixture(bindings);
    fx.call("insert_item", &["1", "apple", "5"]).ok();
    fx.call("insert_item", &["2", "pear", "3"]).ok();
    let mut alice = RealtimeClient::anonymous(&fx);
    let mut bob = RealtimeClient::anonymous(&fx);
    alice.subscribe("items", &["SELECT * FROM item"]);
    bob.subscribe("items", &["SELECT * FROM item"]);
    let (a, b) = (alice.mark(), bob.mark());

    assert_eq!(alice.call("insert_then_fail", &["9"]), "err insert_then_fail refuses item 9 after inserting it", "{}", alice.output());
    let panicked = alice.call("insert_then_panic", &["9"]);
    assert!(panicked.starts_with("internal "), "a panic is an internal error: {panicked}\n{}", alice.output());
    assert!(panicked.contains("insert_then_panic gives up on item 9"), "it carries the panic message: {panicked}\n{}", alice.output());
    assert_eq!(alice.call("insert_item", &["1", "again", "0"]).split_once(' ').map(|(kind, _)| kind), Some("err"), "{}", alice.output());
    alice.sync();
    bob.sync();
    assert_eq!(alice.callbacks_since(a), Vec::<String>::new(), "the caller's cache did not change:\n{}", alice.output());
    assert_eq!(bob.callbacks_since(b), Vec::<String>::new(), "other caches did not change:\n{}", bob.output());
    let expected = "dump item [1/apple/5, 2/pear/3]";
    assert_eq!(alice.dump("item"), expected, "{}", alice.output());
    assert_eq!(bob.dump("item"), expected, "{}", bob.output());
    assert!(!fx.sql("SELECT * FROM item").contains("doomed"), "the failed calls' rows are not in the database");
    alice.finish();
    bob.finish();
});

both_bindings!(fn overlapping_query_sets_share_rows_until_both_let_go(bindings) {
    let fx = realtime_fixture(bindings);
    fx.call("insert_item", &["1", "apple", "7"]).ok(); // both sets
    fx.call("insert_item", &["2", "pear", "3"]).ok(); // `small` only
    fx.call("insert_item", &["20", "fig", "9"]).ok(); // `big` only
    let mut alice = RealtimeClient::anonymous(&fx);

    let mark = alice.mark();
    alice.subscribe("big", &["SELECT * FROM item WHERE count > 5"]);
    assert_eq!(
        sorted(alice.callbacks_since(mark)),
        strings(&["insert item 1/apple/7 via applied", "insert item 20/fig/9 via applied"]),
        "{}",
        alice.output()
    );
    let mark = alice.mark();
    alice.subscribe("small", &["SELECT * FROM item WHERE id < 10", "SELECT * FROM item WHERE id = 1"]);
    assert_eq!(alice.callbacks_since(mark), strings(&["insert item 2/pear/3 via applied"]), "item 1 is already cached:\n{}", alice.output());

    // A live row matching three queries in two sets is one insert, and one delete.
    let mark = alice.mark();
    fx.call("insert_item", &["1", "dup", "0"]).err();
    fx.call("insert_item", &["3", "kiwi", "8"]).ok();
    alice.sync();
    assert_eq!(alice.callbacks_since(mark), strings(&["insert item 3/kiwi/8 via transaction"]), "{}", alice.output());
    let mark = alice.mark();
    fx.call("delete_item", &["3"]).ok();
    alice.sync();
    assert_eq!(alice.callbacks_since(mark), strings(&["delete item 3/kiwi/8 via transaction"]), "{}", alice.output());

    // Leaving `big` drops only what `small` does not hold.
    let mark = alice.mark();
    alice.send("unsub big");
    alice.wait_for_since(mark, "ended big");
    assert_eq!(alice.callbacks_since(mark), strings(&["delete item 20/fig/9 via unapplied"]), "{}", alice.output());
    assert_eq!(alice.dump("item"), "dump item [1/apple/7, 2/pear/3]", "{}", alice.output());

    // Changes to rows only `big` matched no longer arrive.
    let mark = alice.mark();
    fx.call("set_count", &["20", "10"]).ok();
    alice.sync();
    assert_eq!(alice.callbacks_since(mark), Vec::<String>::new(), "{}", alice.output());

    let mark = alice.mark();
    alice.send("unsub small");
    alice.wait_for_since(mark, "ended small");
    assert_eq!(
        sorted(alice.callbacks_since(mark)),
        strings(&["delete item 1/apple/7 via unapplied", "delete item 2/pear/3 via unapplied"]),
        "{}",
        alice.output()
    );
    assert_eq!(alice.dump("item"), "dump item []", "{}", alice.output());
    let mark = alice.mark();
    fx.call("set_count", &["1", "8"]).ok();
    alice.sync();
    assert_eq!(alice.callbacks_since(mark), Vec::<String>::new(), "nothing arrives after unsubscribing:\n{}", alice.output());
    alice.finish();
});

both_bindings!(fn a_join_subscription_follows_both_tables(bindings) {
    let fx = realtime_fixture(bindings);
    fx.call("add_person", &["1", "alice"]).ok();
    fx.call("add_person", &["2", "bob"]).ok();
    fx.call("add_pet", &["10", "1", "rex"]).ok();
    fx.call("add_pet", &["11", "2", "tom"]).ok();
    let mut c = RealtimeClient::anonymous(&fx);
    let mut owner = RealtimeClient::owner(&fx);

    let mark = c.mark();
    c.subscribe("alices-pets", &["SELECT pet.* FROM pet JOIN person ON pet.owner_id = person.id WHERE person.name = 'alice'"]);
    assert_eq!(c.callbacks_since(mark), strings(&["insert pet 10/1/rex via applied"]), "{}", c.output());

    let step = |c: &mut RealtimeClient, owner: &mut RealtimeClient, reducer: &str, args: &[&str], expected: &[&str]| {
        let mark = c.mark();
        owner.call_ok(reducer, args);
        c.sync();
        assert_eq!(sorted(c.callbacks_since(mark)), strings(expected), "after {reducer}{args:?}:\n{}", c.output());
    };
    // The pet side changes.
    step(&mut c, &mut owner, "add_pet", &["12", "1", "max"], &["insert pet 12/1/max via transaction"]);
    step(&mut c, &mut owner, "move_pet", &["11", "1"], &["insert pet 11/1/tom via transaction"]);
    step(&mut c, &mut owner, "add_pet", &["13", "2", "kit"], &[]);
    // The person side changes: every pet of the renamed person leaves, then returns.
    step(
        &mut c,
        &mut owner,
        "rename_person",
        &["1", "alicia"],
        &["delete pet 10/1/rex via transaction", "delete pet 11/1/tom via transaction", "delete pet 12/1/max via transaction"],
    );
    step(
        &mut c,
        &mut owner,
        "rename_person",
        &["1", "alice"],
        &["insert pet 10/1/rex via transaction", "insert pet 11/1/tom via transaction", "insert pet 12/1/max via transaction"],
    );
    step(&mut c, &mut owner, "rename_person", &["2", "alice"], &["insert pet 13/2/kit via transaction"]);
    // Both sides still match after a move between two `alice`s: an update.
    step(&mut c, &mut owner, "move_pet", &["12", "2"], &["update pet 12/1/max -> 12/2/max via transaction"]);
    step(&mut c, &mut owner, "delete_person", &["2"], &["delete pet 12/2/max via transaction", "delete pet 13/2/kit via transaction"]);
    step(&mut c, &mut owner, "delete_pet", &["10"], &["delete pet 10/1/rex via transaction"]);
    assert_eq!(c.dump("pet"), "dump pet [11/1/tom]", "{}", c.output());
    assert_eq!(c.dump("person"), "dump person []", "only the returned table is cached:\n{}", c.output());
    c.finish();
    owner.finish();
});

both_bindings!(fn a_private_table_refuses_non_owners(bindings) {
    let fx = realtime_fixture(bindings);
    fx.call("add_secret", &["1", "hunter2"]).ok();
    let mut stranger = RealtimeClient::anonymous(&fx);
    let mark = stranger.mark();
    stranger.send("sub secrets SELECT * FROM secret");
    let error = stranger.wait_for_since(mark, "sub-error secrets: ");
    assert!(
        error.contains("no such table: `secret`. If the table exists, it may be marked private."),
        "the error names the table and the likely cause: {error}\n{}",
        stranger.output()
    );
    assert!(!stranger.lines().iter().any(|l| l.starts_with("applied secrets")), "the subscription never applies:\n{}", stranger.output());
    assert!(!stranger.lines().iter().any(|l| l.contains("hunter2")), "no secret row reaches the stranger:\n{}", stranger.output());
    // The connection stays usable.
    stranger.subscribe("items", &["SELECT * FROM item"]);
    // Nor can a join smuggle the private table in.
    let mark = stranger.mark();
    stranger.send("sub sneaky SELECT item.* FROM item JOIN secret ON item.id = secret.id");
    let error = stranger.wait_for_since(mark, "sub-error sneaky: ");
    assert!(error.contains("secret"), "the error names the table: {error}\n{}", stranger.output());

    let mut owner = RealtimeClient::owner(&fx);
    let mark = owner.mark();
    owner.subscribe("secrets", &["SELECT * FROM secret"]);
    assert_eq!(owner.callbacks_since(mark), strings(&["insert secret 1/hunter2 via applied"]), "{}", owner.output());
    stranger.finish();
    owner.finish();
});

both_bindings!(fn select_star_from_star_covers_every_readable_table(bindings) {
    let fx = realtime_fixture(bindings);
    fx.call("insert_item", &["1", "apple", "1"]).ok();
    fx.call("add_person", &["1", "alice"]).ok();
    fx.call("add_pet", &["10", "1", "rex"]).ok();
    fx.call("add_secret", &["1", "hunter2"]).ok();
    let mut stranger = RealtimeClient::anonymous(&fx);
    let mark = stranger.mark();
    stranger.subscribe("all", &["SELECT * FROM *"]);
    assert_eq!(
        sorted(stranger.callbacks_since(mark)),
        strings(&["insert item 1/apple/1 via applied", "insert person 1/alice via applied", "insert pet 10/1/rex via applied"]),
        "a non-owner gets the public tables only:\n{}",
        stranger.output()
    );
    let mark = stranger.mark();
    fx.call("set_count", &["1", "2"]).ok();
    fx.call("add_secret", &["2", "swordfish"]).ok();
    stranger.sync();
    assert_eq!(stranger.callbacks_since(mark), strings(&["update item 1/apple/1 -> 1/apple/2 via transaction"]), "{}", stranger.output());

    let mut owner = RealtimeClient::owner(&fx);
    let mark = owner.mark();
    owner.subscribe("all", &["SELECT * FROM *"]);
    assert_eq!(
        sorted(owner.callbacks_since(mark)),
        strings(&[
            "insert item 1/apple/2 via applied",
            "insert person 1/alice via applied",
            "insert pet 10/1/rex via applied",
            "insert secret 1/hunter2 via applied",
            "insert secret 2/swordfish via applied",
        ]),
        "the owner gets every table:\n{}",
        owner.output()
    );
    stranger.finish();
    owner.finish();
});

both_bindings!(fn clients_with_different_compression_see_the_same_large_rows(bindings) {
    let fx = realtime_fixture(bindings);
    let mut clients: Vec<RealtimeClient> = ["none", "brotli", "gzip"]
        .iter()
        .map(|c| RealtimeClient::connect_with(&fx.server.url(), &fx.name, None, None, &["--compression", c]))
        .collect();
    // Rows well over the 1 KiB above which the server compresses a message.
    let big = "x".repeat(3000);
    fx.call("insert_item", &["1", &big, "1"]).ok();
    let mut marks = Vec::new();
    for c in &mut clients {
        let mark = c.mark();
        c.subscribe("items", &["SELECT * FROM item"]);
        assert_eq!(c.callbacks_since(mark), [format!("insert item 1/{big}/1 via applied")], "{}", c.output());
        marks.push(c.mark());
    }
    let other = "y".repeat(3000);
    clients[0].call_ok("insert_item", &["2", &other, "2"]);
    for (i, (c, mark)) in clients.iter_mut().zip(marks).enumerate() {
        c.sync();
        let cause = if i == 0 { "reducer insert_item" } else { "transaction" };
        assert_eq!(c.callbacks_since(mark), [format!("insert item 2/{other}/2 via {cause}")], "{}", c.output());
    }
    for c in clients {
        c.finish();
    }
});
