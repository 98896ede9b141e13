//! The PostgreSQL wire protocol (`--pg-port`, issue 16) with the real `psql`: the token
//! is the password and the database name the database; the owner runs SELECT and
//! INSERT as with `spacetime sql`, another identity reads the public table but its DML
//! is refused, a wrong password and an unknown database fail with a message, and
//! several statements on one line run in order.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings};
use spacetime_testing::server::TestServer;
use std::process::{Command, Output};

/// A free port for the PostgreSQL listener.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `psql` with `password` against `db`, running each of `commands`, stopping at the
/// first error.
pub(crate) fn psql(port: u16, db: &str, password: &str, commands: &[&str]) -> Output {
    let mut command = Command::new("psql");
    command
        .arg(format!(
            "host=127.0.0.1 port={port} dbname={db} user=anyone sslmode=disable"
        ))
        .args(["-X", "-v", "ON_ERROR_STOP=1", "--no-psqlrc"])
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "10");
    for c in commands {
        command.args(["-c", c]);
    }
    command
        .output()
        .expect("run psql (scripts/install-deps.sh installs the Debian package postgresql-client)")
}

/// What `psql` printed, stdout then stderr.
pub(crate) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn psql_runs_the_same_sql_with_the_same_permissions() {
    let port = free_port();
    let wasm = build_module(CONSTRAINTS, Bindings::Ours);
    let server = TestServer::start_with_args(&["--pg-port", &port.to_string()]);
    let owner = Cli::new(&server);
    owner.publish(&wasm, Some("pgdb"));
    owner.call("pgdb", "add", &["Alice"]).ok();
    let token = owner.token().expect("the owner's token");

    let out = psql(
        port,
        "pgdb",
        &token,
        &[
            "SELECT * FROM person",
            "INSERT INTO person (id, name) VALUES (10, 'Bob')",
            "SELECT name FROM person WHERE id = 10",
        ],
    );
    let printed = text(&out);
    assert!(out.status.success(), "{printed}");
    assert!(printed.contains("Alice") && printed.contains("(1 row)"), "{printed}");
    assert!(printed.contains("INSERT 0 1"), "{printed}");
    assert!(printed.contains("Bob"), "{printed}");
    // The same data through `spacetime sql`.
    let via_cli = owner.sql("pgdb", "SELECT name FROM person WHERE id = 10").ok().stdout;
    assert!(via_cli.contains("Bob"), "{via_cli}");

    // Numbers are announced as numbers (psql right-aligns them), strings as text; an
    // empty query does nothing.
    let out = psql(port, "pgdb", &token, &["SELECT id, name FROM person WHERE id = 1", ""]);
    let printed = text(&out);
    assert!(out.status.success(), "{printed}");
    assert!(printed.contains(" id | name  \n----+-------\n  1 | Alice"), "{printed}");

    // Several statements in one query string run in order.
    let out = psql(
        port,
        "pgdb",
        &token,
        &["SELECT id FROM person WHERE id = 1; SELECT id FROM person WHERE id = 10"],
    );
    assert!(out.status.success(), "{}", text(&out));

    // Another identity reads the public table but may not change it.
    let other = Cli::new(&server);
    other.new_identity();
    let other_token = other.token().expect("a token");
    let out = psql(port, "pgdb", &other_token, &["SELECT name FROM person WHERE id = 1"]);
    assert!(out.status.success() && text(&out).contains("Alice"), "{}", text(&out));
    let out = psql(
        port,
        "pgdb",
        &other_token,
        &["INSERT INTO person (id, name) VALUES (11, 'Mallory')"],
    );
    let refused = text(&out);
    assert!(!out.status.success(), "a non-owner's INSERT ran: {refused}");
    let cli_refusal = other
        .sql("pgdb", "INSERT INTO person (id, name) VALUES (11, 'Mallory')")
        .err()
        .stderr;
    assert!(
        refused.contains("owner"),
        "psql: {refused}\nspacetime sql: {cli_refusal}"
    );
    let rows = owner.sql("pgdb", "SELECT * FROM person WHERE id = 11").ok().stdout;
    assert!(!rows.contains("Mallory"), "{rows}");

    // A password that is not a token, and a database that does not exist.
    let out = psql(port, "pgdb", "hunter2", &["SELECT 1"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("Spacetime token"), "{}", text(&out));
    let out = psql(port, "nosuchdb", &token, &["SELECT * FROM person"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("nosuchdb"), "{}", text(&out));
}

#[test]
fn without_pg_port_nothing_listens() {
    let port = free_port();
    let server = TestServer::start();
    let owner = Cli::new(&server);
    owner.new_identity();
    let out = psql(port, "any", &owner.token().expect("a token"), &["SELECT 1"]);
    assert!(!out.status.success(), "{}", text(&out));
}
