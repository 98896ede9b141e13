//! Ownership: only the owner may publish over, delete, read the logs of, or read the
//! private tables of a database; anyone may call reducers and read public tables
//! (upstream's `permissions.rs`).

use crate::common::*;

both_bindings!(fn non_owners_are_refused(bindings) {
    let fx = Fixture::new(PERMISSIONS, bindings, "perms");
    let stranger = fx.other_user();

    let publish = stranger.publish_output(&fx.wasm, Some("perms"), &[]).err();
    assert!(publish.stderr.contains("belongs to another identity"), "{}", publish.stderr);
    let clear = stranger.publish_output(&fx.wasm, Some("perms"), &["--delete-data"]).err();
    assert!(clear.stderr.contains("Error: "), "{}", clear.stderr);

    let delete = stranger.run(&["delete", "--yes", "perms"]).err();
    assert!(delete.stderr.contains("Error: "), "{}", delete.stderr);

    let logs = stranger.run(&["logs", "perms"]).err();
    assert!(logs.stderr.contains("Error: "), "{}", logs.stderr);

    let secret = stranger.sql("perms", "SELECT * FROM secret").err();
    assert!(secret.stderr.contains("secret"), "the error names the table: {}", secret.stderr);

    // What strangers may do.
    assert!(stranger.sql("perms", "SELECT * FROM common_knowledge").ok().stdout.contains("The sky is blue"));
    stranger.call("perms", "learn", &["Water is wet"]).ok();
    let anonymous = fx.owner.run(&["call", "--anonymous", "perms", "learn", "Fire is hot"]).ok();
    assert!(anonymous.stdout.is_empty(), "{}", anonymous.stdout);
    let describe = stranger.run(&["describe", "--json", "perms"]).ok();
    assert!(describe.stdout.contains("common_knowledge"), "{}", describe.stdout);

    // The database is untouched, and the owner still sees everything.
    assert_eq!(fx.sql("SELECT * FROM secret"), " answer\n--------\n 42");
    let common = fx.sql("SELECT * FROM common_knowledge");
    for thing in ["The sky is blue", "Water is wet", "Fire is hot"] {
        assert!(common.contains(thing), "{common}");
    }
    fx.owner.run(&["logs", "perms"]).ok();
});
