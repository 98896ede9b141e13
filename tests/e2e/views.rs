//! Views (issue 14), with a real server and the module `tests/modules/views` built
//! against our bindings and against the crates.io `spacetimedb` crate: a per-caller
//! view seen differently by two identities, an anonymous view whose rows follow the
//! table as subscription deltas, a view joined with a table in a subscription, SQL over
//! views and writes to them refused, a keyed view whose change arrives as a delete and
//! an insert in one update, views rebuilt after a restart and a module update,
//! row-level security: a view reads past the filters, as upstream's views do, per-caller
//! materialisations released when their subscribers leave (the
//! `spacetime_view_materialisations` gauge), and read sets by index key: a write to
//! another owner's rows does not run a view that read the caller's own.

use crate::common::*;
use crate::subscribe::Subscriber;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{Bindings, VIEWS};

const DB: &str = "views-db";

/// A server with the views module, and two users: alice (owning an apple at 5, item 1)
/// and bob (owning bread at 150, item 2).
fn fixture(bindings: Bindings) -> (Fixture, Cli, Cli) {
    let fx = Fixture::new(VIEWS, bindings, DB);
    let (alice, bob) = (fx.other_user(), fx.other_user());
    alice.call(DB, "add_item", &["apple", "5"]).ok();
    bob.call(DB, "add_item", &["bread", "150"]).ok();
    (fx, alice, bob)
}

both_bindings!(fn a_per_caller_view_shows_each_caller_its_own_rows(bindings) {
    let (fx, alice, bob) = fixture(bindings);
    assert_eq!(sql_column(&alice, DB, "SELECT name FROM my_items"), ["apple"]);
    assert_eq!(sql_column(&bob, DB, "SELECT name FROM my_items"), ["bread"]);
    // Another caller's rows cannot be named directly (the table behind alice's view).
    let shown = alice.run(&["login", "show"]).ok().trimmed_stdout();
    let alice_id = shown.rsplit(' ').next().expect("`You are logged in as <identity>`");
    assert!(alice_id.len() == 64 && alice_id.chars().all(|c| c.is_ascii_hexdigit()), "{shown}");
    let quoted = format!("SELECT * FROM \"my_items#{alice_id}\"");
    let out = bob.sql(DB, &quoted).err();
    assert!(out.stderr.contains("no such table"), "{}", out.stderr);
        // The owner is a caller like any other: no items of their own.
    assert_eq!(sql_column(&fx.owner, DB, "SELECT name FROM my_items"), Vec::<String>::new());
    // The anonymous view is the same for everyone.
    assert_eq!(sql_column(&alice, DB, "SELECT name FROM expensive_items"), ["bread"]);
    assert_eq!(sql_column(&bob, DB, "SELECT name FROM expensive_items"), ["bread"]);
    // A one-off WHERE over a view, and a join of a view with a table in SQL.
    assert_eq!(sql_column(&bob, DB, "SELECT name FROM my_items WHERE price > 100"), ["bread"]);
    assert_eq!(
        sql_column(
            &alice, DB,
            "SELECT item.name FROM item JOIN my_items ON item.id = my_items.id"
        ),
        ["apple"]
    );
    // A later item of alice's appears in her view only.
    alice.call(DB, "add_item", &["cherry", "7"]).ok();
    assert_eq!(sql_column(&alice, DB, "SELECT name FROM my_items"), ["apple", "cherry"]);
    assert_eq!(sql_column(&bob, DB, "SELECT name FROM my_items"), ["bread"]);
});

both_bindings!(fn an_anonymous_view_reaches_subscribers_as_deltas(bindings) {
    let (_fx, alice, bob) = fixture(bindings);
    let mut sub = Subscriber::start_as(&alice, &[DB, "SELECT * FROM expensive_items", "--print-initial-update"]);
    let initial = sub.next_json("initial update");
    assert_eq!(
        update_rows(&initial, "expensive_items", "inserts", "name"),
        ["bread"],
        "{initial}"
    );
    // Alice's apple becomes expensive: an insert into the view.
    alice.call(DB, "set_price", &["1", "200"]).ok();
    let update = sub.next_json("update after the apple's price rose");
    assert_eq!(
        update_rows(&update, "expensive_items", "inserts", "name"),
        ["apple"],
        "{update}"
    );
    assert_eq!(
        update_rows(&update, "expensive_items", "deletes", "name"),
        Vec::<String>::new()
    );
    // Bob's bread becomes cheap: a delete from the view.
    bob.call(DB, "set_price", &["2", "50"]).ok();
    let update = sub.next_json("update after the bread's price fell");
    assert_eq!(
        update_rows(&update, "expensive_items", "deletes", "name"),
        ["bread"],
        "{update}"
    );
    // A change that leaves the view as it was sends the subscriber nothing: the next
    // line is the one after it.
    bob.call(DB, "add_item", &["crumb", "1"]).ok();
    alice.call(DB, "remove_item", &["1"]).ok();
    let update = sub.next_json("update after the apple was removed");
    assert_eq!(
        update_rows(&update, "expensive_items", "deletes", "name"),
        ["apple"],
        "{update}"
    );
    assert_eq!(
        update_rows(&update, "expensive_items", "inserts", "name"),
        Vec::<String>::new()
    );
});

both_bindings!(fn a_view_joined_with_a_table_in_a_subscription(bindings) {
    let (_fx, alice, bob) = fixture(bindings);
    let query = "SELECT my_items.* FROM my_items JOIN player ON my_items.owner = player.identity";
    let mut sub = Subscriber::start_as(&alice, &[DB, query, "--print-initial-update"]);
    let initial = sub.next_json("initial update");
    assert_eq!(
        update_rows(&initial, "my_items", "inserts", "name"),
        Vec::<String>::new(),
        "{initial}"
    );
    // The table side changes: alice becomes a player, so her items join.
    alice.call(DB, "set_player", &["alice", "3"]).ok();
    let update = sub.next_json("update after alice became a player");
    assert_eq!(update_rows(&update, "my_items", "inserts", "name"), ["apple"], "{update}");
    // Bob's changes touch neither alice's view nor her player row.
    bob.call(DB, "set_player", &["bob", "4"]).ok();
    bob.call(DB, "add_item", &["butter", "9"]).ok();
    // The view side changes: a new item of alice's arrives through the join.
    alice.call(DB, "add_item", &["cherry", "7"]).ok();
    let update = sub.next_json("update after alice's new item");
    assert_eq!(update_rows(&update, "my_items", "inserts", "name"), ["cherry"], "{update}");
});

both_bindings!(fn writes_to_a_view_are_refused(bindings) {
    let (fx, _alice, _bob) = fixture(bindings);
    for dml in [
        "INSERT INTO expensive_items (name) VALUES ('x')",
        "DELETE FROM expensive_items",
        "UPDATE my_items SET price = 1",
    ] {
        let out = fx.owner.sql(DB, dml).err();
        assert!(
            out.stderr.contains("is a view, and views are read-only"),
            "{dml}: {}",
            out.stderr
        );
    }
    assert_eq!(sql_column(&fx.owner, DB, "SELECT name FROM expensive_items"), ["bread"]);
});

both_bindings!(fn a_keyed_view_sends_a_changed_row_as_a_delete_and_an_insert_in_one_update(bindings) {
    let (_fx, alice, bob) = fixture(bindings);
    let mut sub = Subscriber::start_as(&alice, &[DB, "SELECT * FROM my_player", "--print-initial-update"]);
    let initial = sub.next_json("initial update");
    assert_eq!(
        update_rows(&initial, "my_player", "inserts", "name"),
        Vec::<String>::new(),
        "{initial}"
    );
    alice.call(DB, "set_player", &["alice", "1"]).ok();
    let update = sub.next_json("update after alice's first score");
    assert_eq!(update_rows(&update, "my_player", "inserts", "score"), ["1"], "{update}");
    bob.call(DB, "set_player", &["bob", "1"]).ok();
    alice.call(DB, "set_player", &["alice", "2"]).ok();
    let update = sub.next_json("update after alice's score changed");
    // Same key, both halves in one update: what clients pair into `on_update`.
    assert_eq!(update_rows(&update, "my_player", "deletes", "score"), ["1"], "{update}");
    assert_eq!(update_rows(&update, "my_player", "inserts", "score"), ["2"], "{update}");
    assert_eq!(
        update["my_player"]["deletes"][0]["identity"], update["my_player"]["inserts"][0]["identity"],
        "{update}"
    );
});

both_bindings!(fn views_are_rebuilt_after_a_restart_and_a_module_update(bindings) {
    let (mut fx, alice, bob) = fixture(bindings);
    alice.call(DB, "set_price", &["1", "300"]).ok();
    fx.server.restart();
    // Nothing of a view is logged: its rows are evaluated again from the tables.
    assert_eq!(sql_column(&alice, DB, "SELECT name FROM expensive_items"), ["apple", "bread"]);
    assert_eq!(sql_column(&alice, DB, "SELECT name FROM my_items"), ["apple"]);
    assert_eq!(sql_column(&bob, DB, "SELECT name FROM my_items"), ["bread"]);

    // A subscription to a per-caller view lives through a module update.
    let mut sub = Subscriber::start_as(&bob, &[DB, "SELECT * FROM my_items", "--print-initial-update"]);
    let initial = sub.next_json("initial update");
    assert_eq!(update_rows(&initial, "my_items", "inserts", "name"), ["bread"], "{initial}");
    fx.owner.publish(&fx.wasm, Some(DB));
    assert_eq!(sql_column(&alice, DB, "SELECT name FROM my_items"), ["apple"]);
    bob.call(DB, "add_item", &["bagel", "3"]).ok();
    let update = sub.next_json("update after the module update");
    assert_eq!(update_rows(&update, "my_items", "inserts", "name"), ["bagel"], "{update}");
    assert_eq!(sql_column(&bob, DB, "SELECT name FROM my_items"), ["bagel", "bread"]);
});

both_bindings!(fn a_view_reads_past_row_level_security_as_upstream_views_do(bindings) {
    let (fx, alice, bob) = fixture(bindings);
    alice.call(DB, "set_player", &["alice", "10"]).ok();
    bob.call(DB, "set_player", &["bob", "20"]).ok();
    // The table is filtered for each client…
    assert_eq!(sql_column(&alice, DB, "SELECT name FROM player"), ["alice"]);
    assert_eq!(sql_column(&bob, DB, "SELECT name FROM player"), ["bob"]);
    // …but a view runs as the module: it sees every row, and shows what it returns.
    assert_eq!(sql_column(&alice, DB, "SELECT name FROM leaderboard"), ["alice", "bob"]);
    // A per-caller view is the way to restrict: alice's own player only.
    assert_eq!(sql_column(&alice, DB, "SELECT name FROM my_player"), ["alice"]);
    assert_eq!(sql_column(&fx.owner, DB, "SELECT name FROM player"), ["alice", "bob"]);
});

both_bindings!(fn a_view_runs_again_only_when_a_table_it_read_changes(bindings) {
    let (fx, alice, _bob) = fixture(bindings);
    let evaluations = || {
        fx.logs(1000)
            .iter()
            .filter(|l| l.contains("evaluating expensive_items"))
            .count()
    };
    let before = evaluations();
    assert!(before >= 1, "it ran at least once to fill its table");
    // `player` is not in the view's read set: no evaluation.
    alice.call(DB, "set_player", &["alice", "5"]).ok();
    alice.call(DB, "add_plain", &["pear", "500"]).ok();
    assert_eq!(evaluations(), before, "writes to tables the view did not read ran it");
    // `item` is: exactly one evaluation per transaction.
    alice.call(DB, "add_item", &["melon", "500"]).ok();
    assert_eq!(evaluations(), before + 1);
    assert_eq!(sql_column(&alice, DB, "SELECT name FROM expensive_items"), ["bread", "melon"]);
});

/// The `spacetime_view_materialisations` gauge of the server's one database.
fn materialisations(server: &spacetime_testing::server::TestServer) -> u64 {
    let text = reqwest::blocking::get(format!("{}/metrics", server.url()))
        .and_then(|r| r.text())
        .expect("GET /metrics");
    text.lines()
        .filter(|l| l.starts_with("spacetime_view_materialisations{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Polls the gauge until it reads `want`.
#[track_caller]
fn wait_materialisations(server: &spacetime_testing::server::TestServer, want: u64, what: &str) {
    poll(
        what,
        std::time::Duration::from_secs(30),
        || (materialisations(server) == want).then_some(()),
        || format!("the gauge reads {}", materialisations(server)),
    );
}

both_bindings!(fn per_caller_views_are_released_when_their_subscribers_leave(bindings) {
    let (fx, alice, bob) = fixture(bindings);
    // The calls above ran reducers only: nothing is materialised per caller yet.
    assert_eq!(materialisations(&fx.server), 0);
    let users = [alice, bob, fx.other_user(), fx.other_user(), fx.other_user()];
    let mut subs = Vec::new();
    for user in &users {
        let mut sub = Subscriber::start_as(user, &[DB, "SELECT * FROM my_items", "--print-initial-update"]);
        sub.next_json("initial update");
        subs.push(sub);
    }
    // The module has two per-caller views (`my_items`, `my_player`), materialised for
    // each subscriber.
    assert_eq!(materialisations(&fx.server), 2 * users.len() as u64);
    // Every connection ends: nothing is held any more.
    drop(subs);
    wait_materialisations(&fx.server, 0, "the subscribers' views to be released");

    // A released table is reused for the next caller, emptied first: a new subscriber
    // sees its own rows (none), not a previous caller's.
    let carol = fx.other_user();
    let mut sub = Subscriber::start_as(&carol, &[DB, "SELECT * FROM my_items", "--print-initial-update"]);
    let initial = sub.next_json("carol's initial update");
    assert_eq!(update_rows(&initial, "my_items", "inserts", "name"), Vec::<String>::new(), "{initial}");
    carol.call(DB, "add_item", &["cake", "3"]).ok();
    let update = sub.next_json("update after carol's item");
    assert_eq!(update_rows(&update, "my_items", "inserts", "name"), ["cake"], "{update}");
    // Views are rebuilt on next use: alice's and bob's rows are there again.
    assert_eq!(sql_column(&users[0], DB, "SELECT name FROM my_items"), ["apple"]);
    assert_eq!(sql_column(&users[1], DB, "SELECT name FROM my_items"), ["bread"]);
    drop(sub);
    // Alice's and bob's (queried over HTTP, kept a while for their next query) remain.
    wait_materialisations(&fx.server, 4, "carol's views to be released");
});

both_bindings!(fn a_per_caller_view_runs_again_only_for_its_own_rows(bindings) {
    let (fx, alice, bob) = fixture(bindings);
    let evaluations = || {
        fx.logs(1000)
            .iter()
            .filter(|l| l.contains("evaluating my_items"))
            .count()
    };
    let mut sub = Subscriber::start_as(&alice, &[DB, "SELECT * FROM my_items", "--print-initial-update"]);
    let initial = sub.next_json("initial update");
    assert_eq!(update_rows(&initial, "my_items", "inserts", "name"), ["apple"], "{initial}");
    let before = evaluations();
    assert!(before >= 1, "it ran at least once to fill alice's table");
    // `my_items` reads `item` through its `owner` index at alice's identity: bob's
    // writes to `item` fall outside that key, so they do not run it.
    bob.call(DB, "add_item", &["butter", "9"]).ok();
    bob.call(DB, "set_price", &["2", "99"]).ok();
    bob.call(DB, "remove_item", &["2"]).ok();
    assert_eq!(evaluations(), before, "another owner's writes ran alice's view");
    // Alice's own write does, once, and reaches her subscription.
    alice.call(DB, "add_item", &["cherry", "7"]).ok();
    let update = sub.next_json("update after alice's item");
    assert_eq!(update_rows(&update, "my_items", "inserts", "name"), ["cherry"], "{update}");
    assert_eq!(evaluations(), before + 1);
});

/// Views with parameters and query-builder views (`tests/modules/views-params`), built with
/// our bindings and with the crates.io 2.14 crate.
mod with_parameters {
    use super::*;
    use spacetime_testing::modules::{build_module, build_module_upstream_214, VIEWS_PARAMS};
    use spacetime_testing::server::TestServer;

    const DB: &str = "views-params-db";

    /// A server with the module, alice (apple at 5, item 1; cherry at 150, item 2) and bob
    /// (bread at 150, item 3), and their identities in hex.
    fn fixture(bindings: Bindings) -> (TestServer, Cli, Cli, Cli, String, String, std::path::PathBuf) {
        let wasm = match bindings {
            Bindings::Ours => build_module(VIEWS_PARAMS, bindings),
            Bindings::Upstream => build_module_upstream_214(VIEWS_PARAMS),
        };
        let server = TestServer::start();
        let owner = Cli::new(&server);
        owner.publish(&wasm, Some(DB));
        let (alice, bob) = (Cli::new(&server), Cli::new(&server));
        alice.new_identity();
        bob.new_identity();
        alice.call(DB, "add_item", &["apple", "5"]).ok();
        alice.call(DB, "add_item", &["cherry", "150"]).ok();
        bob.call(DB, "add_item", &["bread", "150"]).ok();
        let (a, b) = (identity_of(&alice), identity_of(&bob));
        (server, owner, alice, bob, a, b, wasm)
    }

    fn identity_of(cli: &Cli) -> String {
        let shown = cli.run(&["login", "show"]).ok().trimmed_stdout();
        let id = shown.rsplit(' ').next().unwrap_or_default().to_owned();
        assert!(id.len() == 64 && id.chars().all(|c| c.is_ascii_hexdigit()), "{shown}");
        id
    }

    fn parameterized(bindings: Bindings) {
        let (_server, owner, alice, bob, a, b, wasm) = fixture(bindings);
        // Two argument values, two row sets, whoever asks; the query builder's quoting too.
        let by_alice = format!("SELECT name FROM items_by_owner(0x{a})");
        let by_bob = format!("SELECT name FROM \"items_by_owner\"(0x{b})");
        assert_eq!(sql_column(&bob, DB, &by_alice), ["apple", "cherry"]);
        assert_eq!(sql_column(&alice, DB, &by_bob), ["bread"]);
        // A per-caller view with a parameter: the caller's rows for that argument.
        assert_eq!(
            sql_column(&alice, DB, "SELECT name FROM my_items_over(100)"),
            ["cherry"]
        );
        assert_eq!(
            sql_column(&alice, DB, "SELECT name FROM my_items_over(1)"),
            ["apple", "cherry"]
        );
        assert_eq!(sql_column(&bob, DB, "SELECT name FROM my_items_over(100)"), ["bread"]);

        // A subscription to one call gets its rows, then the deltas of that call only.
        let query = format!("SELECT * FROM items_by_owner(0x{a})");
        let mut sub = Subscriber::start_as(&bob, &[DB, &query, "--print-initial-update"]);
        let initial = sub.next_json("initial update");
        assert_eq!(
            update_rows(&initial, "items_by_owner", "inserts", "name"),
            ["apple", "cherry"],
            "{initial}"
        );
        bob.call(DB, "add_item", &["butter", "9"]).ok();
        alice.call(DB, "add_item", &["date", "3"]).ok();
        let update = sub.next_json("update after alice's new item");
        assert_eq!(
            update_rows(&update, "items_by_owner", "inserts", "name"),
            ["date"],
            "{update}"
        );
        alice.call(DB, "set_price", &["1", "6"]).ok();
        let update = sub.next_json("update after the apple's price changed");
        assert_eq!(
            update_rows(&update, "items_by_owner", "deletes", "price"),
            ["5"],
            "{update}"
        );
        assert_eq!(
            update_rows(&update, "items_by_owner", "inserts", "price"),
            ["6"],
            "{update}"
        );

        // Subscriptions to calls (anonymous and per caller) live through a module update.
        let mut mine = Subscriber::start_as(
            &alice,
            &[DB, "SELECT * FROM my_items_over(100)", "--print-initial-update"],
        );
        let initial = mine.next_json("alice's initial update");
        assert_eq!(
            update_rows(&initial, "my_items_over", "inserts", "name"),
            ["cherry"],
            "{initial}"
        );
        owner.publish(&wasm, Some(DB));
        alice.call(DB, "add_item", &["fig", "200"]).ok();
        let update = sub.next_json("update after the module update");
        assert_eq!(
            update_rows(&update, "items_by_owner", "inserts", "name"),
            ["fig"],
            "{update}"
        );
        let update = mine.next_json("alice's update after the module update");
        assert_eq!(
            update_rows(&update, "my_items_over", "inserts", "name"),
            ["fig"],
            "{update}"
        );

        // Bad calls are refused with what is wrong, and the server keeps serving.
        for (sql, expected) in [
            (
                "SELECT * FROM items_by_owner".to_owned(),
                "takes arguments (owner: Identity)",
            ),
            ("SELECT * FROM items_by_owner(1, 2)".to_owned(), "takes 1 argument(s)"),
            (
                "SELECT * FROM items_by_owner('nobody')".to_owned(),
                "argument 1 (`owner`)",
            ),
            ("SELECT * FROM my_items_over(-1)".to_owned(), "argument 1 (`min_price`)"),
            (
                "SELECT * FROM item(1)".to_owned(),
                "only a view with parameters can be called",
            ),
        ] {
            let out = alice.sql(DB, &sql).err();
            assert!(out.stderr.contains(expected), "{sql}: {}", out.stderr);
        }
        let out = alice
            .run(&["subscribe", DB, "SELECT * FROM my_items_over('x')", "-n", "1"])
            .err();
        assert!(out.stderr.contains("min_price"), "{}", out.stderr);
        assert_eq!(sql_column(&owner, DB, "SELECT name FROM item WHERE id = 3"), ["bread"]);
    }

    /// A call's materialisation is held while a subscription reads it, and released (its
    /// table pooled) when the last subscriber leaves.
    #[test]
    fn a_calls_rows_are_released_when_its_subscribers_leave() {
        let (server, _owner, alice, bob, a, b, _wasm) = fixture(Bindings::Ours);
        assert_eq!(materialisations(&server), 0, "reducer calls materialise nothing");
        let mut subs = Vec::new();
        for (cli, sql) in [
            (&alice, format!("SELECT * FROM items_by_owner(0x{a})")),
            (&bob, format!("SELECT * FROM items_by_owner(0x{a})")),
            (&bob, format!("SELECT * FROM items_by_owner(0x{b})")),
            (&alice, "SELECT * FROM my_items_over(100)".to_owned()),
        ] {
            let mut sub = Subscriber::start_as(cli, &[DB, &sql, "--print-initial-update"]);
            sub.next_json("initial update");
            subs.push(sub);
        }
        assert_eq!(
            materialisations(&server),
            3,
            "one per distinct call, shared by its subscribers"
        );
        drop(subs);
        wait_materialisations(&server, 0, "the calls' rows to be released");
        // A released call is materialised again, with current rows, on its next use.
        alice.call(DB, "add_item", &["grape", "1"]).ok();
        let by_alice = format!("SELECT name FROM items_by_owner(0x{a})");
        assert_eq!(sql_column(&bob, DB, &by_alice), ["apple", "cherry", "grape"]);
    }

    #[test]
    fn ours() {
        parameterized(Bindings::Ours);
    }

    #[test]
    fn upstream_2_14() {
        parameterized(Bindings::Upstream);
    }

    /// Query-builder views: their rows are the query's, kept current as the tables change.
    fn query_views(bindings: Bindings) {
        let (_server, owner, alice, bob, _a, _b, _wasm) = fixture(bindings);
        assert_eq!(sql_column(&bob, DB, "SELECT name FROM cheap_items"), ["apple"]);
        // Its query reads the index range price < 10: a change outside it does not run
        // the view again, one inside does.
        let evaluations = || {
            let logs = owner.logs(DB, 1000);
            logs.iter().filter(|l| l.contains("evaluating cheap_items")).count()
        };
        let before = evaluations();
        bob.call(DB, "set_price", &["3", "160"]).ok();
        assert_eq!(evaluations(), before, "bread stayed dear");
        alice.call(DB, "set_price", &["1", "4"]).ok();
        assert_eq!(evaluations(), before + 1, "the apple is in the range");
        let mut sub = Subscriber::start_as(&bob, &[DB, "SELECT * FROM cheap_items", "--print-initial-update"]);
        let initial = sub.next_json("initial update");
        assert_eq!(
            update_rows(&initial, "cheap_items", "inserts", "name"),
            ["apple"],
            "{initial}"
        );
        alice.call(DB, "set_price", &["2", "8"]).ok();
        let update = sub.next_json("update after the cherry became cheap");
        assert_eq!(
            update_rows(&update, "cheap_items", "inserts", "name"),
            ["cherry"],
            "{update}"
        );
        bob.call(DB, "set_price", &["1", "50"]).ok();
        let update = sub.next_json("update after the apple became dear");
        assert_eq!(
            update_rows(&update, "cheap_items", "deletes", "name"),
            ["apple"],
            "{update}"
        );
        // A semijoin: dear items whose owner is a player; bob's bread once he joins.
        assert_eq!(
            sql_column(&alice, DB, "SELECT name FROM dear_items_of_players"),
            Vec::<String>::new()
        );
        bob.call(DB, "join", &["bob"]).ok();
        alice.call(DB, "join", &["alice"]).ok();
        assert_eq!(
            sql_column(&alice, DB, "SELECT name FROM dear_items_of_players"),
            ["bread"]
        );
    }

    #[test]
    fn query_views_ours() {
        query_views(Bindings::Ours);
    }

    #[test]
    fn query_views_upstream_2_14() {
        query_views(Bindings::Upstream);
    }
}
