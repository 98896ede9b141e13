//! CLI plumbing: ping, login/logout, saved servers, `list`, `rename`, `describe` and the
//! `delete` prompt (upstream's `cli/auth.rs`, `servers.rs`, `cli/list.rs`, `domains.rs`,
//! `describe.rs` and `delete_database.rs`).

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::server::TestServer;

#[test]
fn server_ping() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let out = cli.run(&["server", "ping", &server.url()]).ok();
    assert!(out.stdout.contains("Server is online"), "{}", out.stdout);
    assert!(
        out.stderr.contains("WARNING: This command is UNSTABLE"),
        "{}",
        out.stderr
    );
    let down = cli.run(&["server", "ping", "http://127.0.0.1:1"]).err();
    assert!(down.stderr.contains("could not connect"), "{}", down.stderr);
}

#[test]
fn login_show_logout() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let show = cli.run(&["login", "show"]).ok();
    assert!(show.stdout.contains("You are not logged in"), "{}", show.stdout);

    let first = cli.run(&["login", "--server-issued-login", &server.url()]).ok();
    assert!(first.stdout.contains("Logged in with identity "), "{}", first.stdout);
    let second = cli.run(&["login", "--server-issued-login", &server.url()]).ok();
    assert!(second.stdout.contains("Logged out (identity "), "{}", second.stdout);
    assert!(second.stdout.contains("Logged in with identity "), "{}", second.stdout);

    let show = cli.run(&["login", "show", "--token"]).ok();
    assert!(show.stdout.contains("You are logged in as c200"), "{}", show.stdout);
    let token = cli.token().expect("a saved token");
    assert!(show.stdout.contains(&token), "{}", show.stdout);

    let logout = cli.run(&["logout"]).ok();
    assert!(logout.stdout.contains("Logged out (identity "), "{}", logout.stdout);
    assert!(cli.token().is_none());
    let again = cli.run(&["logout"]).ok();
    assert!(again.stdout.contains("You are not logged in."), "{}", again.stdout);

    let saved = cli.run(&["login", "--token", &token]).ok();
    assert!(saved.stdout.contains("Token saved."), "{}", saved.stdout);
    assert_eq!(cli.token().as_deref(), Some(token.as_str()));
}

#[test]
fn saved_servers() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let add = cli
        .run(&[
            "server",
            "add",
            "--url",
            "https://testnet.example.com",
            "testnet",
            "--no-fingerprint",
        ])
        .ok();
    assert!(add.stdout.contains("Host: testnet.example.com"), "{}", add.stdout);
    let list = cli.run(&["server", "list"]).ok();
    let row = list
        .stdout
        .lines()
        .find(|l| l.contains("testnet.example.com"))
        .expect("the new server is listed");
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["testnet.example.com", "https", "testnet"]
    );
    let local = list
        .stdout
        .lines()
        .find(|l| l.contains("127.0.0.1:3000"))
        .expect("the local server is listed");
    assert!(local.trim_start().starts_with("***"), "local is the default: {local}");

    cli.run(&["server", "add", "--url", &server.url(), "mine"]).ok();
    let fingerprint = cli.run(&["server", "fingerprint", "mine", "--yes"]).ok();
    assert!(
        fingerprint.stdout.to_lowercase().contains("fingerprint"),
        "{}",
        fingerprint.stdout
    );
    assert!(
        fingerprint.stdout.contains("PUBLIC KEY"),
        "the fingerprint is the PEM key: {}",
        fingerprint.stdout
    );

    cli.run(&["server", "set-default", "mine"]).ok();
    let list = cli.run(&["server", "list"]).ok();
    let mine = list
        .stdout
        .lines()
        .find(|l| l.contains(" mine"))
        .expect("mine is listed");
    assert!(mine.trim_start().starts_with("***"), "{}", list.stdout);

    cli.run(&["server", "remove", "testnet"]).ok();
    assert!(!cli.run(&["server", "list"]).ok().stdout.contains("testnet"));
    let unknown = cli.run(&["server", "set-default", "nowhere"]).err();
    assert!(
        unknown.stderr.contains("no saved server is called `nowhere`"),
        "{}",
        unknown.stderr
    );
}

both_bindings!(fn list_rename_describe(bindings) {
    let fx = Fixture::new(BASIC, bindings, "listed-db");
    let list = fx.owner.run(&["list"]).ok();
    assert!(list.stdout.contains("Associated databases for user"), "{}", list.stdout);
    assert!(list.stdout.contains("Database Name(s)") && list.stdout.contains("Identity"), "{}", list.stdout);
    assert!(list.stdout.contains("listed-db") && list.stdout.contains(&fx.identity), "{}", list.stdout);

    fx.owner.run(&["rename", "--to", "renamed-db", "listed-db"]).ok();
    fx.owner.sql("renamed-db", "SELECT * FROM person").ok();
    let old = fx.owner.sql("listed-db", "SELECT * FROM person").err();
    assert!(old.stderr.contains("no such database"), "{}", old.stderr);

    let describe = fx.owner.run(&["describe", "--json", "renamed-db"]).ok();
    let schema: serde_json::Value = serde_json::from_str(&describe.stdout).expect("describe prints JSON");
    assert!(schema["sections"].is_array(), "{schema}");
    let reducer = fx.owner.run(&["describe", "--json", "renamed-db", "reducer", "say_hello"]).ok();
    assert!(reducer.stdout.contains("say_hello"), "{}", reducer.stdout);
    let table = fx.owner.run(&["describe", "--json", "renamed-db", "table", "person"]).ok();
    assert!(table.stdout.contains("person"), "{}", table.stdout);
    let missing = fx.owner.run(&["describe", "--json", "renamed-db", "table", "nope"]).err();
    assert!(missing.stderr.contains("no table `nope`"), "{}", missing.stderr);
    let no_json = fx.owner.run(&["describe", "renamed-db"]).err();
    assert!(no_json.stderr.contains("--json"), "{}", no_json.stderr);
});

both_bindings!(fn delete_asks_first(bindings) {
    let fx = Fixture::new(BASIC, bindings, "doomed");
    let no = fx.owner.run_with_stdin(&["delete", "doomed"], Some("n\n")).ok();
    assert!(no.stdout.contains("Are you sure you want to delete database") && no.stdout.contains("doomed"), "{}", no.stdout);
    assert!(no.stdout.contains("Aborting"), "{}", no.stdout);
    fx.owner.run(&["logs", "doomed"]).ok();

    let yes = fx.owner.run_with_stdin(&["delete", "doomed"], Some("y\n")).ok();
    assert!(yes.stdout.contains("Are you sure"), "{}", yes.stdout);
    fx.owner.run(&["logs", "doomed"]).err();

    fx.owner.publish(&fx.wasm, Some("doomed-too"));
    let forced = fx.owner.run(&["delete", "--yes", "doomed-too"]).ok();
    assert!(forced.stdout.contains("Skipping confirmation due to --yes"), "{}", forced.stdout);
    fx.owner.run(&["logs", "doomed-too"]).err();
});

#[test]
fn verbs_that_need_an_identity_get_one_without_asking() {
    // Upstream's CLI logs in with a server-issued identity when no one is there to ask.
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let out = cli.run(&["list"]).ok();
    assert!(
        out.stderr
            .contains(&format!("Logged in to {} with identity ", server.url())),
        "{}",
        out.stderr
    );
    assert!(cli.token().is_some(), "the issued token is saved");
}
