//! Views (issue 14), with a real server and the module `tests/modules/views` built
//! against our bindings and against the crates.io `spacetimedb` crate: a per-caller
//! view seen differently by two identities, an anonymous view whose rows follow the
//! table as subscription deltas, a view joined with a table in a subscription, SQL over
//! views and writes to them refused, a keyed view whose change arrives as a delete and
//! an insert in one update, views rebuilt after a restart and a module update, and
//! row-level security: a view reads past the filters, as upstream's views do.

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
