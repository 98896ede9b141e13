//! The Rust SDK across server events: a SIGKILLed server restarted on the same data
//! directory and port (the client reconnects by itself and its cache converges, with
//! exactly the real differences reported as callbacks), and a module update published
//! under a live subscription (the subscription keeps delivering, on the new module).
//! Ours and upstream, as in [`crate::realtime`].

use crate::common::*;
use crate::realtime::{realtime_fixture, RealtimeClient};

/// The callback lines without their ` via CAUSE` suffix, sorted.
fn changes(lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = lines
        .into_iter()
        .map(|l| l.split(" via ").next().unwrap_or_default().to_owned())
        .collect();
    out.sort();
    out
}

const JOIN: &str = "SELECT pet.* FROM pet JOIN person ON pet.owner_id = person.id WHERE person.name = 'alice'";

both_bindings!(fn a_client_converges_after_the_server_is_killed_and_restarted(bindings) {
    let mut fx = realtime_fixture(bindings);
    for (id, name, count) in [("1", "apple", "1"), ("2", "pear", "2"), ("3", "fig", "3")] {
        fx.call("insert_item", &[id, name, count]).ok();
    }
    fx.call("add_person", &["1", "alice"]).ok();
    fx.call("add_pet", &["10", "1", "rex"]).ok();
    fx.call("add_pet", &["11", "1", "tom"]).ok();
    // A reconnect delay long enough that the changes below are usually made while the
    // client is away; if it comes back sooner they arrive live, with the same callbacks.
    let mut c = RealtimeClient::connect(&fx.server.url(), &fx.name, None, Some(1500));
    c.subscribe("items", &["SELECT * FROM item"]);
    c.subscribe("pets", &[JOIN]);
    // Confirmed reads: once `sync` answers, every earlier transaction is durable.
    c.sync();
    let mark = c.mark();

    fx.server.restart();
    fx.call("insert_item", &["4", "kiwi", "4"]).ok();
    fx.call("delete_item", &["2"]).ok();
    fx.call("set_count", &["3", "30"]).ok();
    fx.call("move_pet", &["11", "2"]).ok();
    c.wait_for_since(mark, "reconnected");
    c.sync();
    assert_eq!(
        changes(c.callbacks_since(mark)),
        [
            "delete item 2/pear/2",
            "delete pet 11/1/tom",
            "insert item 4/kiwi/4",
            "update item 3/fig/3 -> 3/fig/30",
        ],
        "exactly the real differences fire, once each; all lines:\n{}",
        c.output()
    );
    assert_eq!(c.dump("item"), "dump item [1/apple/1, 3/fig/30, 4/kiwi/4]", "{}", c.output());
    assert_eq!(c.dump("pet"), "dump pet [10/1/rex]", "{}", c.output());

    // The resubscribed query sets are live.
    let mark = c.mark();
    c.call_ok("insert_item", &["5", "plum", "5"]);
    c.call_ok("add_pet", &["12", "1", "max"]);
    c.sync();
    assert_eq!(
        changes(c.callbacks_since(mark)),
        ["insert item 5/plum/5", "insert pet 12/1/max"],
        "{}",
        c.output()
    );
    c.finish();
});

both_bindings!(fn a_live_subscription_survives_a_module_update(bindings) {
    let fx = realtime_fixture(bindings);
    fx.call("insert_item", &["1", "apple", "1"]).ok();
    let mut c = RealtimeClient::anonymous(&fx);
    c.subscribe("items", &["SELECT * FROM item"]);
    c.subscribe("pets", &[JOIN]);

    fx.owner.publish(&fx.wasm, Some(&fx.name));
    let mark = c.mark();
    fx.call("add_person", &["1", "alice"]).ok();
    c.call_ok("add_pet", &["10", "1", "rex"]);
    c.call_ok("set_count", &["1", "2"]);
    c.sync();
    assert_eq!(
        c.callbacks_since(mark),
        ["insert pet 10/1/rex via reducer add_pet", "update item 1/apple/1 -> 1/apple/2 via reducer set_count"],
        "{}",
        c.output()
    );
    // A new subscription after the update works as well.
    let mark = c.mark();
    c.subscribe("people", &["SELECT * FROM person"]);
    assert_eq!(c.callbacks_since(mark), ["insert person 1/alice via applied"], "{}", c.output());
    c.finish();
});

both_bindings!(fn a_reconnecting_client_follows_a_publish_that_deletes_the_data(bindings) {
    let fx = realtime_fixture(bindings);
    fx.call("insert_item", &["1", "apple", "1"]).ok();
    fx.call("insert_item", &["2", "pear", "2"]).ok();
    let mut c = RealtimeClient::connect(&fx.server.url(), &fx.name, None, Some(300));
    c.subscribe("items", &["SELECT * FROM item"]);
    c.sync();
    let mark = c.mark();

    // The old database shuts down, which drops the client; it comes back to the new one.
    fx.owner.publish_output(&fx.wasm, Some(&fx.name), &["--delete-data"]).ok();
    c.wait_for_since(mark, "reconnected");
    c.sync();
    assert_eq!(changes(c.callbacks_since(mark)), ["delete item 1/apple/1", "delete item 2/pear/2"], "{}", c.output());
    assert_eq!(c.dump("item"), "dump item []", "{}", c.output());
    let mark = c.mark();
    c.call_ok("insert_item", &["3", "fig", "3"]);
    c.sync();
    assert_eq!(c.callbacks_since(mark), ["insert item 3/fig/3 via reducer insert_item"], "{}", c.output());
    c.finish();
});
