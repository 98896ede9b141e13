//! The deployment files (issue 16): `packaging/systemd/spacetime.service` passes
//! `systemd-analyze verify` and keeps its hardening and a stop timeout above the
//! shutdown deadline; the `Dockerfile`'s final stage, whose image cannot be built here
//! (no Docker engine), is run as what it describes: its ENTRYPOINT and CMD with its ENV,
//! as a non-root user, on an empty volume directory, answering its HEALTHCHECK and
//! stopping on its STOPSIGNAL with exit 0; `docker-compose.yml` mounts the image's
//! volume and waits longer than the shutdown deadline before killing.

use spacetime_testing::modules::repo_root;
use spacetime_testing::server::spacetime_bin;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `systemd-analyze`, or a panic saying how to get it (never a silent skip).
fn systemd_analyze() -> Command {
    let found = Command::new("systemd-analyze").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "systemd-analyze is missing: run scripts/install-deps.sh (it installs the Debian package systemd)"
    );
    Command::new("systemd-analyze")
}

/// The value of `Key=` in a unit file's text (the last one wins, as in systemd).
fn unit_value<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines()
        .rev()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
}

/// `Environment=NAME=value` of a unit.
fn unit_env<'a>(unit: &'a str, name: &str) -> Option<&'a str> {
    unit.lines()
        .rev()
        .find_map(|l| l.strip_prefix("Environment=")?.strip_prefix(name)?.strip_prefix('='))
}

#[test]
fn the_systemd_unit_verifies_clean_and_is_hardened() {
    let unit = std::fs::read_to_string(repo_root().join("packaging/systemd/spacetime.service"))
        .expect("read packaging/systemd/spacetime.service");
    for (key, value) in [
        ("User", "spacetime"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/spacetime"),
        ("NoNewPrivileges", "true"),
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
        ("ExecStart", "/usr/local/bin/spacetime start"),
    ] {
        assert_eq!(unit_value(&unit, key), Some(value), "{key}= in the unit");
    }
    assert_eq!(unit_env(&unit, "SPACETIME_ROOT_DIR"), Some("/var/lib/spacetime"));
    let deadline: u64 = unit_env(&unit, "SPACETIME_SHUTDOWN_TIMEOUT")
        .and_then(|v| v.parse().ok())
        .expect("the unit sets SPACETIME_SHUTDOWN_TIMEOUT in seconds");
    let stop: u64 = unit_value(&unit, "TimeoutStopSec")
        .and_then(|v| v.parse().ok())
        .expect("TimeoutStopSec in seconds");
    assert!(
        stop > deadline && stop <= deadline + 10,
        "TimeoutStopSec={stop} must be a little above the {deadline} s shutdown deadline"
    );

    // `verify` checks that ExecStart's program exists: point it at this build's binary,
    // changing nothing else.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let copy = dir.path().join("spacetime.service");
    let bin = spacetime_bin().display().to_string();
    std::fs::write(&copy, unit.replace("/usr/local/bin/spacetime", &bin)).expect("write the unit copy");
    let out = systemd_analyze()
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("run systemd-analyze verify");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify:\n{stderr}"
    );

    let out = systemd_analyze()
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&copy)
        .output()
        .expect("run systemd-analyze security");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let exposure: f64 = text
        .split("Overall exposure level for spacetime.service: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    eprintln!("systemd-analyze security: exposure {exposure} (0 best, 10 worst)");
    assert!(exposure < 4.0, "the unit's exposure is {exposure}:\n{text}");
}

/// The final stage of the Dockerfile: what the image runs.
struct Image {
    env: Vec<(String, String)>,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    user: String,
    volume: String,
    healthcheck: String,
    stop_signal: String,
}

fn parse_dockerfile(text: &str) -> Image {
    let last_stage = text.rsplit("\nFROM ").next().expect("a FROM line");
    let mut fields: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in last_stage.lines() {
        if let Some((instruction, rest)) = line.split_once(' ') {
            fields.entry(instruction).or_default().push(rest.trim());
        }
    }
    let one = |name: &str| -> String {
        let values = fields
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in the final stage"));
        values.last().expect("a value").to_string()
    };
    let json = |name: &str| -> Vec<String> {
        serde_json::from_str(&one(name)).unwrap_or_else(|e| panic!("{name} is not in exec (JSON) form: {e}"))
    };
    let env = fields
        .get("ENV")
        .map(|lines| {
            lines
                .iter()
                .map(|l| {
                    let (k, v) = l.split_once('=').expect("ENV KEY=VALUE");
                    (k.to_owned(), v.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let healthcheck = one("HEALTHCHECK");
    let healthcheck = healthcheck
        .split_once(" CMD ")
        .map(|(_, cmd)| cmd.to_owned())
        .expect("HEALTHCHECK ... CMD <shell command>");
    Image {
        env,
        entrypoint: json("ENTRYPOINT"),
        cmd: json("CMD"),
        user: one("USER"),
        volume: one("VOLUME"),
        healthcheck,
        stop_signal: one("STOPSIGNAL"),
    }
}

/// Runs `program` as `uid` when this test runs as root (the image's user is not root),
/// as it is otherwise.
fn as_user(uid: Option<u32>, program: &Path) -> Command {
    match uid {
        Some(uid) => {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={uid}"))
                .arg(format!("--regid={uid}"))
                .arg("--clear-groups")
                .arg("--")
                .arg(program);
            command
        }
        None => Command::new(program),
    }
}

fn current_uid() -> u32 {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a uid")
}

#[test]
fn the_image_entrypoint_runs_as_a_non_root_process_on_an_empty_volume() {
    let image =
        parse_dockerfile(&std::fs::read_to_string(repo_root().join("Dockerfile")).expect("read the Dockerfile"));
    assert_eq!(image.user, "spacetime", "the image runs as its own user");
    assert_eq!(image.stop_signal, "SIGTERM");
    // The container's file system, rooted in a temporary directory: the binary where
    // the image copies it, and the volume, empty.
    let fs = tempfile::tempdir().expect("a temporary directory");
    let under = |path: &str| fs.path().join(path.trim_start_matches('/'));
    let bin = under(&image.entrypoint[0]);
    std::fs::create_dir_all(bin.parent().expect("a directory")).expect("create the bin directory");
    std::fs::copy(spacetime_bin(), &bin).expect("copy the binary");
    let volume = under(&image.volume);
    std::fs::create_dir_all(&volume).expect("create the volume");
    // As root, run as `nobody` (the image's user has a uid of its own; any non-root one
    // shows the same thing): it owns the volume, as in the image.
    let uid = (current_uid() == 0).then_some(65534u32);
    if let Some(uid) = uid {
        let chown = Command::new("chown")
            .arg("-R")
            .arg(format!("{uid}:{uid}"))
            .arg(&volume)
            .status()
            .expect("chown");
        assert!(chown.success());
        let chmod = Command::new("chmod")
            .arg("-R")
            .arg("a+rX")
            .arg(fs.path())
            .status()
            .expect("chmod");
        assert!(chmod.success());
    }
    // The image's environment, its paths moved into `fs`; the port is a free one, so
    // tests can run side by side.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let env: Vec<(String, String)> = image
        .env
        .iter()
        .map(|(k, v)| {
            let v = if v.starts_with('/') {
                under(v).display().to_string()
            } else {
                v.clone()
            };
            let v = if k == "SPACETIME_LISTEN_ADDR" {
                v.replace(":3000", &format!(":{port}"))
            } else {
                v
            };
            (k.clone(), v)
        })
        .collect();
    let path_var = format!("{}:/usr/bin:/bin", bin.parent().expect("a directory").display());
    let stderr_file = fs.path().join("stderr.log");
    let mut command = as_user(uid, &bin);
    command
        .args(&image.entrypoint[1..])
        .args(&image.cmd)
        .current_dir(&volume)
        .env_clear()
        .env("PATH", &path_var)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_file).expect("a stderr file"));
    let mut child = command.spawn().expect("start the image's entrypoint");
    let stderr = || std::fs::read_to_string(&stderr_file).unwrap_or_default();
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("listening on") {
                let _ = tx.send(line);
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        panic!("the entrypoint did not start listening; stderr:\n{}", stderr());
    }
    // The HEALTHCHECK's command, through a shell with the image's environment.
    let health = Command::new("sh")
        .arg("-c")
        .arg(
            image
                .healthcheck
                .replace(&image.entrypoint[0], &bin.display().to_string()),
        )
        .env_clear()
        .env("PATH", &path_var)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run the health check");
    assert!(
        health.status.success(),
        "HEALTHCHECK failed: {}{}",
        String::from_utf8_lossy(&health.stdout),
        String::from_utf8_lossy(&health.stderr)
    );
    // Everything it keeps is in the volume, owned by the non-root user.
    for kept in ["config/id_ecdsa", "data"] {
        let path = volume.join(kept);
        assert!(path.exists(), "{kept} in the volume; stderr:\n{}", stderr());
        if let Some(uid) = uid {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(std::fs::metadata(&path).expect("metadata").uid(), uid, "{kept}");
        }
    }
    let signalled = Instant::now();
    let kill = Command::new("kill")
        .arg(format!("-{}", image.stop_signal.trim_start_matches("SIG")))
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(kill.success());
    let deadline: u64 = env
        .iter()
        .find(|(k, _)| k == "SPACETIME_SHUTDOWN_TIMEOUT")
        .and_then(|(_, v)| v.parse().ok())
        .expect("the image sets SPACETIME_SHUTDOWN_TIMEOUT");
    let exited = spacetime_testing::wait::until(Duration::from_secs(deadline + 5), || child.try_wait().ok().flatten());
    let Some(status) = exited else {
        let _ = child.kill();
        panic!("no exit after {}; stderr:\n{}", image.stop_signal, stderr());
    };
    assert!(status.success(), "{status}; stderr:\n{}", stderr());
    assert!(signalled.elapsed() < Duration::from_secs(deadline));
    // SPACETIME_LOG_FORMAT=json: every log line is a JSON object.
    for line in stderr().lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object()),
            "not a JSON log line: {line}"
        );
    }
}

#[test]
fn the_compose_file_uses_the_images_volume_and_outwaits_the_shutdown_deadline() {
    let root = repo_root();
    let image = parse_dockerfile(&std::fs::read_to_string(root.join("Dockerfile")).expect("read the Dockerfile"));
    let out = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(root.join("docker-compose.yml"))
        .output()
        .expect("run /usr/bin/python3 with python3-yaml (scripts/install-deps.sh installs it)");
    assert!(
        out.status.success(),
        "docker-compose.yml does not parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let compose: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON from python");
    let service = &compose["services"]["spacetime"];
    assert_eq!(service["build"], ".", "built from the Dockerfile");
    let volumes: Vec<&str> = service["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        volumes.iter().any(|v| v.ends_with(&format!(":{}", image.volume))),
        "a volume mounted at {}: {volumes:?}",
        image.volume
    );
    let grace: u64 = service["stop_grace_period"]
        .as_str()
        .and_then(|s| s.strip_suffix('s'))
        .and_then(|s| s.parse().ok())
        .expect("stop_grace_period in seconds");
    let deadline: u64 = service["environment"]["SPACETIME_SHUTDOWN_TIMEOUT"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("SPACETIME_SHUTDOWN_TIMEOUT");
    assert!(
        grace > deadline,
        "stop_grace_period {grace} s must exceed the {deadline} s deadline"
    );
}
