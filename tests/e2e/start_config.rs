//! `spacetime start`'s configuration through the real binary (issue 16): flags, then
//! environment variables, then `config.toml` in the root directory, then defaults, as
//! `--print-config` reports them; a bad value from each source fails naming the setting,
//! its source and the accepted values; and a server configured only by environment
//! variables and `config.toml` (upstream's `spacetime --root-dir=<dir> start` form, as
//! its systemd unit runs it) listens where told, writes JSON log lines and keeps its
//! data and keys where told.

use spacetime_testing::server::spacetime_bin;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// `spacetime start` with only `env` in its environment (plus a HOME inside `root`),
/// the root directory `root` and `args`.
fn start_command(root: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new(spacetime_bin());
    command
        .env_clear()
        .env("HOME", root.join("home"))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .arg("--root-dir")
        .arg(root)
        .arg("start")
        .args(args);
    command
}

fn run(root: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    start_command(root, env, args)
        .stdin(Stdio::null())
        .output()
        .expect("run spacetime start")
}

/// The `--print-config` line of `key`: its value and its source comment.
fn line_of<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} line in:\n{text}"))
}

#[test]
fn print_config_shows_each_value_and_where_it_came_from() {
    let root = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        root.path().join("config.toml"),
        "listen-addr = \"127.0.0.1:4001\"\nsnapshot-every = 11\nmetrics = false\n[logs]\nformat = \"json\"\n",
    )
    .expect("write config.toml");
    let env = [
        ("SPACETIME_LISTEN_ADDR", "127.0.0.1:4002"),
        ("SPACETIME_SNAPSHOT_EVERY", "22"),
        ("SPACETIME_ALLOW_PRIVATE_HTTP", "true"),
    ];
    let out = run(
        root.path(),
        &env,
        &["--print-config", "--listen-addr", "127.0.0.1:4003"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let config = root.path().join("config.toml").display().to_string();
    // The flag beats the environment, which beats the file, which beats the default.
    assert!(line_of(&text, "listen-addr").contains("\"127.0.0.1:4003\""), "{text}");
    assert!(
        line_of(&text, "listen-addr").ends_with("# flag --listen-addr"),
        "{text}"
    );
    assert!(line_of(&text, "snapshot-every").contains("= 22 "), "{text}");
    assert!(
        line_of(&text, "snapshot-every").ends_with("# environment variable SPACETIME_SNAPSHOT_EVERY"),
        "{text}"
    );
    assert!(line_of(&text, "metrics").contains("\"off\""), "{text}");
    assert!(
        line_of(&text, "metrics").ends_with(&format!("# {config} key metrics")),
        "{text}"
    );
    assert!(line_of(&text, "logs.format").contains("\"json\""), "{text}");
    assert!(line_of(&text, "allow-private-http").contains("= true "), "{text}");
    assert!(line_of(&text, "shutdown-timeout").ends_with("# default"), "{text}");
    assert!(line_of(&text, "in-memory").contains("= false "), "{text}");
    // Upstream's --root-dir layout: data/ and the keys in config/.
    let data = root.path().join("data").display().to_string();
    assert!(line_of(&text, "data-dir").contains(&data), "{text}");
    assert!(line_of(&text, "jwt-key-dir").contains(&root.path().join("config").display().to_string()));
    assert!(text.starts_with("# spacetime start: effective settings"), "{text}");
    assert!(text.contains(&format!("config file {config} (read)")), "{text}");
    // Printing starts nothing.
    assert!(
        !root.path().join("data").exists(),
        "--print-config created the data directory"
    );
}

#[test]
fn a_bad_value_names_the_setting_its_source_and_what_is_accepted() {
    let root = tempfile::tempdir().expect("a temporary directory");
    /// Environment, flags, config.toml text, and what the error must name.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], Option<&'a str>, [&'a str; 3]);
    let cases: [Case; 4] = [
        (
            &[("SPACETIME_LISTEN_ADDR", "nowhere")],
            &[],
            None,
            ["listen-addr", "environment variable SPACETIME_LISTEN_ADDR", "host:port"],
        ),
        (
            &[],
            &["--log-format", "xml"],
            None,
            ["logs.format", "flag --log-format", "text or json"],
        ),
        (&[], &[], Some("pg-port = 0\n"), ["pg-port", "key pg-port", "1-65535"]),
        (
            &[],
            &[],
            Some("snapshot-evry = 5\n"),
            ["unknown setting `snapshot-evry`", "config.toml", "snapshot-every"],
        ),
    ];
    for (env, args, file, needles) in cases {
        let config = root.path().join("config.toml");
        match file {
            Some(text) => std::fs::write(&config, text).expect("write config.toml"),
            None => {
                let _ = std::fs::remove_file(&config);
            }
        }
        let out = run(root.path(), env, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{env:?} {args:?} {file:?}: {stderr}");
        assert!(stderr.starts_with("Error: "), "{stderr}");
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{env:?} {args:?} {file:?}: no {needle:?} in {stderr}"
            );
        }
    }
}

#[test]
fn a_server_configured_by_environment_and_config_toml_alone() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    std::fs::write(
        root.path().join("config.toml"),
        format!("listen-addr = \"127.0.0.1:{port}\"\n[logs]\nlevel = \"debug\"\n"),
    )
    .expect("write config.toml");
    let data = root.path().join("elsewhere");
    let stderr_file = root.path().join("stderr.log");
    let mut child = start_command(
        root.path(),
        &[
            ("SPACETIME_LOG_FORMAT", "json"),
            ("SPACETIME_DATA_DIR", &data.display().to_string()),
        ],
        &[],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(std::fs::File::create(&stderr_file).expect("a stderr file"))
    .spawn()
    .expect("spawn spacetime start");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    let announced = rx.recv_timeout(Duration::from_secs(60));
    let stderr = || std::fs::read_to_string(&stderr_file).unwrap_or_default();
    let Ok(addr) = announced else {
        let _ = child.kill();
        panic!("the server did not announce its address; stderr:\n{}", stderr());
    };
    assert_eq!(addr, format!("127.0.0.1:{port}"));
    let ping = reqwest::blocking::get(format!("http://{addr}/v1/ping")).expect("ping");
    assert!(ping.status().is_success());
    assert!(
        data.join("control-db").is_dir() || data.is_dir(),
        "data in SPACETIME_DATA_DIR"
    );
    assert!(
        root.path().join("config").join("id_ecdsa").is_file(),
        "keys in <root>/config"
    );
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
    let exited = spacetime_testing::wait::until(Duration::from_secs(15), || child.try_wait().ok().flatten());
    let Some(exited) = exited else {
        let _ = child.kill();
        panic!("no exit 15 s after SIGTERM; stderr:\n{}", stderr());
    };
    assert!(exited.success(), "{exited}: {}", stderr());
    let log = stderr();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no log lines at level debug");
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(value.get("level").is_some() && value.get("fields").is_some(), "{line}");
    }
    assert!(
        log.contains("SIGTERM received"),
        "the shutdown is logged through the same JSON stack: {log}"
    );
}
