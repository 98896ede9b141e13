//! A real server process for end-to-end tests: `spacetime start` on a fresh data directory,
//! listening on a free loopback port.
//!
//! [`TestServer::start`] spawns the `spacetime` binary built next to the test executable,
//! waits (with a deadline) for the `Starting SpacetimeDB listening on <addr>` line and then
//! for `GET /v1/ping` to answer. [`TestServer::restart`] SIGKILLs the process and starts a
//! new one on the same data directory and port, so a restart behaves like a crash. The
//! process is killed when the value is dropped.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a server may take to announce its address and answer a ping.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// The line the server prints once it listens.
const LISTENING: &str = "Starting SpacetimeDB listening on ";

/// The `spacetime` binary of this build: `<target dir>/<profile>/spacetime`, found from the
/// test executable's path (`<target dir>/<profile>/deps/<test>`). `SPACETIME_BIN` overrides it.
///
/// # Panics
/// If the binary is missing, with the command that builds it.
pub fn spacetime_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SPACETIME_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test executable has a path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| {
            if deps.ends_with("deps") {
                deps.parent()
            } else {
                Some(deps)
            }
        })
        .expect("the test executable lives in a target directory");
    let bin = profile_dir.join(format!("spacetime{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the spacetime binary is missing at {}: run `cargo build -p spacetime-cli` first",
        bin.display()
    );
    bin
}

/// A running `spacetime start` process and its data directory.
pub struct TestServer {
    child: Child,
    root: tempfile::TempDir,
    addr: String,
    output: Arc<Mutex<String>>,
    /// Flags passed to every `start` of this server, restarts included.
    extra_args: Vec<String>,
    /// The token key pair's directory; `<root>/keys` unless several servers share one.
    key_dir: PathBuf,
    /// The network namespace it runs in (partition tests), or `None` for the test's own.
    netns: Option<String>,
    /// Environment variables set for every start of this server, restarts included.
    env: Vec<(String, String)>,
}

impl TestServer {
    /// Starts a server on a new data directory and a free port, waiting until it answers.
    ///
    /// # Panics
    /// If the binary is missing, or the server does not come up before the deadline (the
    /// panic message carries everything the server printed).
    pub fn start() -> Self {
        Self::start_configured(None, Some("127.0.0.1:0"))
    }

    /// Starts a server whose `--config-path` file holds `cli_toml` (if given), passing
    /// `--listen-addr` only when `listen_addr` is given, to check where `start` takes its
    /// address from.
    ///
    /// # Panics
    /// As [`TestServer::start`].
    pub fn start_configured(cli_toml: Option<&str>, listen_addr: Option<&str>) -> Self {
        Self::launch(cli_toml, listen_addr, Vec::new())
    }

    /// Starts a server as [`TestServer::start`] does, passing `args` (e.g.
    /// `["--snapshot-every", "5"]`) to `spacetime start` now and on every restart.
    ///
    /// # Panics
    /// As [`TestServer::start`].
    pub fn start_with_args(args: &[&str]) -> Self {
        Self::launch(
            None,
            Some("127.0.0.1:0"),
            args.iter().map(|a| (*a).to_owned()).collect(),
        )
    }

    /// Starts a server listening on `listen_addr` (a fixed address, kept across
    /// restarts) whose token key pair lives in `key_dir`, so servers sharing it accept
    /// each other's tokens (as the nodes of a cluster must), passing `args` on every start.
    ///
    /// # Panics
    /// As [`TestServer::start`].
    pub fn start_sharing_keys(listen_addr: &str, key_dir: &Path, args: &[&str]) -> Self {
        Self::launch_with_keys(
            None,
            Some(listen_addr),
            args.iter().map(|a| (*a).to_owned()).collect(),
            Some(key_dir.to_owned()),
        )
    }

    /// As [`TestServer::start_sharing_keys`], with the server in the network namespace
    /// `netns` (`crate::netns`), where `listen_addr` is; the test reaches it through
    /// the namespace's link, and it runs there again on every restart.
    ///
    /// # Panics
    /// As [`TestServer::start`].
    pub fn start_in_netns(netns: &str, listen_addr: &str, key_dir: &Path, args: &[&str]) -> Self {
        Self::launch_in(
            None,
            Some(listen_addr),
            args.iter().map(|a| (*a).to_owned()).collect(),
            Some(key_dir.to_owned()),
            Some(netns.to_owned()),
            Vec::new(),
        )
    }

    /// As [`TestServer::start_sharing_keys`] (with a key pair of its own when
    /// `key_dir` is `None`), with the environment variables `env` set for this start
    /// and every restart: e.g. [`crate::power::FSYNC_LEDGER`], which power kills need.
    ///
    /// # Panics
    /// As [`TestServer::start`].
    pub fn start_with_env(listen_addr: &str, key_dir: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::launch_in(
            None,
            Some(listen_addr),
            args.iter().map(|a| (*a).to_owned()).collect(),
            key_dir.map(Path::to_owned),
            None,
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        )
    }

    fn launch(cli_toml: Option<&str>, listen_addr: Option<&str>, extra_args: Vec<String>) -> Self {
        Self::launch_with_keys(cli_toml, listen_addr, extra_args, None)
    }

    fn launch_with_keys(
        cli_toml: Option<&str>,
        listen_addr: Option<&str>,
        extra_args: Vec<String>,
        key_dir: Option<PathBuf>,
    ) -> Self {
        Self::launch_in(cli_toml, listen_addr, extra_args, key_dir, None, Vec::new())
    }

    fn launch_in(
        cli_toml: Option<&str>,
        listen_addr: Option<&str>,
        extra_args: Vec<String>,
        key_dir: Option<PathBuf>,
        netns: Option<String>,
        env: Vec<(String, String)>,
    ) -> Self {
        let root = tempfile::Builder::new()
            .prefix("spacetime-e2e-")
            .tempdir()
            .expect("create a temporary directory");
        let key_dir = key_dir.unwrap_or_else(|| root.path().join("keys"));
        if let Some(text) = cli_toml {
            std::fs::write(root.path().join("server-cli.toml"), text).expect("write the server's cli.toml");
        }
        let output = Arc::new(Mutex::new(String::new()));
        let (child, addr) = spawn(
            root.path(),
            listen_addr,
            &extra_args,
            &key_dir,
            netns.as_deref(),
            &env,
            &output,
        );
        let server = Self {
            child,
            root,
            addr,
            output,
            extra_args,
            key_dir,
            netns,
            env,
        };
        server.wait_for_ping();
        server
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory now, in KiB (`VmRSS` of `/proc/<pid>/status`), or
    /// `None` where there is no such file (not Linux, or the process is gone).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Everything the server printed so far (stdout and stderr interleaved by line).
    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// SIGKILLs the server and starts a new one on the same data directory and port.
    ///
    /// # Panics
    /// If the new process does not come up before the deadline.
    pub fn restart(&mut self) {
        self.restart_after(|_| {});
    }

    /// SIGKILLs the server, runs `between` with the data directory while no server
    /// holds it (to damage, remove or restore files, as an operator would), then starts
    /// a new one as [`TestServer::restart`] does.
    ///
    /// # Panics
    /// As [`TestServer::restart`].
    pub fn restart_after(&mut self, between: impl FnOnce(&Path)) {
        self.kill();
        between(&self.data_dir());
        let (child, addr) = spawn(
            self.root.path(),
            Some(&self.addr),
            &self.extra_args,
            &self.key_dir,
            self.netns.as_deref(),
            &self.env,
            &self.output,
        );
        self.child = child;
        self.addr = addr;
        self.wait_for_ping();
    }

    /// Sends the server the signal `name` (`TERM`, `INT`, …) with `kill(1)`.
    ///
    /// # Panics
    /// If `kill` cannot be run or fails (the process is gone).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -{name} {} failed: {status}", self.pid());
    }

    /// Waits up to `within` for the server process to exit; its status, or `None` if it
    /// is still running then.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        crate::wait::until(within, || self.child.try_wait().ok().flatten())
    }

    /// SIGKILLs the server (a crash) and reaps it; [`TestServer::restart`] starts it
    /// again on the same data directory and address.
    pub fn sigkill(&mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn wait_for_ping(&self) {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("build an HTTP client");
        let url = format!("{}/v1/ping", self.url());
        let mut last = None;
        let answered = crate::wait::until(START_DEADLINE, || {
            let result = client.get(&url).send();
            let ok = matches!(&result, Ok(r) if r.status().is_success());
            last = Some(result);
            ok.then_some(())
        });
        assert!(
            answered.is_some(),
            "the server at {} did not answer GET /v1/ping within {START_DEADLINE:?} (last: {last:?}); it printed:\n{}",
            self.url(),
            self.output()
        );
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Spawns `spacetime start` in `root` and returns it with the address it announced.
fn spawn(
    root: &Path,
    listen_addr: Option<&str>,
    extra_args: &[String],
    key_dir: &Path,
    netns: Option<&str>,
    env: &[(String, String)],
    output: &Arc<Mutex<String>>,
) -> (Child, String) {
    // `ip netns exec` execs the server in place: the child is the server itself.
    let mut command = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(spacetime_bin());
            c
        }
        None => Command::new(spacetime_bin()),
    };
    command
        .arg("--config-path")
        .arg(root.join("server-cli.toml"))
        .arg("start")
        // The root directory too, so no config.toml outside the test is read.
        .arg("--root-dir")
        .arg(root)
        .arg("--data-dir")
        .arg(root.join("data"))
        .arg("--jwt-key-dir")
        .arg(key_dir);
    if let Some(addr) = listen_addr {
        command.arg("--listen-addr").arg(addr);
    }
    command.args(extra_args);
    // Lets tests hold a database's fsyncs with its `hold-fsync` file (see the server's
    // `durability::HOLD_FSYNC_FILE`); without it the server ignores such files.
    command.env("SPACETIME_FAULT_INJECTION", "1");
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn `spacetime start`");
    let (tx, rx) = mpsc::channel();
    forward_lines(
        child.stdout.take().expect("piped stdout"),
        output.clone(),
        Some(tx.clone()),
    );
    forward_lines(child.stderr.take().expect("piped stderr"), output.clone(), Some(tx));
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(addr) => return (child, addr),
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "`spacetime start` exited with {status} before listening; it printed:\n{}",
                        lock(output)
                    );
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "`spacetime start` did not print `{LISTENING}<addr>` within {START_DEADLINE:?}; it printed:\n{}",
                    lock(output)
                );
            }
        }
    }
}

fn lock(output: &Arc<Mutex<String>>) -> String {
    output.lock().map(|o| o.clone()).unwrap_or_default()
}

/// Copies lines from `stream` into `output` on a thread, sending the announced address on
/// `announce` when the listening line appears.
fn forward_lines(
    stream: impl Read + Send + 'static,
    output: Arc<Mutex<String>>,
    announce: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let (Some(tx), Some(addr)) = (&announce, line.split(LISTENING).nth(1)) {
                let _ = tx.send(addr.trim().to_owned());
            }
            if let Ok(mut out) = output.lock() {
                out.push_str(&line);
                out.push('\n');
            }
        }
    });
}
