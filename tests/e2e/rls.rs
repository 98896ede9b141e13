//! Row-level security (upstream's `rls.rs` and `fail_initial_publish.rs`): with a real
//! server, two client identities and the owner, `#[client_visibility_filter]`s decide what
//! each sees in SQL (plain, and a join), in subscriptions' initial rows and in their
//! live updates; two filters on one table are a union, and a filter with a join follows
//! the joined table. Filters added by a module update apply at once, to live
//! subscriptions too. A module with a filter on a private table is refused at publish
//! with the reason, and leaves no database behind (or the old module running).

use crate::common::*;
use crate::subscribe::Subscriber;
use spacetime_testing::modules::ModuleCrate;

/// `tests/modules/rls`.
const RLS: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "rls-module",
    upstream_package: "upstream-rls",
};

/// `tests/modules/rls-open`: `rls` without its filters.
const RLS_OPEN: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "rls-open-module",
    upstream_package: "upstream-rls-open",
};

/// `tests/modules/rls-broken`.
const RLS_BROKEN: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "rls-broken-module",
    upstream_package: "upstream-rls-broken",
};

both_bindings!(fn each_client_sees_only_the_rows_its_filters_allow(bindings) {
    let fx = Fixture::new(RLS, bindings, "rls-db");
    let (alice, bob) = (fx.other_user(), fx.other_user());
    alice.call("rls-db", "add_note", &["alice private", "false"]).ok();
    alice.call("rls-db", "add_note", &["alice shared", "true"]).ok();
    bob.call("rls-db", "add_note", &["bob private", "false"]).ok();

    // SQL: own notes plus shared ones (two filters, one union); the owner sees all.
    let notes = "SELECT text FROM note";
    assert_eq!(sql_column(&alice, "rls-db", notes), ["alice private", "alice shared"]);
    assert_eq!(sql_column(&bob, "rls-db", notes), ["alice shared", "bob private"]);
    assert_eq!(sql_column(&fx.owner, "rls-db", notes), ["alice private", "alice shared", "bob private"]);
    let count = bob.sql("rls-db", "SELECT COUNT(*) AS n FROM note").ok().trimmed_stdout();
    assert!(count.ends_with(" 2"), "{count}");

    // Subscriptions: initial rows, then live updates only for visible rows.
    let mut watcher = Subscriber::start_as(&alice, &["rls-db", "SELECT * FROM note", "--print-initial-update"]);
    let initial = watcher.next_json("initial update");
    assert_eq!(update_rows(&initial, "note", "inserts", "text"), ["alice private", "alice shared"]);
    bob.call("rls-db", "add_note", &["bob private 2", "false"]).ok();
    bob.call("rls-db", "add_note", &["bob shared", "true"]).ok();
    // Bob's private note made no update for alice: the next one is his shared note.
    let update = watcher.next_json("update after bob's notes");
    assert_eq!(update_rows(&update, "note", "inserts", "text"), ["bob shared"]);
    let mut owner_watch = Subscriber::start_as(&fx.owner, &["rls-db", "SELECT * FROM note", "--print-initial-update"]);
    let everything = owner_watch.next_json("the owner's initial update");
    assert_eq!(update_rows(&everything, "note", "inserts", "text").len(), 5, "{everything}");

    // A join in the query: both sides are restricted (alice's private note is hidden
    // from bob even though alice is a member).
    alice.call("rls-db", "join_team", &["7"]).ok();
    bob.call("rls-db", "join_team", &["8"]).ok();
    let join = "SELECT note.text FROM note JOIN member ON note.owner = member.who";
    assert_eq!(sql_column(&bob, "rls-db", join), ["alice shared", "bob private", "bob private 2", "bob shared"]);
    assert_eq!(sql_column(&alice, "rls-db", join), ["alice private", "alice shared", "bob shared"]);
});

both_bindings!(fn a_filter_with_a_join_follows_the_joined_table(bindings) {
    let fx = Fixture::new(RLS, bindings, "rls-db");
    let (alice, bob) = (fx.other_user(), fx.other_user());
    fx.call("add_doc", &["1", "7", "plans"]).ok();
    fx.call("add_doc", &["2", "8", "budget"]).ok();
    bob.call("rls-db", "join_team", &["8"]).ok();
    assert_eq!(sql_column(&bob, "rls-db", "SELECT title FROM doc"), ["budget"]);
    assert_eq!(sql_column(&alice, "rls-db", "SELECT title FROM doc"), Vec::<String>::new());

    let mut watcher = Subscriber::start_as(&alice, &["rls-db", "SELECT * FROM doc", "--print-initial-update"]);
    let initial = watcher.next_json("initial update");
    assert_eq!(update_rows(&initial, "doc", "inserts", "title"), Vec::<String>::new(), "{initial}");
    // Joining team 7 changes no document, yet its document becomes visible…
    alice.call("rls-db", "join_team", &["7"]).ok();
    let joined = watcher.next_json("update after joining team 7");
    assert_eq!(update_rows(&joined, "doc", "inserts", "title"), ["plans"], "{joined}");
    // …and moving to team 8 swaps it for team 8's.
    alice.call("rls-db", "join_team", &["8"]).ok();
    let moved = watcher.next_json("update after moving to team 8");
    assert_eq!(update_rows(&moved, "doc", "inserts", "title"), ["budget"], "{moved}");
    assert_eq!(update_rows(&moved, "doc", "deletes", "title"), ["plans"], "{moved}");
    assert_eq!(sql_column(&fx.owner, "rls-db", "SELECT title FROM doc"), ["budget", "plans"]);
});

both_bindings!(fn a_filter_on_a_private_table_is_refused_at_publish(bindings) {
    let broken = spacetime_testing::modules::build_module(RLS_BROKEN, bindings);
    let fx = Fixture::new(RLS, bindings, "rls-db");
    let refused = fx.owner.publish_output(&broken, Some("rls-new"), &[]).err();
    assert!(
        refused.stderr.contains("Cannot define RLS rule on private table: user"),
        "the reason: {}",
        refused.stderr
    );
    assert!(refused.stderr.contains("identity = :sender"), "the filter: {}", refused.stderr);
    // The failed first publish left no database.
    let missing = fx.owner.sql("rls-new", "SELECT * FROM user").err();
    assert!(missing.stderr.contains("rls-new"), "{}", missing.stderr);
    // Over an existing database, the old module keeps running.
    let update = fx.owner.publish_output(&broken, Some("rls-db"), &[]).err();
    assert!(update.stderr.contains("private table"), "{}", update.stderr);
    fx.call("add_doc", &["1", "7", "plans"]).ok();
    assert_eq!(sql_column(&fx.owner, "rls-db", "SELECT title FROM doc"), ["plans"]);
});

both_bindings!(fn filters_added_by_an_update_apply_to_live_subscriptions(bindings) {
    let fx = Fixture::new(RLS_OPEN, bindings, "rls-db");
    let (alice, bob) = (fx.other_user(), fx.other_user());
    alice.call("rls-db", "add_note", &["alice private", "false"]).ok();
    bob.call("rls-db", "add_note", &["bob private", "false"]).ok();
    assert_eq!(sql_column(&alice, "rls-db", "SELECT text FROM note"), ["alice private", "bob private"]);
    let mut watcher = Subscriber::start_as(&alice, &["rls-db", "SELECT * FROM note", "--print-initial-update"]);
    let initial = watcher.next_json("initial update");
    assert_eq!(update_rows(&initial, "note", "inserts", "text"), ["alice private", "bob private"]);
    // Bob subscribes to the same query: after the update the two must not share it.
    let mut bob_watch = Subscriber::start_as(&bob, &["rls-db", "SELECT * FROM note", "--print-initial-update"]);
    bob_watch.next_json("bob's initial update");

    fx.owner.publish(&spacetime_testing::modules::build_module(RLS, bindings), Some("rls-db"));
    assert_eq!(sql_column(&alice, "rls-db", "SELECT text FROM note"), ["alice private"]);
    // The live subscription now follows the filters: bob's private note sends nothing.
    bob.call("rls-db", "add_note", &["bob private 2", "false"]).ok();
    bob.call("rls-db", "add_note", &["bob shared", "true"]).ok();
    let update = watcher.next_json("update after the filters were added");
    assert_eq!(update_rows(&update, "note", "inserts", "text"), ["bob shared"], "{update}");
    let own = bob_watch.next_json("bob's update for his own note");
    assert_eq!(update_rows(&own, "note", "inserts", "text"), ["bob private 2"], "{own}");
});
