//! Runs the real `spacetime` CLI against a test server, each [`Cli`] with its own
//! `--config-path`, as upstream's smoketests do.
//!
//! Every verb gets `--server <url>`. Helpers cover what tests do most: [`Cli::publish`]
//! (scraping `identity: <hex>` from the output), [`Cli::call`], [`Cli::sql`],
//! [`Cli::logs`] (the `message` of each NDJSON record) and [`Cli::new_identity`]. Every
//! run has a deadline, so a hung CLI fails the test instead of hanging it.

use crate::server::{spacetime_bin, TestServer};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// How long one CLI run may take (publishing compiles a module on the server).
const RUN_DEADLINE: Duration = Duration::from_secs(180);

/// What a CLI run printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The exit status.
    pub status: ExitStatus,
}

impl Output {
    /// Whether the CLI exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// `self`, after checking that the run succeeded.
    ///
    /// # Panics
    /// If it failed, showing the command and both streams.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(
            self.success(),
            "`{}` failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.command,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// `self`, after checking that the run failed.
    ///
    /// # Panics
    /// If it succeeded.
    #[track_caller]
    pub fn err(self) -> Self {
        assert!(
            !self.success(),
            "`{}` succeeded but should have failed:\nstdout:\n{}\nstderr:\n{}",
            self.command,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Standard output with trailing spaces trimmed from every line and surrounding blank
    /// lines removed, as upstream's `assert_sql` compares.
    pub fn trimmed_stdout(&self) -> String {
        self.stdout
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
            .trim_matches('\n')
            .to_owned()
    }
}

/// A CLI user: its own configuration file (so its own identity) and a server URL.
pub struct Cli {
    dir: tempfile::TempDir,
    server_url: String,
}

impl Cli {
    /// A user with an empty configuration, talking to `server`.
    pub fn new(server: &TestServer) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("spacetime-cli-")
            .tempdir()
            .expect("create a temporary directory");
        Self {
            dir,
            server_url: server.url(),
        }
    }

    /// The configuration file this user's runs use.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("cli.toml")
    }

    /// The server URL passed as `--server`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// Points this user at another URL (e.g. after a restart on a new port).
    pub fn set_server_url(&mut self, url: String) {
        self.server_url = url;
    }

    /// Runs `spacetime --config-path <cfg> <verb> --server <url> <rest…>` with stdin closed.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None)
    }

    /// Like [`Cli::run`], writing `stdin` to the process's standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_full(args, stdin, &[])
    }

    /// Like [`Cli::run`], with extra environment variables for the process.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &OsStr)]) -> Output {
        self.run_full(args, None, env)
    }

    fn run_full(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &OsStr)]) -> Output {
        let mut command = Command::new(spacetime_bin());
        command.envs(env.iter().copied());
        command.arg("--config-path").arg(self.config_path());
        if let Some((verb, rest)) = args.split_first() {
            command.arg(verb).arg("--server").arg(&self.server_url).args(rest);
        }
        command.current_dir(self.dir.path());
        let text = format!("spacetime {}", args.join(" "));
        run_command(command, text, stdin)
    }

    /// `publish --yes --bin-path <wasm> [name]`: the database identity it printed.
    ///
    /// # Panics
    /// If publishing fails or prints no identity.
    #[track_caller]
    pub fn publish(&self, wasm: &Path, name: Option<&str>) -> String {
        let output = self.publish_output(wasm, name, &[]).ok();
        identity_in(&output.stdout)
            .unwrap_or_else(|| panic!("publish printed no `identity: <hex>`:\n{}", output.stdout))
    }

    /// `publish --yes --bin-path <wasm> [extra…] [name]`, whatever its outcome.
    pub fn publish_output(&self, wasm: &Path, name: Option<&str>, extra: &[&str]) -> Output {
        let wasm = wasm.to_str().expect("module paths are UTF-8");
        let mut args = vec!["publish", "--yes", "--bin-path", wasm];
        args.extend_from_slice(extra);
        if let Some(name) = name {
            // After `--`, so that even a name like `-x` reaches the CLI's own validation.
            args.extend(["--", name]);
        }
        self.run(&args)
    }

    /// `call <db> <reducer> <args…>`, whatever its outcome.
    pub fn call(&self, db: &str, reducer: &str, args: &[&str]) -> Output {
        let mut all = vec!["call", "--", db, reducer];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// `sql <db> <query>`, whatever its outcome.
    pub fn sql(&self, db: &str, query: &str) -> Output {
        self.run(&["sql", db, query])
    }

    /// `logs --format=json -n <n> <db>`: the `message` of each record.
    ///
    /// # Panics
    /// If the command fails or prints a line that is not a JSON record.
    #[track_caller]
    pub fn logs(&self, db: &str, n: u32) -> Vec<String> {
        let n = n.to_string();
        let output = self.run(&["logs", "--format=json", "-n", &n, db]).ok();
        output
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let record: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
                record["message"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    }

    /// Forgets the current identity and gets a new one from the server
    /// (`logout`, then `login --server-issued-login <url>`).
    ///
    /// # Panics
    /// If either command fails.
    #[track_caller]
    pub fn new_identity(&self) {
        self.run(&["logout"]).ok();
        self.run(&["login", "--server-issued-login", &self.server_url]).ok();
    }

    /// The saved token, if logged in.
    pub fn token(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.config_path()).ok()?;
        let table: toml::Table = text.parse().ok()?;
        table.get("spacetimedb_token")?.as_str().map(str::to_owned)
    }
}

/// The hex after `identity: ` in publish output.
pub fn identity_in(text: &str) -> Option<String> {
    let start = text.find("identity: ")? + "identity: ".len();
    let hex: String = text[start..].chars().take_while(char::is_ascii_hexdigit).collect();
    (!hex.is_empty()).then_some(hex)
}

/// Runs `command` to completion with a deadline, capturing both streams.
fn run_command(mut command: Command, text: String, stdin: Option<&str>) -> Output {
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot run `{text}`: {e}"));
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // The CLI may exit without reading; a broken pipe then is not the test's concern.
        let _ = pipe.write_all(input.as_bytes());
    }
    let stdout = read_in_background(child.stdout.take().expect("piped stdout"));
    let stderr = read_in_background(child.stderr.take().expect("piped stderr"));
    let Some(status) = crate::wait::until(RUN_DEADLINE, || child.try_wait().expect("wait for the CLI")) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("`{text}` did not finish within {RUN_DEADLINE:?}");
    };
    Output {
        command: text,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        status,
    }
}

fn read_in_background(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::identity_in;

    #[test]
    fn scrapes_identity() {
        let hex = "c200".to_owned() + &"0a".repeat(30);
        let out = format!("Created new database with name: x, identity: {hex}\n");
        assert_eq!(identity_in(&out), Some(hex));
        assert_eq!(identity_in("nothing here"), None);
    }
}
