//! The CLI as a SpacetimeDB user meets it (issue 15): `version`, `generate`'s language
//! aliases, `server edit`/`clear`, `sql` row counts and `--interactive`, the login and
//! logout warnings, what a non-owner's `rename` and a `client_connected` refusal say, a
//! first publish without a saved login, `subscribe` outliving its database, and the project
//! file `spacetime.json`. Each test checks the exact message a user sees.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, HOST_TEST};
use spacetime_testing::server::{spacetime_bin, TestServer};
use std::path::Path;
use std::process::Command;

/// The directory a [`Cli`]'s runs start in (its configuration file's directory).
fn work_dir(cli: &Cli) -> std::path::PathBuf {
    cli.config_path()
        .parent()
        .expect("cli.toml has a directory")
        .to_path_buf()
}

/// The identity `login show` reports.
fn identity_of(cli: &Cli) -> String {
    let show = cli.run(&["login", "show"]).ok();
    show.stdout
        .trim()
        .strip_prefix("You are logged in as ")
        .unwrap_or_else(|| panic!("login show: {}", show.stdout))
        .to_owned()
}

#[test]
fn version_names_the_commit() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let out = cli.run(&["version"]).ok();
    let bin = spacetime_bin();
    assert!(
        out.stdout.contains(&format!("Path: {}", bin.display())),
        "{}",
        out.stdout
    );
    let commit = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Commit: "))
        .unwrap_or_else(|| panic!("no Commit line: {}", out.stdout));
    assert!(
        commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
        "{commit}"
    );
    let known = Command::new("git")
        .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
        .current_dir(repo_root())
        .status()
        .expect("run git");
    assert!(known.success(), "{commit} is not a commit of this repository");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        out.stdout.contains(&format!(
            "spacetime tool version {version}; speaks the SpacetimeDB 2.x protocol"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(cli.run(&["version", "--cli"]).ok().stdout, format!("{version}\n"));
}

#[test]
fn generate_takes_upstream_language_names() {
    let wasm = build_module(BASIC, Bindings::Ours);
    let wasm = wasm.to_str().expect("UTF-8 path");
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let out = tempfile::tempdir().unwrap();
    let ts = out.path().join("ts");
    let ts_dir = ts.to_str().unwrap();
    cli.run(&["generate", "--lang", "ts", "-o", ts_dir, "--bin-path", wasm])
        .ok();
    assert!(ts.join("index.ts").is_file(), "{:?}", files_in(&ts));

    let cs = out.path().join("cs");
    let cs_dir = cs.to_str().unwrap();
    let args = [
        "generate",
        "--lang=cs",
        "--namespace",
        "Game",
        "--out-dir",
        cs_dir,
        "--bin-path",
        wasm,
    ];
    cli.run(&args).ok();
    let texts: Vec<String> = files_in(&cs)
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(!texts.is_empty());
    for text in &texts {
        assert!(text.contains("namespace Game\n"), "{text}");
        assert!(text.contains("\nusing SpacetimeDB;\n"), "{text}");
    }

    let rs = out.path().join("rs");
    let wrong = cli
        .run(&[
            "generate",
            "-l",
            "rs",
            "--namespace",
            "Game",
            "-o",
            rs.to_str().unwrap(),
            "-b",
            wasm,
        ])
        .err();
    assert!(
        wrong
            .stderr
            .contains("Error: --namespace is only supported with --lang csharp"),
        "{}",
        wrong.stderr
    );
    let unknown = cli
        .run(&["generate", "--lang", "cobol", "-o", rs.to_str().unwrap(), "-b", wasm])
        .err();
    assert!(unknown.stderr.contains("invalid value 'cobol'"), "{}", unknown.stderr);
}

#[test]
fn server_edit_and_clear() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let add = [
        "server",
        "add",
        "--url",
        "https://testnet.example.com",
        "testnet",
        "--no-fingerprint",
    ];
    cli.run(&add).ok();
    let edit = cli
        .run(&[
            "server",
            "edit",
            "testnet",
            "--new-name",
            "staging",
            "--url",
            "http://staging.example.com:4000",
            "--no-fingerprint",
            "--yes",
        ])
        .ok();
    assert!(
        edit.stdout.contains("Changing nickname from testnet to staging\n")
            && edit
                .stdout
                .contains("Changing host from testnet.example.com to staging.example.com:4000\n")
            && edit.stdout.contains("Changing protocol from https to http\n")
            && edit.stdout.contains("Saved server staging\n"),
        "{}",
        edit.stdout
    );
    let list = cli.run(&["server", "list"]).ok();
    let row = list
        .stdout
        .lines()
        .find(|l| l.contains("staging.example.com"))
        .expect("the edited server is listed");
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["staging.example.com:4000", "http", "staging"]
    );
    let nothing = cli.run(&["server", "edit", "staging"]).err();
    assert!(
        nothing
            .stderr
            .contains("nothing to change: pass --new-name <name> and/or --url <url>"),
        "{}",
        nothing.stderr
    );

    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("data");
    std::fs::create_dir_all(dir.join("replicas")).unwrap();
    let dir_arg = dir.to_str().unwrap();
    let declined = cli
        .run_with_stdin(&["server", "clear", "--data-dir", dir_arg], Some("n\n"))
        .ok();
    assert!(declined.stdout.contains("Aborting"), "{}", declined.stdout);
    assert!(dir.is_dir());
    let cleared = cli.run(&["server", "clear", "--data-dir", dir_arg, "--yes"]).ok();
    assert!(
        cleared.stdout.contains(&format!("Database path: {dir_arg}\n"))
            && cleared.stdout.contains("Deleted all data from the local database.\n"),
        "{}",
        cleared.stdout
    );
    assert!(!dir.exists());
    // With --root-dir, the data directory `spacetime start` uses there.
    let root = data.path().join("root");
    std::fs::create_dir_all(root.join("data/replicas")).unwrap();
    let rooted = cli
        .run(&["server", "clear", "--root-dir", root.to_str().unwrap(), "--yes"])
        .ok();
    assert!(
        rooted
            .stdout
            .contains(&format!("Database path: {}\n", root.join("data").display())),
        "{}",
        rooted.stdout
    );
    assert!(!root.join("data").exists());
    let again = cli.run(&["server", "clear", "--data-dir", dir_arg, "--yes"]).ok();
    assert!(
        again.stdout.contains(&format!(
            "Local database not found at {dir_arg}. Nothing has been deleted."
        )),
        "{}",
        again.stdout
    );
}

#[test]
fn sql_counts_changed_rows_and_runs_interactively() {
    let fx = Fixture::new(BASIC, Bindings::Ours, "sql-counts");
    let insert = fx
        .owner
        .sql(&fx.name, "INSERT INTO person (name) VALUES ('Alice')")
        .ok();
    assert_eq!(insert.stdout, "Inserted 1 row\n");
    fx.owner.sql(&fx.name, "INSERT INTO person (name) VALUES ('Bob')").ok();
    let update = fx.owner.sql(&fx.name, "UPDATE person SET name = 'Carol'").ok();
    assert_eq!(update.stdout, "Updated 2 rows\n");
    let none = fx.owner.sql(&fx.name, "DELETE FROM person WHERE name = 'Zed'").ok();
    assert_eq!(none.stdout, "Deleted 0 rows\n");

    let session = "SELECT * FROM person WHERE name = 'Nobody'\n\
                   INSERT INTO person (name) VALUES ('Dave')\n\
                   SELEC name FROM person\n\
                   \n\
                   SELECT * FROM person WHERE name = 'Dave'\n\
                   \\q\n\
                   SELECT 'never run'\n";
    let out = fx
        .owner
        .run_with_stdin(&["sql", "--interactive", &fx.name], Some(session))
        .ok();
    let expected_start = " name \n------\nInserted 1 row\nError: running the query failed (400 Bad Request): ";
    assert!(out.stdout.starts_with(expected_start), "{}", out.stdout);
    assert!(
        out.stdout.ends_with(" name   \n--------\n \"Dave\" \n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("never run"), "{}", out.stdout);
}

#[test]
fn login_and_logout_warn_before_losing_a_token() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let url = server.url();
    let first = cli.run(&["login", "--server-issued-login", &url, "--no-browser"]).ok();
    assert!(first.stdout.contains("Logged in with identity "), "{}", first.stdout);
    assert!(!first.stderr.contains("WARNING"), "{}", first.stderr);
    let identity = identity_of(&cli);
    let token = cli.token().expect("saved");

    let warning = format!(
        "WARNING: the saved token is the only way to act as identity {identity}, and so to publish to, delete or \
         read the logs of the databases it owns. It cannot be issued again. To keep it, run `spacetime login show \
         --token` first and store the token; `spacetime login --token <token>` logs in with it again."
    );
    let second = cli.run(&["login", "--server-issued-login", &url]).ok();
    assert!(second.stderr.contains(&warning), "{}", second.stderr);
    assert!(
        second.stdout.contains(&format!("Logged out (identity {identity}).")),
        "{}",
        second.stdout
    );

    let second_token = cli.token().expect("saved");
    cli.run(&["login", "--token", &token]).ok();
    let logout = cli.run(&["logout"]).ok();
    assert!(logout.stderr.contains(&warning), "{}", logout.stderr);
    assert_eq!(logout.stdout, format!("Logged out (identity {identity}).\n"));
    let again = cli.run(&["logout"]).ok();
    assert_eq!(again.stdout, "You are not logged in.\n");
    assert!(again.stderr.is_empty(), "{}", again.stderr);
    assert_ne!(second_token, token);
}

#[test]
fn refusals_say_what_happened() {
    let fx = Fixture::new(HOST_TEST, Bindings::Ours, "refusals");
    let other = fx.other_user();

    let rename = other.run(&["rename", "--to", "mine-now", &fx.name]).err();
    let expected = format!(
        "Error: You cannot rename {} because it is owned by another identity. `spacetime login show` shows who you \
         are logged in as.\n",
        fx.identity
    );
    assert!(rename.stderr.ends_with(&expected), "{}", rename.stderr);
    assert!(!rename.stderr.contains("NotYourDatabase"), "{}", rename.stderr);
    assert!(!rename.stderr.contains("log in again"), "{}", rename.stderr);

    let banned = identity_of(&other);
    fx.call("ban", &[&banned]).ok();
    let refused = other.call(&fx.name, "add_person", &["Eve", "30", "1"]).err();
    assert!(
        refused.stderr.contains(&format!(
            "(403 Forbidden): the module's client_connected reducer rejected the caller: {banned} is banned"
        )),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("owner"), "{}", refused.stderr);

    // An update the planner cannot apply: the error names the CLI's flag, not the query
    // parameter it becomes.
    let basic = build_module(BASIC, Bindings::Ours);
    let rejected = fx.owner.publish_output(&basic, Some(&fx.name), &[]).err();
    assert!(rejected.stderr.contains("--delete-data"), "{}", rejected.stderr);
    assert!(!rejected.stderr.contains("clear=true"), "{}", rejected.stderr);
}

#[test]
fn first_publish_without_a_login_gets_an_identity() {
    let wasm = build_module(BASIC, Bindings::Ours);
    let server = TestServer::start();
    let cli = Cli::new(&server);
    // No `--yes` and no terminal: the server issues an identity, as upstream's CLI does.
    let out = cli
        .run(&["publish", "--bin-path", wasm.to_str().unwrap(), "first-db"])
        .ok();
    let identity = identity_of(&cli);
    assert!(
        out.stderr.contains(&format!(
            "Logged in to {} with identity {identity} (a server-issued identity; `spacetime login show` shows it)",
            server.url()
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("Created new database with name: first-db, identity: "),
        "{}",
        out.stdout
    );
    // The same identity owns it: its logs are readable.
    cli.run(&["logs", "first-db"]).ok();
}

#[test]
fn subscribe_ends_cleanly_when_its_database_is_deleted() {
    let fx = Fixture::new(BASIC, Bindings::Ours, "short-lived");
    fx.call("add", &["Alice"]).ok();
    let mut command = Command::new(spacetime_bin());
    command
        .arg("--config-path")
        .arg(fx.owner.config_path())
        .args(["subscribe", "--server", &fx.server.url(), "--print-initial-update"])
        .args([fx.name.as_str(), "SELECT * FROM person"]);
    let mut subscriber = ClientProcess::start(command);
    subscriber.expect("\"Alice\"");
    fx.owner.run(&["delete", "--yes", &fx.name]).ok();
    subscriber.finish();
    assert!(
        subscriber
            .output()
            .contains("The database `short-lived` was deleted; the subscription ended."),
        "{}",
        subscriber.output()
    );
}

/// Writes `json` as the project file in the directory `cli` runs in.
fn write_project(cli: &Cli, json: &str) {
    std::fs::write(work_dir(cli).join("spacetime.json"), json).expect("write spacetime.json");
}

#[test]
fn project_file_names_the_database() {
    let wasm = build_module(BASIC, Bindings::Ours);
    let wasm_arg = wasm.to_str().unwrap();
    let server = TestServer::start();
    let cli = Cli::new(&server);
    write_project(
        &cli,
        r#"{ "database": "project-db", "generate": [{ "language": "ts", "out-dir": "client/bindings" }] }"#,
    );
    let publish = cli.run(&["publish", "--yes", "--bin-path", wasm_arg]).ok();
    let file = work_dir(&cli).join("spacetime.json");
    assert!(
        publish
            .stderr
            .contains(&format!("Using configuration from {}", file.display())),
        "{}",
        publish.stderr
    );
    assert!(
        publish
            .stdout
            .contains("Created new database with name: project-db, identity: "),
        "{}",
        publish.stdout
    );
    cli.run(&["call", "add", "Alice"]).ok();
    let rows = cli.run(&["sql", "SELECT * FROM person"]).ok();
    assert_eq!(rows.trimmed_stdout(), " name\n---------\n \"Alice\"");
    cli.run(&["call", "say_hello"]).ok();
    let logs = cli.run(&["logs", "-n", "5"]).ok();
    assert!(logs.stdout.contains("Hello, Alice!"), "{}", logs.stdout);
    // `describe` too: the whole schema, or one table, of the project's database.
    let schema = cli.run(&["describe", "--json"]).ok();
    assert!(schema.stdout.contains("\"say_hello\""), "{}", schema.stdout);
    let table = cli.run(&["describe", "--json", "table", "person"]).ok();
    let table: serde_json::Value = serde_json::from_str(&table.stdout).expect("describe prints JSON");
    assert_eq!(table["source_name"], "person", "{table}");
    // A database named on the command line wins over the file.
    let other = cli.run(&["publish", "--bin-path", wasm_arg, "other-db"]).ok();
    assert!(
        other.stdout.contains("Created new database with name: other-db"),
        "{}",
        other.stdout
    );
    cli.run(&["call", "other-db", "add", "Bob"]).ok();
    let bob = cli.run(&["sql", "other-db", "SELECT * FROM person"]).ok();
    assert_eq!(bob.trimmed_stdout(), " name\n-------\n \"Bob\"");
    let elsewhere = cli.run(&["call", "elsewhere", "add", "Bob"]).err();
    assert!(
        elsewhere
            .stderr
            .contains("No such reducer OR procedure `elsewhere` for database `project-db` resolving to identity"),
        "{}",
        elsewhere.stderr
    );
    let unknown = cli.run(&["call", "add_person", "x"]).err();
    assert!(
        unknown
            .stderr
            .contains("No such reducer OR procedure `add_person` for database `project-db` resolving to identity"),
        "{}",
        unknown.stderr
    );

    let initial = cli
        .run(&["subscribe", "-n", "0", "--print-initial-update", "SELECT * FROM person"])
        .ok();
    assert_eq!(
        initial.stdout,
        "{\"person\":{\"deletes\":[],\"inserts\":[{\"name\":\"Alice\"}]}}\n"
    );
    cli.run(&["generate", "--bin-path", wasm_arg]).ok();
    assert!(work_dir(&cli).join("client/bindings/index.ts").is_file());

    write_project(&cli, r#"{ "databse": "project-db" }"#);
    let bad = cli.run(&["sql", "SELECT * FROM person"]).err();
    assert!(
        bad.stderr.contains(&format!(
            "Error: {}: unknown field `databse`; the fields are `database`, `server`, `module-path`, `generate`, \
             `dev`, `children`. Fix the file, or pass --no-config to ignore it",
            file.display()
        )),
        "{}",
        bad.stderr
    );
    let ignored = cli
        .run(&["sql", "--no-config", "project-db", "SELECT * FROM person"])
        .ok();
    assert!(ignored.stdout.contains("\"Alice\""), "{}", ignored.stdout);
    let no_db = cli.run(&["--no-config", "logs"]).err();
    assert!(
        no_db.stderr.contains("no database given: pass the database name"),
        "{}",
        no_db.stderr
    );
    assert!(!Path::new(&work_dir(&cli)).join("project-db").exists());

    write_project(&cli, r#"{ "database": "project-db" }"#);
    let deleted = cli.run(&["delete", "--yes"]).ok();
    assert!(
        deleted.stdout.contains("Deleted database `project-db`"),
        "{}",
        deleted.stdout
    );
}

#[test]
fn a_locked_database_cannot_be_deleted_or_cleared() {
    let fx = Fixture::new(BASIC, Bindings::Ours, "guarded");
    let unlock_first = "Unlock it first with `spacetime unlock guarded`";
    // Unlocking what is not locked, and locking twice, are fine.
    fx.owner.run(&["unlock", &fx.name]).ok();
    let lock = fx.owner.run(&["lock", &fx.name]).ok();
    assert_eq!(
        lock.stdout,
        "Database `guarded` is locked: it cannot be deleted or cleared until `spacetime unlock guarded`.\n"
    );
    fx.owner.run(&["lock", &fx.name]).ok();

    let delete = fx.owner.run(&["delete", "--yes", &fx.name]).err();
    assert!(
        delete.stderr.contains(&format!(
            "(403 Forbidden): database `guarded` is locked, so you cannot delete it. {unlock_first}"
        )),
        "{}",
        delete.stderr
    );
    let clear = fx
        .owner
        .publish_output(&fx.wasm, Some(&fx.name), &["--delete-data"])
        .err();
    assert!(
        clear.stderr.contains(&format!(
            "database `guarded` is locked, so you cannot clear its data. {unlock_first}"
        )),
        "{}",
        clear.stderr
    );
    // An update keeps the data, so it is allowed.
    fx.owner.publish(&fx.wasm, Some(&fx.name));

    let other = fx.other_user();
    let not_owner = other.run(&["unlock", &fx.name]).err();
    assert!(
        not_owner
            .stderr
            .contains("only the owner of database `guarded` may unlock it"),
        "{}",
        not_owner.stderr
    );

    // The lock survives a restart.
    let mut fx = fx;
    fx.server.restart();
    fx.owner.run(&["delete", "--yes", &fx.name]).err();
    let unlock = fx.owner.run(&["unlock", &fx.name]).ok();
    assert_eq!(unlock.stdout, "Database `guarded` is unlocked.\n");
    fx.owner.run(&["delete", "--yes", &fx.name]).ok();
}
