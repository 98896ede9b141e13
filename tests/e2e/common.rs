//! What the e2e tests share: the test modules, a [`Fixture`] (a server, a user and a
//! published module), polling with a deadline, and the `both_bindings!` macro that runs a
//! test against the module built with our bindings and with upstream's 2.10.1 crate.

use spacetime_testing::cli::{Cli, Output};
use spacetime_testing::modules::{build_module, Bindings, ModuleCrate};
use spacetime_testing::server::TestServer;
use std::path::PathBuf;
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
