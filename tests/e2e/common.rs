//! What the e2e tests share: the test modules, a [`Fixture`] (a server, a user and a
//! published module), polling with a deadline, a [`ClientProcess`] driven through its
//! stdin and stdout (the example chat clients and test scripts of every SDK), and the
//! `both_bindings!` macro that runs a test against the module built with our bindings and
//! with upstream's 2.10.1 crate.

use spacetime_testing::cli::{Cli, Output};
use spacetime_testing::modules::{build_module, repo_root, Bindings, ModuleCrate};
use spacetime_testing::server::TestServer;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
        Self { server, owner, name: name.to_owned(), identity, wasm }
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

/// Calls `probe` until it returns `Some`, for at most `limit`.
///
/// # Panics
/// With `what` and the last thing `describe` reports, when the deadline passes.
#[track_caller]
pub fn poll<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>, describe: impl Fn() -> String) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}; last state:\n{}", describe());
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Whether `haystack` contains each of `needles` in this order.
pub fn in_order(haystack: &[String], needles: &[&str]) -> bool {
    let mut rest = haystack.iter();
    needles.iter().all(|needle| rest.any(|line| line.contains(needle)))
}

/// How long a client process may take to print an expected line, or to exit.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(30);

/// A running client process driven through stdin, with every line it printed so far
/// (collected by a reader thread, so waiting for a line never blocks on the pipe).
/// Killed on drop.
pub struct ClientProcess {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
    done: Receiver<()>,
}

impl ClientProcess {
    /// Spawns `command` with piped stdin and stdout (stderr goes to the test's output).
    /// Failure messages name the client by its program's file name.
    ///
    /// # Panics
    /// If the program cannot be started.
    pub fn start(mut command: Command) -> Self {
        let program = PathBuf::from(command.get_program());
        let name = program.file_name().unwrap_or(program.as_os_str()).to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn the client {}: {e}", program.display()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout was piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = std::sync::mpsc::channel();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
            let _ = tx.send(());
        });
        Self { name, child, stdin, lines, done }
    }

    /// Writes one line to the client's stdin.
    ///
    /// # Panics
    /// If stdin was closed by [`ClientProcess::finish`] or the client is gone.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open until finish");
        writeln!(stdin, "{line}").and_then(|()| stdin.flush()).unwrap_or_else(|e| panic!("cannot write to {}: {e}", self.name));
    }

    /// Waits (at most [`CLIENT_DEADLINE`]) for a printed line containing `needle`.
    ///
    /// # Panics
    /// With everything the client printed, when the deadline passes.
    #[track_caller]
    pub fn expect(&self, needle: &str) {
        poll(
            &format!("{} to print a line containing {needle:?}", self.name),
            CLIENT_DEADLINE,
            || self.printed(needle).then_some(()),
            || self.output(),
        );
    }

    /// Whether a printed line contains `needle`.
    pub fn printed(&self, needle: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Every line printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Everything printed so far, one line each.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Closes stdin and waits (at most [`CLIENT_DEADLINE`] each) for end of output and a
    /// successful exit.
    ///
    /// # Panics
    /// If the client does not exit in time or exits unsuccessfully.
    #[track_caller]
    pub fn finish(&mut self) {
        drop(self.stdin.take());
        assert!(
            self.done.recv_timeout(CLIENT_DEADLINE).is_ok(),
            "{} did not close its output within {CLIENT_DEADLINE:?} after end of input:\n{}",
            self.name,
            self.output()
        );
        let (child, lines) = (&mut self.child, &self.lines);
        let status = poll(
            &format!("{} to exit", self.name),
            CLIENT_DEADLINE,
            || child.try_wait().expect("poll the client's exit status"),
            || lines.lock().unwrap().join("\n"),
        );
        assert!(status.success(), "{} exits successfully, but {status}:\n{}", self.name, self.output());
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the Rust quickstart chat client (`examples/quickstart-chat/client-rust`, in the
/// examples workspace, with its own target dir so the nested cargo never waits on the
/// outer build's lock) and returns the binary.
///
/// # Panics
/// If the build fails.
pub fn build_rust_chat_client() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let target = home.join(".cache/spacetime-target/native-examples");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "-p", "quickstart-chat-client"])
        .current_dir(repo_root().join("examples"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the Rust chat client failed");
    target.join("debug/quickstart-chat-client")
}

/// The Rust chat client of `quickstart-chat` on `server`, keeping its token in `creds`.
pub fn rust_chat_client(bin: &std::path::Path, server: &TestServer, creds: &std::path::Path) -> ClientProcess {
    let mut command = Command::new(bin);
    command.args(["--host", &server.url(), "--db", "quickstart-chat", "--credentials-dir"]).arg(creds);
    ClientProcess::start(command)
}
