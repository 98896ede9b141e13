//! Module updates that migrate the data (not transaction rollback: see `rollback.rs`),
//! as upstream's `auto_migration`, `add_remove_index` and `cli/publish` smoketests, with
//! the `migrate-v1`…`v4` modules: every automatic step with the rows checked before and
//! after, every refusal with the old module still serving, the plan printed by
//! `--dry-run`, a subscriber and a stream of calls living through a publish,
//! `--break-clients`, and a SIGKILL in the middle of an update.

use crate::common::*;
use spacetime_testing::cli::Output;
use spacetime_testing::modules::{build_module, Bindings, ModuleCrate};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `tests/modules/migrate-<version>`; built against our bindings only.
const fn version(package: &'static str) -> ModuleCrate {
    ModuleCrate {
        workspace: "tests/modules",
        package,
        upstream_package: "",
    }
}

const MIGRATE_V1: ModuleCrate = version("migrate-v1-module");
const MIGRATE_V2: ModuleCrate = version("migrate-v2-module");
const MIGRATE_V3: ModuleCrate = version("migrate-v3-module");
const MIGRATE_V4: ModuleCrate = version("migrate-v4-module");

/// `text` with every run of spaces made one, so table rows compare without their padding.
fn squash(text: &str) -> String {
    text.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The number a `SELECT COUNT(*) AS n` printed.
fn count(fx: &Fixture, table: &str) -> Option<u32> {
    fx.sql(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}

/// Waits until `process` printed `needle` on stdout or stderr.
#[track_caller]
fn wait_printed(process: &ClientProcess, what: &str, needle: &str) {
    poll(
        what,
        PROGRESS,
        || process.output().contains(needle).then_some(()),
        || process.output(),
    );
}

/// How long a background process may take to show progress.
const PROGRESS: Duration = Duration::from_secs(30);

fn wasm(module: ModuleCrate) -> PathBuf {
    build_module(module, Bindings::Ours)
}

/// `publish [extra…] <fx.name>` of `module` as the owner.
fn publish(fx: &Fixture, module: &Path, extra: &[&str]) -> Output {
    fx.owner.publish_output(module, Some(&fx.name), extra)
}

/// `spacetime subscribe <db> <queries…> --print-initial-update` as the owner, running
/// until it is killed (dropped) or the server ends it.
fn subscriber(fx: &Fixture, queries: &[&str]) -> ClientProcess {
    subscriber_as(&fx.owner, &fx.name, queries)
}

/// As [`subscriber`], as the user of `cli`.
fn subscriber_as(cli: &spacetime_testing::cli::Cli, db: &str, queries: &[&str]) -> ClientProcess {
    let mut command = Command::new(spacetime_testing::server::spacetime_bin());
    command.arg("--config-path").arg(cli.config_path());
    command
        .args(["subscribe", "--server", cli.server_url(), db, "--print-initial-update"])
        .args(queries);
    ClientProcess::start(command).with_deadline(Duration::from_secs(120))
}

/// The replica directory of the fixture's only database.
fn replica_dir(fx: &Fixture) -> PathBuf {
    let replicas = fx.server.data_dir().join("replicas");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&replicas)
        .expect("list the replicas")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.join("clog").is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "one replica with a log: {dirs:?}");
    dirs.remove(0)
}

#[test]
fn refusals_keep_the_old_module_and_automatic_steps_keep_the_rows() {
    let fx = Fixture::new(MIGRATE_V1, Bindings::Ours, "mig");
    fx.call("add_person", &["Ada", "36"]).ok();
    fx.call("add_person", &["Bob", "41"]).ok();
    fx.call("add_note", &["1", "hello"]).ok();
    fx.call("add_temp", &["5"]).ok();
    let people = squash(&fx.sql("SELECT name, age FROM person"));
    assert!(
        people.contains("\"Ada\" | 36") && people.contains("\"Bob\" | 41"),
        "{people}"
    );

    // Version 4 changes a type, removes a column and adds one without a default: all three
    // are named at once, with the table, the column and both types.
    let refused = publish(&fx, &wasm(MIGRATE_V4), &[]).err();
    for part in [
        "column `age` of table `person` from U32 to U64",
        "removing column `text` (String) from table `note`",
        "adding column `y` (U32) to table `temp`",
        "#[default(...)]",
    ] {
        assert!(
            refused.stdout.contains(part) || refused.stderr.contains(part),
            "{part}: {refused:?}"
        );
    }
    // The old module keeps serving, its rows untouched.
    fx.call("add_person", &["Cy", "7"]).ok();
    assert!(fx.sql("SELECT name FROM person").contains("\"Cy\""));

    // Version 2 drops `temp`, which holds a row: refused with the count, then fine once empty.
    let refused = publish(&fx, &wasm(MIGRATE_V2), &[]).err();
    assert!(
        refused.stderr.contains("table `temp`") && refused.stderr.contains("1 row(s)"),
        "{}",
        refused.stderr
    );
    fx.call("clear_temp", &[]).ok();
    // Version 2 makes `person.name` unique; a duplicate is named and refuses the update.
    fx.call("add_person", &["Ada", "1"]).ok();
    let refused = publish(&fx, &wasm(MIGRATE_V2), &[]).err();
    assert!(
        refused.stderr.contains("`person`") && refused.stderr.contains("\"Ada\""),
        "the duplicate is named: {}",
        refused.stderr
    );
    fx.owner.sql(&fx.name, "DELETE FROM person WHERE age = 1").ok();

    // --dry-run prints the plan in plain words and changes nothing.
    let dry = publish(&fx, &wasm(MIGRATE_V2), &["--dry-run"]).ok();
    for step in [
        "remove table `temp` (only if it is empty)",
        "add table `pet`",
        "add index `person_age_idx_btree` to table `person`",
        "add unique constraint",
        "make table `note` private",
        "add reducer `add_pet`",
        "remove reducer `add_temp`",
        "Dry run: nothing was published.",
    ] {
        assert!(dry.stdout.contains(step), "{step}: {}", dry.stdout);
    }
    assert!(fx.owner.sql(&fx.name, "SELECT * FROM pet").err().stderr.contains("pet"));

    // The automatic update: every row kept, the new parts work, the new constraint holds.
    let updated = publish(&fx, &wasm(MIGRATE_V2), &[]).ok();
    assert!(updated.stdout.contains("Updated database"), "{}", updated.stdout);
    let people = squash(&fx.sql("SELECT name, age FROM person"));
    for row in ["\"Ada\" | 36", "\"Bob\" | 41", "\"Cy\" | 7"] {
        assert!(people.contains(row), "{row} in {people}");
    }
    assert_eq!(count(&fx, "person"), Some(3), "{people}");
    assert!(
        fx.sql("SELECT * FROM note").contains("\"hello\""),
        "the owner still reads the private note"
    );
    let stranger = fx.other_user();
    assert!(stranger
        .sql(&fx.name, "SELECT * FROM note")
        .err()
        .stderr
        .contains("note"));
    fx.call("add_pet", &["Rex"]).ok();
    assert!(fx.sql("SELECT * FROM pet").contains("\"Rex\""));
    let duplicate = fx.call("add_person", &["Bob", "2"]).err();
    assert!(
        duplicate.stderr.to_lowercase().contains("unique"),
        "name is unique now: {}",
        duplicate.stderr
    );
    assert!(
        fx.sql("SELECT name FROM person WHERE age = 41").contains("\"Bob\""),
        "via the new index"
    );
    assert!(
        fx.call("add_temp", &["1"]).err().stderr.contains("add_temp"),
        "the removed reducer is gone"
    );

    // Version 3 adds a column: refused without --break-clients, naming the flag.
    let refused = publish(&fx, &wasm(MIGRATE_V3), &[]).err();
    assert!(refused.stderr.contains("--break-clients"), "{}", refused.stderr);
    assert!(!fx.sql("SELECT * FROM person").contains("active"));
    // The server refuses it too when asked directly.
    let direct = reqwest::blocking::Client::new()
        .put(format!("{}/v1/database/{}", fx.server.url(), fx.name))
        .bearer_auth(fx.owner.token().expect("logged in"))
        .body(std::fs::read(wasm(MIGRATE_V3)).expect("read the module"))
        .send()
        .expect("PUT the module");
    assert_eq!(direct.status().as_u16(), 400);
    assert!(direct.text().unwrap_or_default().contains("--break-clients"));
    // With it, old rows read the default.
    publish(&fx, &wasm(MIGRATE_V3), &["--break-clients"]).ok();
    let people = squash(&fx.sql("SELECT name, active FROM person"));
    for row in ["\"Ada\" | true", "\"Bob\" | true", "\"Cy\" | true"] {
        assert!(people.contains(row), "{row} in {people}");
    }

    // Going back to version 2 would drop the column: refused, naming it.
    let back = publish(&fx, &wasm(MIGRATE_V2), &[]).err();
    assert!(
        back.stdout
            .contains("removing column `active` (Bool) from table `person`"),
        "{back:?}"
    );
    assert!(squash(&fx.sql("SELECT name, active FROM person")).contains("\"Ada\" | true"));
}

/// A stream of HTTP reducer calls: how many ran, how many failed (with the first
/// failure), and the longest any one took.
struct CallStream {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(u32, Vec<String>, Duration)>,
}

impl CallStream {
    fn start(fx: &Fixture) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (url, token, name) = (fx.server.url(), fx.owner.token().expect("logged in"), fx.name.clone());
        let stopping = stop.clone();
        let handle = std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let (mut calls, mut failures, mut longest) = (0u32, Vec::new(), Duration::ZERO);
            while !stopping.load(Ordering::Relaxed) {
                let started = Instant::now();
                let result = client
                    .post(format!("{url}/v1/database/{name}/call/add_person"))
                    .bearer_auth(&token)
                    .header("Content-Type", "application/json")
                    .body(serde_json::json!([format!("caller{calls}"), calls]).to_string())
                    .send();
                longest = longest.max(started.elapsed());
                calls += 1;
                match result {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => failures.push(format!("{}: {}", r.status(), r.text().unwrap_or_default())),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            (calls, failures, longest)
        });
        Self { stop, handle }
    }

    fn finish(self) -> (u32, Vec<String>, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("the call stream")
    }
}

#[test]
fn a_subscriber_and_a_stream_of_calls_live_through_an_additive_publish() {
    let fx = Fixture::new(MIGRATE_V1, Bindings::Ours, "live");
    fx.call("start_ticking", &[]).ok();
    let ticks = || -> u64 {
        let out = fx.sql("SELECT count FROM ticked");
        out.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0)
    };
    poll(
        "the schedule ticking",
        PROGRESS,
        || (ticks() > 0).then_some(()),
        String::new,
    );

    let person = subscriber(&fx, &["SELECT * FROM person"]);
    person.wait_line(0, "the initial update", |l| l.contains("\"person\""));
    let temp = subscriber(&fx, &["SELECT * FROM temp"]);
    temp.wait_line(0, "the initial update", |l| l.contains("\"temp\""));
    // Another user reads the public `note`, which version 2 makes private.
    let stranger = fx.other_user();
    let note = subscriber_as(&stranger, &fx.name, &["SELECT * FROM note"]);
    note.wait_line(0, "the initial update", |l| l.contains("\"note\""));

    let calls = CallStream::start(&fx);
    poll(
        "calls before the publish",
        PROGRESS,
        || count(&fx, "person").filter(|n| *n >= 20),
        String::new,
    );
    let published_at = Instant::now();
    let out = publish(&fx, &wasm(MIGRATE_V2), &[]).ok();
    let publish_took = published_at.elapsed();
    assert!(out.stdout.contains("Updated database"), "{}", out.stdout);
    let count_then = count(&fx, "person").expect("a count");
    poll(
        "calls after the publish",
        PROGRESS,
        || count(&fx, "person").filter(|n| *n >= count_then + 20),
        String::new,
    );
    let (calls, failures, longest) = calls.finish();
    eprintln!(
        "live publish: {calls} reducer calls, {} failed, longest call {longest:?}, publish took {publish_took:?}",
        failures.len()
    );
    assert!(failures.is_empty(), "no call fails during the publish: {failures:?}");

    // The subscriber stayed connected and receives the rows inserted after the update.
    let last = format!("caller{}", calls - 1);
    person.wait_line(0, "an update after the publish", |l| l.contains(&last));
    // The subscription to the dropped table ended with the reason.
    wait_printed(&temp, "the subscription error", "no longer applies");
    wait_printed(&note, "the stranger's subscription error", "no longer applies");
    assert!(note.output().contains("note"), "{}", note.output());
    // The schedule keeps firing under the new module.
    let before = ticks();
    poll(
        "ticks after the publish",
        PROGRESS,
        || (ticks() > before).then_some(()),
        String::new,
    );
}

#[test]
fn break_clients_disconnects_subscribers_with_the_reason() {
    let fx = Fixture::new(MIGRATE_V2, Bindings::Ours, "brk");
    fx.call("add_person", &["Ada", "36"]).ok();
    let mut sub = subscriber(&fx, &["SELECT * FROM person"]);
    sub.wait_line(0, "the initial update", |l| l.contains("Ada"));
    // Upstream's spelling of the flag: `--yes=break-clients` (which also confirms).
    let v3 = wasm(MIGRATE_V3);
    let v3 = v3.to_str().expect("UTF-8 path");
    fx.owner
        .run(&["publish", "--yes=break-clients", "--bin-path", v3, "--", &fx.name])
        .ok();
    wait_printed(&sub, "the close reason", "--break-clients");
    poll(
        "the subscriber to exit",
        PROGRESS,
        || (!sub.is_running()).then_some(()),
        String::new,
    );
    assert!(squash(&fx.sql("SELECT name, active FROM person")).contains("\"Ada\" | true"));
}

/// Publishes version 3 over version 2 (two rows) while `pause_file` holds the update
/// inside the swap, SIGKILLs the server there and restarts it. Returns the fixture and
/// whether the new module (with `person.active`) came back, after checking that the
/// rows fit whichever module did.
fn kill_during_update(pause_file: &str) -> (Fixture, bool) {
    let mut fx = Fixture::new(MIGRATE_V2, Bindings::Ours, "crash");
    fx.call("add_person", &["Ada", "36"]).ok();
    fx.call("add_person", &["Bob", "41"]).ok();
    let pause = replica_dir(&fx).join(pause_file);
    std::fs::write(&pause, b"").expect("create the pause file");
    let mut publishing = {
        let wasm = wasm(MIGRATE_V3);
        let mut command = Command::new(spacetime_testing::server::spacetime_bin());
        command.arg("--config-path").arg(fx.owner.config_path());
        let args = [
            "publish",
            "--yes",
            "--break-clients",
            "--server",
            fx.owner.server_url(),
            "--bin-path",
        ];
        command.args(args).arg(&wasm).arg(&fx.name);
        ClientProcess::start(command)
    };
    poll(
        "the update to pause inside the swap",
        PROGRESS,
        || fx.server.output().contains("holding a module update").then_some(()),
        || fx.server.output(),
    );
    fx.server.restart_after(|_| {
        let _ = std::fs::remove_file(&pause);
    });
    // The publish's request died with the server.
    poll(
        "the publish to give up",
        PROGRESS,
        || (!publishing.is_running()).then_some(()),
        String::new,
    );
    let people = squash(&fx.sql("SELECT * FROM person"));
    let new = people.contains("active");
    if new {
        for row in ["\"Ada\" | 36 | true", "\"Bob\" | 41 | true"] {
            assert!(people.contains(row), "{row} in {people}");
        }
    } else {
        for row in ["\"Ada\" | 36", "\"Bob\" | 41"] {
            assert!(people.contains(row), "{row} in {people}");
        }
    }
    assert_eq!(count(&fx, "person"), Some(2), "{people}");
    // Whichever module runs, it serves: a call commits and the rows stay consistent.
    fx.call("add_person", &["Cy", "7"]).ok();
    assert_eq!(count(&fx, "person"), Some(3));
    (fx, new)
}

#[test]
fn sigkill_before_the_update_is_logged_restarts_with_the_old_module() {
    let (fx, new) = kill_during_update("pause-migration-before-log");
    assert!(!new, "the update never reached the log");
    let versions = fx.owner.run(&["versions", &fx.name]).ok().stdout;
    assert_eq!(versions.lines().count(), 1, "{versions}");
    // The same update, published again, now goes through.
    publish(&fx, &wasm(MIGRATE_V3), &["--break-clients"]).ok();
    assert!(squash(&fx.sql("SELECT name, active FROM person")).contains("\"Cy\" | true"));
}

#[test]
fn sigkill_after_the_update_is_logged_restarts_with_the_old_or_the_new_module() {
    let (fx, new) = kill_during_update("pause-migration");
    eprintln!(
        "after SIGKILL with the update logged: {}",
        if new { "new" } else { "old" }
    );
    if new {
        // The registry write was lost with the server; the log's module won at start.
        let versions = fx.owner.run(&["versions", &fx.name]).ok().stdout;
        assert!(versions.contains("recovered from the commit log"), "{versions}");
    }
}

#[test]
fn versions_describe_and_rollback_through_the_cli() {
    let fx = Fixture::new(MIGRATE_V1, Bindings::Ours, "ver");
    fx.call("add_person", &["Ada", "36"]).ok();
    publish(&fx, &wasm(MIGRATE_V2), &[]).ok();
    let versions = fx.owner.run(&["versions", &fx.name]).ok().stdout;
    let lines: Vec<&str> = versions.lines().collect();
    assert_eq!(lines.len(), 2, "{versions}");
    assert!(
        lines[0].starts_with("  1 (program ") && lines[0].ends_with("): created"),
        "{versions}"
    );
    assert!(
        lines[1].starts_with("* 2 (program ") && lines[1].contains("add table `pet`"),
        "{versions}"
    );
    let describe = fx.owner.run(&["describe", "--json", &fx.name]).ok();
    assert!(
        describe.stderr.contains("Current version: 2 (program "),
        "{}",
        describe.stderr
    );

    // Back to version 1: automatic (pet is empty), shown first by --dry-run.
    let dry = fx.owner.run(&["rollback", &fx.name, "--dry-run"]).ok().stdout;
    for part in [
        "back to version 1 will:",
        "remove table `pet`",
        "add table `temp`",
        "Dry run",
    ] {
        assert!(dry.contains(part), "{part}: {dry}");
    }
    assert!(fx
        .owner
        .sql(&fx.name, "SELECT * FROM temp")
        .err()
        .stderr
        .contains("temp"));
    let done = fx.owner.run(&["--yes", "rollback", &fx.name]).ok().stdout;
    assert!(done.contains("Rolled back to version 1; now version 3"), "{done}");
    assert!(fx.sql("SELECT name FROM person").contains("\"Ada\""), "rows kept");
    fx.call("add_temp", &["4"]).ok();
    let versions = fx.owner.run(&["versions", &fx.name]).ok().stdout;
    assert!(
        versions
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("* 3 ") && l.contains("rollback to version 1: ")),
        "{versions}"
    );

    // Forward again, then a column is added: rolling back would drop it, so it is refused.
    fx.call("clear_temp", &[]).ok();
    publish(&fx, &wasm(MIGRATE_V2), &[]).ok();
    publish(&fx, &wasm(MIGRATE_V3), &["--break-clients"]).ok();
    let refused = fx.owner.run(&["--yes", "rollback", &fx.name]).err();
    assert!(
        refused.stderr.contains("cannot roll `ver` back to version 4"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("removing column `active` (Bool) from table `person`"),
        "{}",
        refused.stderr
    );
    assert!(
        squash(&fx.sql("SELECT name, active FROM person")).contains("\"Ada\" | true"),
        "nothing changed"
    );
    let missing = fx.owner.run(&["--yes", "rollback", &fx.name, "--to", "9"]).err();
    assert!(
        missing
            .stderr
            .contains("there is no version 9; the versions are 1 to 5"),
        "{}",
        missing.stderr
    );
}

/// `publish --bin-path <module> [args…] -- <name>` without the harness's `--yes`.
fn republish(fx: &Fixture, module: &Path, name: &str, args: &[&str]) -> Output {
    let module = module.to_str().expect("UTF-8 path");
    let mut all = vec!["publish", "--bin-path", module];
    all.extend_from_slice(args);
    all.extend(["--", name]);
    fx.owner.run(&all)
}

/// Upstream's `cli/publish` matrix of `--delete-data` × `--break-clients` × `--yes`: an
/// unchanged module, a column added (breaks clients) and a table dropped while it holds
/// a row (refused by the rows), each republished with each combination, the data
/// checked after.
#[test]
fn publish_flag_matrix() {
    let fx = Fixture::new(MIGRATE_V2, Bindings::Ours, "m0");
    let (v1, v2, v3) = (wasm(MIGRATE_V1), wasm(MIGRATE_V2), wasm(MIGRATE_V3));
    let persons = |name: &str| -> Option<u32> {
        let out = fx
            .owner
            .sql(name, "SELECT COUNT(*) AS n FROM person")
            .ok()
            .trimmed_stdout();
        out.lines().last()?.trim().parse().ok()
    };
    // (base module, new module, flags, succeeds, data kept)
    let cases: [(&Path, &Path, &[&str], bool, bool); 11] = [
        (&v2, &v2, &[], true, true),
        (&v2, &v2, &["--delete-data=on-conflict"], true, true),
        (&v2, &v3, &["--break-clients"], true, true),
        (&v2, &v3, &[], false, true),
        (&v2, &v3, &["--delete-data=on-conflict", "--break-clients"], true, true),
        (&v2, &v3, &["--delete-data=on-conflict"], false, true),
        (&v2, &v3, &["--delete-data", "--yes"], true, false),
        (&v2, &v3, &["--delete-data", "--yes", "--break-clients"], true, false),
        (&v1, &v2, &[], false, true),
        (&v1, &v2, &["--delete-data=on-conflict", "--yes"], true, false),
        (&v1, &v2, &["--delete-data", "--yes"], true, false),
    ];
    for (i, (base, new, flags, succeeds, kept)) in cases.into_iter().enumerate() {
        let name = format!("m{}", i + 1);
        fx.owner.publish(base, Some(&name));
        fx.owner.call(&name, "add_person", &["Ada", "36"]).ok();
        if base == v1.as_path() {
            fx.owner.call(&name, "add_temp", &["1"]).ok();
        }
        let out = republish(&fx, new, &name, flags);
        assert_eq!(out.success(), succeeds, "case {i} {flags:?}: {out:?}");
        if !succeeds && new == v3.as_path() {
            assert!(out.stderr.contains("--break-clients"), "case {i}: {}", out.stderr);
        }
        let expected = if kept { 1 } else { 0 };
        assert_eq!(persons(&name), Some(expected), "case {i} {flags:?}: data kept = {kept}");
    }
}

const STEPS_A: ModuleCrate = version("migrate-steps-a-module");
const STEPS_B: ModuleCrate = version("migrate-steps-b-module");

/// The primary key moved, a sequence added, an enum variant added at the end and a
/// schedule removed, with the rows checked before and after; then the way back refused
/// because the enum would lose a variant.
#[test]
fn key_sequence_enum_and_schedule_changes() {
    let fx = Fixture::new(STEPS_A, Bindings::Ours, "steps");
    fx.call("add_item", &["1", "10", r#"{"a": []}"#, "5"]).ok();
    fx.call("add_item", &["2", "20", r#"{"b": []}"#, "7"]).ok();
    fx.call("start_job", &[]).ok();
    let ran = || -> u64 {
        let out = fx.sql("SELECT count FROM ran");
        out.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0)
    };
    poll("the job to run", PROGRESS, || (ran() > 0).then_some(()), String::new);
    let before = squash(&fx.sql("SELECT id, code, kind, n FROM item"));

    let dry = publish(&fx, &wasm(STEPS_B), &["--dry-run"]).ok().stdout;
    for step in [
        "rows of table `job` no longer schedule reducer `run_job`",
        "change column types of table `item` (stored rows stay readable): `kind` enum { a | b } -> enum { a | b | c }",
        "auto-increment column `n` of table `item`",
        "change the primary key of table `item` from `id` to `code`",
    ] {
        assert!(dry.contains(step), "{step}: {dry}");
    }
    publish(&fx, &wasm(STEPS_B), &[]).ok();
    assert_eq!(
        squash(&fx.sql("SELECT id, code, kind, n FROM item")),
        before,
        "every row reads the same"
    );
    // The new variant, the sequence (past the largest n), the key and the kept unique id.
    fx.call("add_item", &["3", "30", r#"{"c": []}"#, "0"]).ok();
    let items = squash(&fx.sql("SELECT id, code, kind, n FROM item WHERE id = 3"));
    assert!(items.contains("3 | 30 | (c = ()) | 8"), "{items}");
    assert!(fx
        .call("add_item", &["4", "30", r#"{"a": []}"#, "1"])
        .err()
        .stderr
        .to_lowercase()
        .contains("unique"));
    assert!(fx
        .call("add_item", &["3", "40", r#"{"a": []}"#, "1"])
        .err()
        .stderr
        .to_lowercase()
        .contains("unique"));
    // The job's rows are still there, now plain rows.
    assert_eq!(count(&fx, "job"), Some(1));

    // Back to a: `Kind` would lose `C`, so it is refused, naming the column and both types.
    let back = publish(&fx, &wasm(STEPS_A), &[]).err();
    assert!(
        back.stdout
            .contains("changing the type of column `kind` of table `item` from enum { a | b | c } to enum { a | b }")
            && back.stdout.contains("lost variants"),
        "{back:?}"
    );
}

const ROUTES_A: ModuleCrate = version("routes-plan-a-module");
const ROUTES_B: ModuleCrate = version("routes-plan-b-module");

/// The plan of an update lists the module's HTTP routes and views that change (they
/// hold no data, so every such change is automatic), and the update then serves the
/// new router: the removed route answers 404, the re-pointed one the new handler.
#[test]
fn the_plan_lists_route_and_view_changes() {
    let fx = Fixture::new(ROUTES_A, Bindings::Ours, "routes-plan");
    let route = |path: &str| {
        let url = format!("{}/v1/database/routes-plan/route{path}", fx.server.url());
        let response = reqwest::blocking::get(url).expect("the server answers");
        (response.status().as_u16(), response.text().unwrap_or_default())
    };
    assert_eq!(route("/count"), (200, "count".to_owned()));
    assert_eq!(route("/old"), (200, "legacy".to_owned()));

    let dry = publish(&fx, &wasm(ROUTES_B), &["--dry-run"]).ok().stdout;
    for step in [
        "remove view `first_note`",
        "remove HTTP route any `/route/old` (handler `legacy`)",
        "add view `note_count`",
        "add HTTP route GET `/route` (handler `root`)",
        "add HTTP route POST `/route/hello` (handler `hello`)",
        "change view `my_notes`: it now returns Option (was Vec)",
        "change HTTP route GET `/route/count`: handler `count` -> `tally`",
    ] {
        assert!(dry.contains(step), "{step}: {dry}");
    }
    // The unchanged route is not listed, and --dry-run changed nothing.
    assert!(!dry.contains("GET `/route/hello`"), "{dry}");
    assert_eq!(route("/count"), (200, "count".to_owned()));

    let published = publish(&fx, &wasm(ROUTES_B), &[]).ok().stdout;
    assert!(
        published.contains("change HTTP route GET `/route/count`: handler `count` -> `tally`"),
        "{published}"
    );
    assert_eq!(route("/count"), (200, "tally".to_owned()));
    assert_eq!(route("/old").0, 404);
    assert_eq!(route(""), (200, "root".to_owned()));
}
