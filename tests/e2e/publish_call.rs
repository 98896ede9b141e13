//! Publishing (create, update, name rules) and calling reducers, as upstream's
//! `test_upload_module`, `test_call_errors` and `test_new_user_flow`.

use crate::common::*;

both_bindings!(fn publish_call_and_logs(bindings) {
    let fx = Fixture::new(BASIC, bindings, "basic-db");
    assert_eq!(fx.identity.len(), 64, "a database identity is 64 hex digits: {}", fx.identity);
    assert!(fx.identity.starts_with("c200"), "{}", fx.identity);

    let out = fx.call("add", &["Robert"]).ok();
    assert_eq!(out.stdout.trim(), "", "a reducer call prints nothing");
    assert!(out.stderr.contains("WARNING: This command is UNSTABLE"), "{}", out.stderr);
    fx.call("add", &["\"Julie\""]).ok();
    fx.call("say_hello", &[]).ok();
    let logs = fx.logs(100);
    assert!(in_order(&logs, &["Hello, Robert!", "Hello, Julie!", "Hello, World!"]), "{logs:?}");

    // Republishing the same module updates the database and keeps its rows.
    let again = fx.owner.publish_output(&fx.wasm, Some("basic-db"), &[]).ok();
    assert!(again.stdout.contains(&format!("Updated database with identity: {}", fx.identity)), "{}", again.stdout);
    assert_eq!(fx.sql("SELECT * FROM person"), " name\n----------\n \"Robert\"\n \"Julie\"");

    // The identity works wherever the name does.
    let by_identity = fx.owner.sql(&fx.identity, "SELECT * FROM person").ok();
    assert!(by_identity.stdout.contains("\"Julie\""), "{}", by_identity.stdout);
});

both_bindings!(fn publish_reports_creation_and_clears_data(bindings) {
    let fx = Fixture::new(BASIC, bindings, "first");
    fx.call("add", &["Ann"]).ok();
    let out = fx.owner.publish_output(&fx.wasm, Some("second"), &[]).ok();
    assert!(out.stdout.contains("Created new database with name: second, identity: "), "{}", out.stdout);
    let unnamed = fx.owner.publish_output(&fx.wasm, None, &[]).ok();
    assert!(unnamed.stdout.contains("Created new database with identity: "), "{}", unnamed.stdout);

    fx.owner.publish_output(&fx.wasm, Some("first"), &["--delete-data"]).ok();
    assert_eq!(fx.sql("SELECT * FROM person"), " name\n------", "--delete-data starts from an empty database");
});

both_bindings!(fn unknown_reducers_get_suggestions(bindings) {
    let fx = Fixture::new(BASIC, bindings, "basic-db");
    let id = &fx.identity;
    let out = fx.owner.call(id, "non_existent_reducer", &[]).err();
    let expected = format!(
        "WARNING: This command is UNSTABLE and subject to breaking changes.\n\n\
         Error: No such reducer OR procedure `non_existent_reducer` for database `{id}` resolving to identity `{id}`.\n\n\
         Here are some existing reducers:\n- add\n- log_levels\n- say_hello\n- say_identity\n\n\
         The database has no procedures."
    );
    let mut listed: Vec<&str> = out.stderr.trim().lines().collect();
    // The list is ordered by closeness to the name; compare it as a set.
    let start = listed.iter().position(|l| l.starts_with("- ")).expect("a list of reducers");
    let len = listed[start..].iter().take_while(|l| l.starts_with("- ")).count();
    listed[start..start + len].sort_unstable();
    assert_eq!(listed.join("\n"), expected);

    let out = fx.owner.call(id, "say_hell", &[]).err();
    assert!(out.stderr.contains("A reducer with a similar name exists: `say_hello`"), "{}", out.stderr);
});

both_bindings!(fn identity_arguments_in_every_encoding(bindings) {
    let fx = Fixture::new(BASIC, bindings, "basic-db");
    let id = &fx.identity;
    let encodings = [id.clone(), format!("0x{id}"), format!("[\"0x{id}\"]"), format!("{{\"__identity__\": \"0x{id}\"}}")];
    for encoding in &encodings {
        fx.call("say_identity", &[encoding]).ok();
    }
    let logs = fx.logs(100);
    let greeting = format!("Hello, {id}!");
    assert_eq!(logs.iter().filter(|l| **l == greeting).count(), 4, "{logs:?}");
    let bad = fx.call("say_identity", &["0x1234"]).err();
    assert!(bad.stderr.contains("Error: "), "{}", bad.stderr);
});

both_bindings!(fn bad_arguments_are_explained(bindings) {
    let fx = Fixture::new(BASIC, bindings, "basic-db");
    let out = fx.call("add", &[]).err();
    assert!(out.stderr.contains("reducer `add` takes 1 argument but 0 were given"), "{}", out.stderr);
    assert!(out.stderr.contains("add(name: String)"), "{}", out.stderr);

    let out = fx.call("say_hello", &["1"]).err();
    assert!(out.stderr.contains("takes 0 arguments but 1 was given"), "{}", out.stderr);

    // A JSON value of the wrong type reaches the server, which rejects it with a reason.
    let out = fx.owner.run(&["call", "--", &fx.name, "add", "[1, 2]"]);
    assert!(out.success(), "a string parameter takes the text as it is: {}", out.stderr);
    assert!(fx.sql("SELECT * FROM person").contains("\"[1, 2]\""));
});

#[test]
fn invalid_database_names_are_rejected_before_uploading() {
    let server = spacetime_testing::server::TestServer::start();
    let cli = spacetime_testing::cli::Cli::new(&server);
    let wasm = std::env::temp_dir().join("never-read.wasm");
    for bad in ["Upper", "under_score", "-lead", "trail-", "dou--ble"] {
        let out = cli.publish_output(&wasm, Some(bad), &[]).err();
        assert!(
            out.stderr.contains(&format!("invalid database name `{bad}`")),
            "{bad}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("lower-case letters, digits and single hyphens"),
            "{}",
            out.stderr
        );
    }
}
