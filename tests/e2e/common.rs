//! What the e2e tests share: the test modules, a [`Fixture`] (a server, a user and a
//! published module), polling with a deadline, a [`ClientProcess`] driven through its
//! stdin and stdout (the example chat clients and test scripts of every SDK), the
//! quickstart chat scenario every language's chat client plays ([`two_clients_chat`]),
//! `spacetime generate` and the check that committed bindings are current, and the
//! `both_bindings!` macro that runs a test against the module built with our bindings and
//! with upstream's 2.10.1 crate.

use spacetime_testing::cli::{Cli, Output};
use spacetime_testing::modules::{build_module, repo_root, Bindings, ModuleCrate, QUICKSTART_CHAT};
use spacetime_testing::server::{spacetime_bin, TestServer};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

macro_rules! test_module {
    ($const:ident, $dir:literal) => {
        #[doc = concat!("`tests/modules/", $dir, "`.")]
        pub const $const: ModuleCrate = ModuleCrate {
            workspace: "tests/modules",
            package: concat!($dir, "-module"),
            upstream_package: concat!("upstream-", $dir),
        };
    };
}

test_module!(BASIC, "basic");
test_module!(SQL_FORMAT, "sql-format");
test_module!(CONSTRAINTS, "constraints");
test_module!(PANIC, "panic");
test_module!(SCHEDULE, "schedule");
test_module!(LIFECYCLE, "lifecycle");
test_module!(PERMISSIONS, "permissions");
test_module!(RUNAWAY, "runaway");
test_module!(INIT_FAIL, "init-fail");
test_module!(BIGROW, "bigrow");
test_module!(CLIENT_CONNECTION, "client-connection");

/// Runs the body once per bindings flavour, as two tests `ours` and `upstream` in a module
/// named after the test: `both_bindings!(fn name(bindings) { … })`.
macro_rules! both_bindings {
    ($(#[$meta:meta])* fn $name:ident($bindings:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($bindings: spacetime_testing::modules::Bindings) $body

            #[test]
            fn ours() {
                run(spacetime_testing::modules::Bindings::Ours)
            }

            #[test]
            fn upstream() {
                run(spacetime_testing::modules::Bindings::Upstream)
            }
        }
    };
}
pub(crate) use both_bindings;

/// A server, its owner's CLI, and one module published on it.
pub struct Fixture {
    /// The server (killed on drop).
    pub server: TestServer,
    /// The user who published the module (the database owner).
    pub owner: Cli,
    /// The database name.
    pub name: String,
    /// The database identity.
    pub identity: String,
    /// The built module.
    pub wasm: PathBuf,
}

impl Fixture {
    /// Starts a server and publishes `module` (built against `bindings`) as `name`.
    pub fn new(module: ModuleCrate, bindings: Bindings, name: &str) -> Self {
        let wasm = build_module(module, bindings);
        let server = TestServer::start();
        let owner = Cli::new(&server);
        let identity = owner.publish(&wasm, Some(name));
        Self {
            server,
            owner,
            name: name.to_owned(),
            identity,
            wasm,
        }
    }

    /// Another user of the same server, with an identity of their own.
    pub fn other_user(&self) -> Cli {
        let cli = Cli::new(&self.server);
        cli.new_identity();
        cli
    }

    /// `call` as the owner.
    pub fn call(&self, reducer: &str, args: &[&str]) -> Output {
        self.owner.call(&self.name, reducer, args)
    }

    /// `sql` as the owner, trimmed as upstream's `assert_sql` compares.
    #[track_caller]
    pub fn sql(&self, query: &str) -> String {
        self.owner.sql(&self.name, query).ok().trimmed_stdout()
    }

    /// The owner's view of the module's log messages (the last `n`).
    #[track_caller]
    pub fn logs(&self, n: u32) -> Vec<String> {
        self.owner.logs(&self.name, n)
    }
}

pub use spacetime_testing::wait::poll;

/// Whether `haystack` contains each of `needles` in this order.
pub fn in_order(haystack: &[String], needles: &[&str]) -> bool {
    let mut rest = haystack.iter();
    needles.iter().all(|needle| rest.any(|line| line.contains(needle)))
}

/// How long a client process may take, by default, to print an expected line or to exit.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(30);

/// What a client printed so far, filled by one reader thread per stream.
#[derive(Default)]
struct Printed {
    stdout: Vec<String>,
    stderr: Vec<String>,
    /// Whether stdout reached end of file (the client exited or closed it).
    stdout_closed: bool,
}

/// A running client process driven through stdin, with every line it printed so far on
/// stdout and stderr (collected by reader threads, so waiting for a line never blocks on
/// a pipe). Every failure message carries both streams. Killed on drop.
pub struct ClientProcess {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    printed: Arc<Mutex<Printed>>,
    deadline: Duration,
}

/// Reads `stream` line by line into the stream `pick` chooses, then runs `at_end`.
fn collect_lines(
    stream: impl Read + Send + 'static,
    printed: &Arc<Mutex<Printed>>,
    pick: fn(&mut Printed) -> &mut Vec<String>,
    at_end: fn(&mut Printed),
) {
    let printed = printed.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            pick(&mut printed.lock().unwrap()).push(line);
        }
        at_end(&mut printed.lock().unwrap());
    });
}

impl ClientProcess {
    /// Spawns `command` with piped stdin, stdout and stderr. Failure messages name the
    /// client by its program's file name; waits take at most [`CLIENT_DEADLINE`].
    ///
    /// # Panics
    /// If the program cannot be started.
    pub fn start(mut command: Command) -> Self {
        let program = PathBuf::from(command.get_program());
        let name = program
            .file_name()
            .unwrap_or(program.as_os_str())
            .to_string_lossy()
            .into_owned();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot spawn the client {} (is it installed? scripts/install-deps.sh): {e}",
                    program.display()
                )
            });
        let stdin = child.stdin.take();
        let printed = Arc::new(Mutex::new(Printed::default()));
        collect_lines(
            child.stdout.take().expect("stdout was piped"),
            &printed,
            |p| &mut p.stdout,
            |p| p.stdout_closed = true,
        );
        collect_lines(
            child.stderr.take().expect("stderr was piped"),
            &printed,
            |p| &mut p.stderr,
            |_| {},
        );
        Self {
            name,
            child,
            stdin,
            printed,
            deadline: CLIENT_DEADLINE,
        }
    }

    /// The same client, with `limit` instead of [`CLIENT_DEADLINE`] for every wait (for
    /// clients that do slow work between lines, such as a browser).
    pub fn with_deadline(mut self, limit: Duration) -> Self {
        self.deadline = limit;
        self
    }

    /// The same client, called `label` in failure messages (for telling apart two
    /// processes of one program).
    pub fn with_label(mut self, label: &str) -> Self {
        self.name = format!("{label} ({})", self.name);
        self
    }

    fn printed(&self) -> MutexGuard<'_, Printed> {
        self.printed.lock().unwrap()
    }

    /// Writes one line to the client's stdin.
    ///
    /// # Panics
    /// If stdin was closed by [`ClientProcess::finish`] or the client is gone.
    #[track_caller]
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open until finish");
        if let Err(e) = writeln!(stdin, "{line}").and_then(|()| stdin.flush()) {
            panic!(
                "cannot write {line:?} to {}: {e}; it printed:\n{}",
                self.name,
                self.output()
            );
        }
    }

    /// Waits for a line at index `from` or later that `matches`, and returns its index and
    /// text. `what` describes the line for the failure message.
    ///
    /// # Panics
    /// With everything the client printed, when the deadline passes or the client closes
    /// its output without printing such a line.
    #[track_caller]
    pub fn wait_line(&self, from: usize, what: &str, matches: impl Fn(&str) -> bool) -> (usize, String) {
        poll(
            &format!("{} to print {what}", self.name),
            self.deadline,
            || {
                let printed = self.printed();
                let found = printed.stdout.iter().enumerate().skip(from).find(|(_, l)| matches(l));
                if let Some((index, line)) = found {
                    return Some((index, line.clone()));
                }
                // The reader pushes every line before it marks the end, so nothing more comes.
                assert!(
                    !printed.stdout_closed,
                    "{} ended its output without printing {what}:\n{}",
                    self.name,
                    render(&printed)
                );
                None
            },
            || self.output(),
        )
    }

    /// Waits for a printed line containing `needle`.
    ///
    /// # Panics
    /// As [`ClientProcess::wait_line`].
    #[track_caller]
    pub fn expect(&self, needle: &str) {
        self.wait_line(0, &format!("a line containing {needle:?}"), |l| l.contains(needle));
    }

    /// Whether a printed line contains `needle`.
    pub fn has_printed(&self, needle: &str) -> bool {
        self.printed().stdout.iter().any(|l| l.contains(needle))
    }

    /// Fails, with the client's output, unless a printed line contains `needle`.
    #[track_caller]
    pub fn assert_printed(&self, needle: &str) {
        assert!(
            self.has_printed(needle),
            "{} printed no line containing {needle:?}:\n{}",
            self.name,
            self.output()
        );
    }

    /// Fails, with `why` and the client's output, if a printed line contains `needle`.
    #[track_caller]
    pub fn assert_not_printed(&self, needle: &str, why: &str) {
        assert!(
            !self.has_printed(needle),
            "{why}, but {} printed {needle:?}:\n{}",
            self.name,
            self.output()
        );
    }

    /// Every stdout line so far.
    pub fn lines(&self) -> Vec<String> {
        self.printed().stdout.clone()
    }

    /// How many stdout lines were printed so far: a mark to look for later lines from.
    pub fn mark(&self) -> usize {
        self.printed().stdout.len()
    }

    /// Everything printed so far, stdout then stderr, one line each.
    pub fn output(&self) -> String {
        render(&self.printed())
    }

    /// The client's process id (to send it a signal).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the client is still running (it has not exited).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll the client's exit status").is_none()
    }

    /// Closes stdin and waits for end of output and a successful exit.
    ///
    /// # Panics
    /// With the client's output, if it does not exit in time or exits unsuccessfully.
    #[track_caller]
    pub fn finish(&mut self) {
        drop(self.stdin.take());
        poll(
            &format!("{} to close its output after end of input", self.name),
            self.deadline,
            || self.printed().stdout_closed.then_some(()),
            || self.output(),
        );
        let (child, printed) = (&mut self.child, &self.printed);
        let status = poll(
            &format!("{} to exit", self.name),
            self.deadline,
            || child.try_wait().expect("poll the client's exit status"),
            || render(&printed.lock().unwrap()),
        );
        assert!(
            status.success(),
            "{} exits successfully, but {status}:\n{}",
            self.name,
            self.output()
        );
    }
}

/// A client's output for a failure message: stdout, then stderr if it printed any.
fn render(printed: &Printed) -> String {
    let mut text = printed.stdout.join("\n");
    if !printed.stderr.is_empty() {
        text.push_str("\n--- stderr ---\n");
        text.push_str(&printed.stderr.join("\n"));
    }
    text
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The database every chat client connects to.
pub const CHAT_DB: &str = "quickstart-chat";

/// Starts a quickstart chat client from `command` (the program and what precedes the
/// shared flags) on `server`, keeping its token in `creds`.
pub fn chat_client(mut command: Command, server: &TestServer, creds: &Path) -> ClientProcess {
    command
        .args(["--host", &server.url(), "--db", CHAT_DB, "--credentials-dir"])
        .arg(creds);
    ClientProcess::start(command)
}

/// Waits until `query` on `db` returns text containing `needle` (a row committed), failing
/// with `client`'s output.
#[track_caller]
pub fn wait_for_sql(cli: &Cli, db: &str, query: &str, needle: &str, client: &ClientProcess) {
    poll(
        &format!("`{query}` to return {needle:?}"),
        CLIENT_DEADLINE,
        || cli.sql(db, query).trimmed_stdout().contains(needle).then_some(()),
        || client.output(),
    );
}

/// The quickstart chat, played by two clients against the chat module built with
/// `bindings`; `alice` and `bob` make the command that starts each one (see
/// [`chat_client`]). Alice connects, is refused an empty name, names herself and writes;
/// Bob connects, sees her come online and her message in the history; he renames himself
/// and they chat; neither echoes its own live messages; Alice leaves and Bob sees it. Then
/// both come back, Alice with her saved token: she is the same user (Bob sees "alice"
/// come online), her history is complete and in order, and her token is unchanged.
pub fn two_clients_chat(bindings: Bindings, alice: &dyn Fn() -> Command, bob: &dyn Fn() -> Command) {
    let server = TestServer::start();
    Cli::new(&server).publish(&build_module(QUICKSTART_CHAT, bindings), Some(CHAT_DB));
    let creds = tempfile::tempdir().unwrap();
    let (alice_creds, bob_creds) = (creds.path().join("alice"), creds.path().join("bob"));
    const READY: &str = "Fully connected and all subscriptions applied.";

    let mut a = chat_client(alice(), &server, &alice_creds).with_label("alice");
    a.expect(READY);
    a.send("/name");
    a.expect("Failed to set the name: Names must not be empty");
    a.send("/name alice");
    a.send("hello from alice");
    let mark = a.mark();
    let mut b = chat_client(bob(), &server, &bob_creds).with_label("bob");
    b.expect(READY);
    a.wait_line(mark, "that another user connected", |l| {
        l.starts_with("User ") && l.ends_with(" connected.")
    });
    b.expect("alice: hello from alice");

    b.send("/name bob");
    a.expect("renamed to bob.");
    b.send("hi alice");
    a.expect("bob: hi alice");
    a.send("bye bob");
    b.expect("alice: bye bob");
    a.assert_not_printed(
        "alice: hello from alice",
        "a client does not echo its own live messages",
    );
    b.assert_not_printed("bob: hi alice", "a client does not echo its own live messages");

    a.finish();
    b.expect("User alice disconnected.");
    b.finish();
    let token_file = alice_creds.join(CHAT_DB);
    let read_token = || {
        std::fs::read_to_string(&token_file)
            .unwrap_or_else(|e| panic!("the client saved no token in {}: {e}", token_file.display()))
    };
    let token = read_token();
    assert!(
        !token.trim().is_empty(),
        "the saved token file {} is empty",
        token_file.display()
    );

    // Alice comes back with her saved token: the same identity, so the name is still hers.
    let mut b = chat_client(bob(), &server, &bob_creds).with_label("bob");
    b.expect(READY);
    let mut a = chat_client(alice(), &server, &alice_creds).with_label("alice");
    a.expect(READY);
    let history = ["alice: hello from alice", "bob: hi alice", "alice: bye bob", READY];
    assert!(
        in_order(&a.lines(), &history),
        "the returning client prints the whole history, in order, then {READY:?}:\n{}",
        a.output()
    );
    b.expect("User alice connected.");
    a.finish();
    b.expect("User alice disconnected.");
    b.finish();
    assert_eq!(token, read_token(), "the client keeps its token across connections");
}

/// Runs `spacetime generate --lang <lang>` on the module `wasm`, writing into `out`.
///
/// # Panics
/// With the CLI's output, if generating fails.
pub fn generate_bindings(lang: &str, wasm: &Path, out: &Path, extra: &[&str]) {
    let output = Command::new(spacetime_bin())
        .args(["generate", "--lang", lang])
        .args(extra)
        .arg("--out-dir")
        .arg(out)
        .arg("--bin-path")
        .arg(wasm)
        .output()
        .expect("run spacetime generate");
    assert!(
        output.status.success(),
        "spacetime generate --lang {lang} of {} failed:\n{}\n{}",
        wasm.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The files under `dir` and its subdirectories, sorted. Skips `__pycache__`, which
/// running a Python client leaves next to its committed bindings.
///
/// # Panics
/// If a directory cannot be read.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot read {}: {e}", d.display())) {
            let path = entry.expect("dir entry").path();
            if !path.is_dir() {
                files.push(path);
            } else if path.file_name().is_some_and(|n| n != "__pycache__") {
                stack.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The files under `dir`, by path relative to it, with their text.
fn files_under(dir: &Path) -> BTreeMap<PathBuf, String> {
    files_in(dir)
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (path.strip_prefix(dir).expect("under dir").to_path_buf(), text)
        })
        .collect()
}

/// Fails unless each directory in `committed` (relative to the repository root) holds
/// exactly the files `spacetime generate --lang <lang> <extra>` makes of the module
/// `wasm`, byte for byte.
#[track_caller]
pub fn assert_bindings_current(lang: &str, wasm: &Path, extra: &[&str], committed: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    generate_bindings(lang, wasm, out.path(), extra);
    let generated = files_under(out.path());
    assert!(!generated.is_empty(), "spacetime generate --lang {lang} wrote no files");
    for dir in committed {
        let fix = format!(
            "regenerate {dir} with spacetime generate --lang {lang} {}",
            extra.join(" ")
        );
        let kept = files_under(&repo_root().join(dir));
        assert_eq!(
            kept.keys().collect::<Vec<_>>(),
            generated.keys().collect::<Vec<_>>(),
            "{dir}: the set of binding files differs; {fix}"
        );
        for (name, text) in &generated {
            assert!(kept[name] == *text, "{dir}: {} is out of date; {fix}", name.display());
        }
    }
}

/// The values of the one-column result of `sql` run by `cli` on database `db`, sorted.
#[track_caller]
pub fn sql_column(cli: &Cli, db: &str, sql: &str) -> Vec<String> {
    let out = cli.sql(db, sql).ok().trimmed_stdout();
    let mut values: Vec<String> = out
        .lines()
        .skip(2)
        .map(|l| l.trim().trim_matches('"').to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    values.sort();
    values
}

/// The `field` of each row a `spacetime subscribe` line (`update`) inserts or deletes
/// (`which`) in `table`, sorted; a string as it is, any other value as its JSON.
pub fn update_rows(update: &serde_json::Value, table: &str, which: &str, field: &str) -> Vec<String> {
    let mut out: Vec<String> = update[table][which]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| match &r[field] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
