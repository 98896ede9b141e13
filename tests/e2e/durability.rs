//! Durability across crashes (`TestServer::restart` SIGKILLs the server): rows and
//! sequences come back from the commit log, schedules resume, a damaged log tail is cut
//! with a message saying what was dropped, and under steady load every acknowledged
//! call survives and no transaction is half-applied. Snapshots are taken and a damaged
//! one is passed over; `--in-memory` keeps nothing; SQL reads are confirmed unless
//! `?confirmed=false`. Results and confirmed subscription updates wait until their
//! commit is durable (held with the `hold-fsync` fault-injection file, which the harness enables with SPACETIME_FAULT_INJECTION=1), and a log that
//! cannot be written (a file-size limit, as a full disk) stops only its database, with
//! a clear error, losing nothing acknowledged.

use crate::common::*;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings, ModuleCrate};
use spacetime_testing::server::TestServer;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// `tests/modules/bench`: accounts and transfers between them.
const BENCH: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "bench-module",
    upstream_package: "upstream-bench",
};

/// How long a scheduled reducer or a load round may take to show progress.
const PROGRESS: Duration = Duration::from_secs(30);

/// Every commit-log segment under the data directory.
fn segments(dir: &Path) -> Vec<PathBuf> {
    files_ending(dir, ".stdb.log")
}

/// Every valid snapshot file under the data directory, oldest first.
fn snapshots(dir: &Path) -> Vec<PathBuf> {
    files_ending(dir, ".snapshot")
}

/// Every file under `dir` whose path ends with `suffix`, sorted.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_ending(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
    found.sort();
    found
}

#[test]
fn rows_and_sequences_survive_a_crash() {
    let mut fx = Fixture::new(CONSTRAINTS, Bindings::Ours, "durable-rows");
    for name in ["Alice", "Bob", "Carol"] {
        fx.call("add", &[name]).ok();
    }
    fx.call("remove", &["Carol"]).ok();
    fx.server.restart();
    let rows = fx.sql("SELECT * FROM person");
    assert!(rows.contains("\"Alice\"") && rows.contains("\"Bob\""), "{rows}");
    assert!(!rows.contains("Carol"), "a logged delete is replayed: {rows}");
    // Carol had id 3: the sequence continues above every value it handed out.
    fx.call("add", &["Dave"]).ok();
    let dave = fx.sql("SELECT id FROM person WHERE name = 'Dave'");
    assert!(
        dave.lines().any(|l| l.trim() == "4"),
        "Dave gets id 4, never a reused one: {dave}"
    );
    // `init` does not run again, and a second restart replays the same log again.
    fx.server.restart();
    let rows = fx.sql("SELECT * FROM person");
    assert_eq!(rows.matches('"').count(), 6, "Alice, Bob and Dave, once each: {rows}");
}

#[test]
fn scheduled_reducers_resume_after_a_crash() {
    let mut fx = Fixture::new(SCHEDULE, Bindings::Ours, "durable-schedule");
    fx.call("start_ticking", &["20"]).ok();
    let count = |fx: &Fixture| fx.sql("SELECT * FROM fired").matches("\"tick\"").count();
    poll(
        "a first tick",
        PROGRESS,
        || (count(&fx) > 0).then_some(()),
        || fx.sql("SELECT * FROM fired"),
    );
    fx.server.restart();
    let before = count(&fx);
    assert!(before > 0, "ticks before the crash were logged");
    poll(
        "a tick after the restart",
        PROGRESS,
        || (count(&fx) > before).then_some(()),
        || fx.sql("SELECT * FROM fired"),
    );
}

#[test]
fn a_damaged_log_tail_is_cut_and_reported() {
    let mut fx = Fixture::new(CONSTRAINTS, Bindings::Ours, "durable-damaged");
    for name in ["Alice", "Bob", "Carol"] {
        fx.call("add", &[name]).ok();
    }
    // Carol's insert is the last commit (the module has no connect/disconnect reducers);
    // tearing its last bytes is what a crash in the middle of a write leaves.
    let segment = segments(&fx.server.data_dir())
        .pop()
        .expect("a commit-log segment in the data directory");
    let len = std::fs::metadata(&segment).expect("segment metadata").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .expect("open the segment");
    file.set_len(len - 3).expect("truncate the segment");
    drop(file);
    fx.server.restart();
    let rows = fx.sql("SELECT * FROM person");
    assert!(
        rows.contains("\"Alice\"") && rows.contains("\"Bob\""),
        "earlier commits are kept: {rows}"
    );
    assert!(!rows.contains("Carol"), "the torn commit is dropped: {rows}");
    let logs = fx.logs(100);
    assert!(
        logs.iter()
            .any(|l| l.contains("commit log damaged at") && l.contains("dropped 1 commit")),
        "the module log says what was dropped: {logs:?}"
    );
    // The log goes on after the cut.
    fx.call("add", &["Dave"]).ok();
    fx.server.restart();
    assert!(fx.sql("SELECT * FROM person").contains("\"Dave\""));
}

/// Balances after the first `k` transfers of the load: transfer `i` moves 1 from
/// account `i % N` to `(i + 1) % N`, starting from `START` each.
fn expected_balances(k: u64) -> Vec<i64> {
    let mut balances = vec![START; N as usize];
    for i in 0..k {
        balances[(i % N) as usize] -= 1;
        balances[((i + 1) % N) as usize] += 1;
    }
    balances
}

const N: u64 = 7;
const START: i64 = 1_000_000;

/// The balances as SQL shows them, by account id.
fn balances(cli: &Cli, db: &str) -> Vec<i64> {
    let out = cli.sql(db, "SELECT id, balance FROM account").ok().stdout;
    let mut rows: Vec<(u64, i64)> = out
        .lines()
        .filter_map(|l| {
            let mut cells = l.split('|').map(str::trim);
            Some((cells.next()?.parse().ok()?, cells.next()?.parse().ok()?))
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, b)| b).collect()
}

#[test]
fn acknowledged_calls_survive_crashes_under_load() {
    let rounds = if std::env::var_os("SPACETIME_STRESS").is_some() {
        20
    } else {
        3
    };
    let wasm = build_module(BENCH, Bindings::Ours);
    let mut server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&wasm, Some("durable-load"));
    cli.call("durable-load", "seed", &["0", &N.to_string(), &START.to_string()])
        .ok();
    let mut done = 0u64;
    for round in 0..rounds {
        let acked = Arc::new(AtomicU64::new(done));
        let stop = Arc::new(AtomicBool::new(false));
        let loader = {
            let (acked, stop) = (acked.clone(), stop.clone());
            // Anyone may call `transfer`; the loader is a user of its own.
            let caller = Cli::new(&server);
            std::thread::spawn(move || {
                let mut i = acked.load(Ordering::SeqCst);
                while !stop.load(Ordering::SeqCst) {
                    let (from, to) = ((i % N).to_string(), ((i + 1) % N).to_string());
                    if !caller.call("durable-load", "transfer", &[&from, &to, "1"]).success() {
                        // Killed mid-call: this transfer may or may not have committed.
                        break;
                    }
                    i += 1;
                    acked.store(i, Ordering::SeqCst);
                }
            })
        };
        let target = done + 3 + random_below(17);
        poll(
            "acknowledged transfers",
            PROGRESS,
            || (acked.load(Ordering::SeqCst) >= target).then_some(()),
            || format!("{} acknowledged", acked.load(Ordering::SeqCst)),
        );
        server.restart();
        stop.store(true, Ordering::SeqCst);
        loader.join().expect("the load thread");
        let acked = acked.load(Ordering::SeqCst);
        let found = balances(&cli, "durable-load");
        assert_eq!(
            found.iter().sum::<i64>(),
            START * N as i64,
            "round {round}: no transfer is half-applied: {found:?}"
        );
        // Every acknowledged transfer is there, plus at most the one in flight at the kill.
        done = (acked..=acked + 1)
            .find(|&k| expected_balances(k) == found)
            .unwrap_or_else(|| panic!("round {round}: {acked} acknowledged transfers, but the balances are {found:?}"));
    }
}

/// A number below `n` that differs from run to run (the kill moment of a load round).
fn random_below(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) % n
}

/// A fixture on a server started with extra `start` flags.
fn fixture_with_args(module: ModuleCrate, name: &str, args: &[&str]) -> Fixture {
    let wasm = build_module(module, Bindings::Ours);
    let server = TestServer::start_with_args(args);
    let owner = Cli::new(&server);
    let identity = owner.publish(&wasm, Some(name));
    Fixture {
        server,
        owner,
        name: name.to_owned(),
        identity,
        wasm,
    }
}

#[test]
fn snapshots_are_restored_and_a_damaged_one_is_passed_over() {
    let mut fx = fixture_with_args(CONSTRAINTS, "durable-snapshots", &["--snapshot-every", "2"]);
    // Snapshots are written in the background after every second transaction; keep
    // adding people until two are on disk, so the older one is there to fall back on.
    let mut added = 0u32;
    poll(
        "two snapshot files",
        PROGRESS,
        || {
            if snapshots(&fx.server.data_dir()).len() >= 2 {
                return Some(());
            }
            fx.call("add", &[&format!("p{added}")]).ok();
            added += 1;
            None
        },
        || format!("{:?}", snapshots(&fx.server.data_dir())),
    );
    let all_present = |fx: &Fixture| {
        let rows = fx.sql("SELECT name FROM person");
        (0..added).all(|i| rows.lines().any(|l| l.trim() == format!("\"p{i}\"")))
    };
    fx.server.restart();
    assert!(
        all_present(&fx),
        "every row is back from snapshot + log: {}",
        fx.sql("SELECT name FROM person")
    );
    assert!(
        fx.server.output().contains("restored, replayed"),
        "{}",
        fx.server.output()
    );

    // Damage the newest snapshot's payload: restore must pass it over.
    let newest = snapshots(&fx.server.data_dir()).pop().expect("a snapshot file");
    let mut bytes = std::fs::read(&newest).expect("read the snapshot");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&newest, bytes).expect("write the damaged snapshot");
    fx.server.restart();
    assert!(
        all_present(&fx),
        "every row is back from an older snapshot + log: {}",
        fx.sql("SELECT name FROM person")
    );
    let output = fx.server.output();
    assert!(
        output.contains("skipped snapshot at tx offset"),
        "the server log says the snapshot was skipped: {output}"
    );
    let logs = fx.logs(100);
    assert!(
        logs.iter().any(|l| l.contains("skipped snapshot at tx offset")),
        "and so does the module log: {logs:?}"
    );
    assert!(!newest.exists(), "the damaged snapshot is set aside");
    // The database goes on writing after the fallback.
    fx.call("add", &["after"]).ok();
    fx.server.restart();
    assert!(fx.sql("SELECT name FROM person").contains("\"after\""));
}

#[test]
fn in_memory_keeps_nothing_across_a_restart() {
    let mut fx = fixture_with_args(CONSTRAINTS, "in-memory", &["--in-memory"]);
    fx.call("add", &["Alice"]).ok();
    assert!(fx.sql("SELECT * FROM person").contains("\"Alice\""));
    assert!(
        segments(&fx.server.data_dir()).is_empty(),
        "an in-memory server writes no commit log"
    );
    fx.server.restart();
    assert!(segments(&fx.server.data_dir()).is_empty(), "nor on restart");
    let out = fx.owner.sql(&fx.name, "SELECT * FROM person");
    assert!(!out.success(), "the database is gone after a restart: {}", out.stdout);
}

#[test]
fn sql_is_confirmed_unless_asked_otherwise() {
    let mut fx = Fixture::new(CONSTRAINTS, Bindings::Ours, "durable-confirmed");
    let token = fx.owner.token().expect("the owner is logged in");
    let http = reqwest::blocking::Client::new();
    let sql = |fx: &Fixture, query: &str, confirmed: Option<&str>| {
        let url = format!("{}/v1/database/{}/sql", fx.server.url(), fx.name);
        let url = match confirmed {
            Some(c) => format!("{url}?confirmed={c}"),
            None => url,
        };
        let response = http
            .post(url)
            .bearer_auth(&token)
            .body(query.to_owned())
            .send()
            .expect("the server answers");
        (response.status().as_u16(), response.text().unwrap_or_default())
    };
    // An unconfirmed write answers; a confirmed read after it waits for it to be
    // durable, so once that read answers, the write survives a crash.
    let (status, body) = sql(&fx, "INSERT INTO person (id, name) VALUES (10, 'Eve')", Some("false"));
    assert_eq!(status, 200, "{body}");
    for confirmed in [Some("false"), Some("true"), None] {
        let (status, body) = sql(&fx, "SELECT * FROM person", confirmed);
        assert_eq!(status, 200, "confirmed={confirmed:?}: {body}");
        assert!(body.contains("\"Eve\""), "confirmed={confirmed:?}: {body}");
    }
    fx.server.restart();
    let (status, body) = sql(&fx, "SELECT * FROM person", None);
    assert!(status == 200 && body.contains("\"Eve\""), "{status} {body}");
    let (status, body) = sql(&fx, "SELECT * FROM person", Some("maybe"));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("`confirmed`") && body.contains("`true` or `false`"),
        "{body}"
    );
}

/// Kills the child process on drop, so a failed assertion leaves no process behind.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn clients_connected_at_a_crash_are_disconnected_on_restart() {
    // `host-test` keeps an `online` row per connected identity: `client_connected`
    // inserts it, `client_disconnected` deletes it.
    let mut fx = Fixture::new(spacetime_testing::modules::HOST_TEST, Bindings::Ours, "durable-clients");
    let subscriber = fx.other_user();
    let child = std::process::Command::new(spacetime_testing::server::spacetime_bin())
        .arg("--config-path")
        .arg(subscriber.config_path())
        .args([
            "subscribe",
            "--server",
            subscriber.server_url(),
            &fx.name,
            "SELECT * FROM person",
            "-t",
            "600",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn `spacetime subscribe`");
    let _child = KillOnDrop(child);
    // The owner's own SQL connection is online while its statement runs, so the
    // subscriber makes two.
    let online = |fx: &Fixture| {
        let out = fx.sql("SELECT * FROM online");
        out.lines()
            .skip_while(|l| !l.starts_with('-'))
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count()
    };
    poll(
        "the subscriber online",
        PROGRESS,
        || (online(&fx) == 2).then_some(()),
        || fx.sql("SELECT * FROM online"),
    );
    fx.server.restart();
    assert_eq!(
        online(&fx),
        1,
        "the crash cut the subscriber off: {}",
        fx.sql("SELECT * FROM online")
    );
    let logs = fx.logs(100);
    assert!(
        logs.iter()
            .any(|l| l.contains("running client_disconnected for 1 client(s) connected before the restart")),
        "{logs:?}"
    );
    // Nothing is left to disconnect on the next restart.
    fx.server.restart();
    assert_eq!(online(&fx), 1, "{}", fx.sql("SELECT * FROM online"));
    let again = fx
        .logs(100)
        .iter()
        .filter(|l| l.contains("client(s) connected before the restart"))
        .count();
    assert_eq!(again, 1, "no client is disconnected twice");
}

/// `POST /v1/database/:db/call/:reducer` with JSON `args`, as `cli`'s identity: the
/// status and the body.
fn http_call(server: &TestServer, cli: &Cli, db: &str, reducer: &str, args: serde_json::Value) -> (u16, String) {
    let token = cli.token().expect("the CLI is logged in");
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/database/{db}/call/{reducer}", server.url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(args.to_string())
        .send()
        .expect("the server answers");
    (response.status().as_u16(), response.text().unwrap_or_default())
}

/// The pid of the `spacetime start` process serving `data_dir` (found in `/proc`).
fn server_pid(data_dir: &Path) -> String {
    let needle = data_dir.to_string_lossy().into_owned();
    let found = std::fs::read_dir("/proc")
        .expect("/proc is readable")
        .flatten()
        .find(|entry| {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let args: Vec<String> = cmdline
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.iter().any(|a| a == "start") && args.contains(&needle)
        });
    found
        .expect("the server process is in /proc")
        .file_name()
        .to_string_lossy()
        .into_owned()
}

/// The balances after `k` transfers of 1 from account 0 to account 1.
fn moved_from_0_to_1(k: i64) -> Vec<i64> {
    let mut balances = vec![START; N as usize];
    balances[0] -= k;
    balances[1] += k;
    balances
}

#[test]
fn a_log_that_cannot_be_written_stops_only_its_database() {
    let wasm = build_module(BENCH, Bindings::Ours);
    let mut server = TestServer::start();
    let cli = Cli::new(&server);
    for db in ["log-fails", "log-works"] {
        cli.publish(&wasm, Some(db));
        cli.call(db, "seed", &["0", &N.to_string(), &START.to_string()]).ok();
        cli.call(db, "transfer", &["0", "1", "1"]).ok();
    }
    // A confirmed subscriber of the database whose log will fail: it must be told why.
    let mut subscriber = std::process::Command::new(spacetime_testing::server::spacetime_bin())
        .arg("--config-path")
        .arg(cli.config_path())
        .args([
            "subscribe",
            "--server",
            cli.server_url(),
            "log-fails",
            "SELECT * FROM account WHERE id = 0",
            "-t",
            "600",
        ])
        .arg("--print-initial-update")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn `spacetime subscribe`");
    let updates = lines_of(&mut subscriber);
    let first = updates
        .recv_timeout(PROGRESS)
        .unwrap_or_else(|e| panic!("no initial update for the subscriber: {e}"));
    assert!(first.contains("account"), "{first}");
    let mut subscriber = KillOnDrop(subscriber);

    // A real write error: past a file-size limit (RLIMIT_FSIZE) a write fails with
    // EFBIG, as on a full disk with ENOSPC. Every log is far below 256 KiB so far.
    let pid = server_pid(&server.data_dir());
    let limited = std::process::Command::new("prlimit")
        .args(["--pid", &pid, "--fsize=262144:262144"])
        .status();
    assert!(
        limited.expect("run prlimit").success(),
        "prlimit sets the server's file-size limit"
    );

    // 50,000 new accounts make one record of about 800 KB: its write fails.
    let (status, body) = http_call(&server, &cli, "log-fails", "seed", serde_json::json!([100, 50_000, 5]));
    assert_eq!(status, 503, "{body}");
    for needle in [
        "commit log cannot be written",
        "File too large",
        "restart the server",
        "nothing after it was acknowledged",
    ] {
        assert!(
            body.contains(needle),
            "the error names the problem and the fix ({needle}): {body}"
        );
    }
    // The database stays stopped: no call, no SQL, until a restart.
    let (status, body) = http_call(&server, &cli, "log-fails", "transfer", serde_json::json!([1, 2, 1]));
    assert!(
        status == 503 && body.contains("commit log cannot be written"),
        "{status} {body}"
    );
    let sql = cli.sql("log-fails", "SELECT * FROM account");
    assert!(
        !sql.success() && sql.stderr.contains("commit log cannot be written"),
        "{}",
        sql.stderr
    );
    let logs = cli.logs("log-fails", 20);
    assert!(
        logs.iter().any(|l| l.contains("this database has stopped")),
        "the module log says why: {logs:?}"
    );
    // The subscriber was closed with the real reason, short enough for a close frame.
    let exited = poll(
        "the subscriber to exit",
        PROGRESS,
        || subscriber.0.try_wait().ok().flatten(),
        String::new,
    );
    assert!(!exited.success(), "the subscriber reports the close as an error");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut subscriber.0.stderr.take().expect("piped stderr"), &mut stderr)
        .expect("read stderr");
    for needle in ["commit log cannot be written", "File too large", "restart server"] {
        assert!(
            stderr.contains(needle),
            "the close reason names the problem and the fix ({needle}): {stderr}"
        );
    }

    // The other database on the server keeps working.
    let (status, body) = http_call(&server, &cli, "log-works", "transfer", serde_json::json!([0, 1, 1]));
    assert_eq!(status, 200, "{body}");
    assert_eq!(balances(&cli, "log-works"), moved_from_0_to_1(2));

    // A restart (without the limit) recovers: every acknowledged transfer is there, the
    // refused seed is not, and the database serves again.
    server.restart();
    let output = server.output();
    assert!(
        output.contains("File too large"),
        "the server log names the cause: {output}"
    );
    assert_eq!(balances(&cli, "log-fails"), moved_from_0_to_1(1));
    let (status, body) = http_call(&server, &cli, "log-fails", "transfer", serde_json::json!([1, 2, 1]));
    assert_eq!(status, 200, "{body}");
}

/// The stdout lines of a child process, on a channel.
fn lines_of(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn results_and_updates_wait_until_the_commit_is_durable() {
    let wasm = build_module(BENCH, Bindings::Ours);
    let server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&wasm, Some("withheld"));
    cli.call("withheld", "tick", &["1"]).ok();
    // One subscriber with confirmed reads (the default), one without.
    let subscribe = |confirmed: &str| {
        let mut child = std::process::Command::new(spacetime_testing::server::spacetime_bin())
            .arg("--config-path")
            .arg(cli.config_path())
            .args([
                "subscribe",
                "--server",
                cli.server_url(),
                "withheld",
                "SELECT * FROM ticker",
                "-t",
                "600",
            ])
            .args(["--print-initial-update", "--confirmed", confirmed])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn `spacetime subscribe`");
        let lines = lines_of(&mut child);
        (KillOnDrop(child), lines)
    };
    let (_confirmed_child, confirmed) = subscribe("true");
    let (_unconfirmed_child, unconfirmed) = subscribe("false");
    // Each is subscribed once it printed its initial update.
    for (what, lines) in [("confirmed", &confirmed), ("unconfirmed", &unconfirmed)] {
        let first = lines
            .recv_timeout(PROGRESS)
            .unwrap_or_else(|e| panic!("no initial update for the {what} subscriber: {e}"));
        assert!(first.contains("ticker"), "{what}: {first}");
    }
    let replica = segments(&server.data_dir())
        .first()
        .and_then(|segment| segment.parent()?.parent().map(Path::to_path_buf))
        .expect("the database has a log");
    let hold = replica.join("hold-fsync");
    std::fs::write(&hold, b"").expect("create the hold file");

    let caller = {
        let (url, token) = (server.url(), cli.token().expect("logged in"));
        std::thread::spawn(move || {
            reqwest::blocking::Client::new()
                .post(format!("{url}/v1/database/withheld/call/tick"))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body("[42]")
                .send()
                .map(|r| r.status().as_u16())
        })
    };
    // The unconfirmed subscriber sees the update as soon as it commits...
    poll(
        "the unconfirmed update",
        PROGRESS,
        || unconfirmed.try_recv().ok().filter(|l| l.contains("42")),
        String::new,
    );
    // ...and an unconfirmed read sees the row, but the commit is not durable, so the
    // call has no answer and the confirmed subscriber has seen nothing.
    let unconfirmed_sql = reqwest::blocking::Client::new()
        .post(format!("{}/v1/database/withheld/sql?confirmed=false", server.url()))
        .bearer_auth(cli.token().expect("logged in"))
        .body("SELECT * FROM ticker")
        .send()
        .and_then(|r| r.text())
        .expect("an unconfirmed read answers");
    assert!(unconfirmed_sql.contains("42"), "{unconfirmed_sql}");
    assert!(!caller.is_finished(), "the call answered before its commit was durable");
    let early: Vec<String> = confirmed.try_iter().collect();
    assert!(
        !early.iter().any(|l| l.contains("42")),
        "a confirmed subscriber saw a commit before it was durable: {early:?}"
    );

    std::fs::remove_file(&hold).expect("remove the hold file");
    let status = caller.join().expect("the caller thread").expect("the call answers");
    assert_eq!(status, 200);
    poll(
        "the confirmed update",
        PROGRESS,
        || confirmed.try_recv().ok().filter(|l| l.contains("42")),
        String::new,
    );
}
