//! A newcomer's first hour, as the README tells it (issue 15): in a scratch `HOME`,
//! `install.sh`, `spacetime version`, `spacetime init`, `spacetime build`, `spacetime
//! publish` with the name from spacetime.json, and the project's own client sending and
//! receiving a message; then `spacetime dev` picking up an edit of the module. Each client
//! template (Rust, Python, TypeScript, C#, and the React page in Chromium) chats through a
//! project of its own.
//!
//! The project's crates build offline, in target directories of their own under
//! `$HOME/.cache/spacetime-target/` (never the outer build's, whose lock the running test
//! holds), so a rerun is quick.

use crate::common::*;
use spacetime_testing::modules::repo_root;
use spacetime_testing::server::{spacetime_bin, TestServer};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// How long building the module or the client from a cold cache may take.
const BUILD_DEADLINE: Duration = Duration::from_secs(900);

/// A scratch `HOME` with Spacetime installed by `install.sh`, and the real Rust toolchain.
struct Newcomer {
    home: tempfile::TempDir,
    real_home: PathBuf,
}

impl Newcomer {
    /// Runs `install.sh --prefix ~/.local --bin <this build's spacetime>` in a fresh HOME.
    fn install() -> Self {
        let real_home = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
        let home = tempfile::Builder::new().prefix("newcomer-").tempdir().unwrap();
        let newcomer = Self { home, real_home };
        let prefix = newcomer.home().join(".local");
        let out = newcomer.run_in(
            &repo_root(),
            Command::new(repo_root().join("install.sh"))
                .arg("--prefix")
                .arg(&prefix)
                .arg("--bin")
                .arg(spacetime_bin()),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("==> installed {}/bin/spacetime", prefix.display())),
            "{stdout}"
        );
        assert!(prefix
            .join("share/spacetime/templates/module-chat/src/lib.rs")
            .is_file());
        assert!(prefix.join("share/spacetime/bindings/Cargo.toml").is_file());
        assert!(prefix.join("share/spacetime/sdks/rust/Cargo.toml").is_file());
        newcomer
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    /// `command` with the newcomer's environment: HOME, PATH with ~/.local/bin first, the
    /// real cargo and rustup homes, offline cargo, and a target directory named `target`.
    fn env(&self, command: &mut Command, target: &str) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.home().join(".local/bin")];
        paths.extend(std::env::split_paths(&path));
        let cargo_home = std::env::var_os("CARGO_HOME").map_or_else(|| self.real_home.join(".cargo"), PathBuf::from);
        let rustup_home = std::env::var_os("RUSTUP_HOME").map_or_else(|| self.real_home.join(".rustup"), PathBuf::from);
        command
            .env("HOME", self.home())
            .env("PATH", std::env::join_paths(paths).unwrap())
            .env("CARGO_HOME", cargo_home)
            .env("RUSTUP_HOME", rustup_home)
            .env("CARGO_NET_OFFLINE", "true")
            .env(
                "CARGO_TARGET_DIR",
                self.real_home.join(".cache/spacetime-target").join(target),
            )
            .env_remove("SPACETIME_SHARE_DIR")
            .env_remove("CARGO");
    }

    /// Runs `command` in `dir` to completion; fails the test, showing its output, if it fails.
    #[track_caller]
    fn run_in(&self, dir: &Path, command: &mut Command) -> Output {
        self.env(command, "newcomer-module");
        let out = command.current_dir(dir).output().expect("run the command");
        assert!(
            out.status.success(),
            "{command:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `spacetime <args>` in `dir`.
    #[track_caller]
    fn spacetime(&self, dir: &Path, args: &[&str]) -> Output {
        self.run_in(dir, Command::new("spacetime").args(args))
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The newcomer's server: ours, saved as their default server.
fn connect(newcomer: &Newcomer, server: &TestServer) {
    let home = newcomer.home().to_path_buf();
    newcomer.spacetime(&home, &["server", "add", "--url", &server.url(), "test", "--default"]);
}

/// A newcomer's project on a fresh server of their own: installed, connected, `init` run
/// (`--lang rust`, plus `--client <client>` if given) and published by the name in its
/// spacetime.json.
struct Project {
    newcomer: Newcomer,
    server: TestServer,
    home: PathBuf,
    dir: PathBuf,
}

impl Project {
    /// Installs, starts a server, runs `spacetime init <name> <extra>…` and publishes it.
    fn published(name: &str, extra: &[&str]) -> Self {
        let newcomer = Newcomer::install();
        let home = newcomer.home().to_path_buf();
        let server = TestServer::start();
        connect(&newcomer, &server);
        let mut init = vec!["init", name, "--lang", "rust", "--non-interactive"];
        init.extend_from_slice(extra);
        newcomer.spacetime(&home, &init);
        let dir = home.join(name);
        publish_by_project_name(&newcomer, &dir, name);
        Self {
            newcomer,
            server,
            home,
            dir,
        }
    }
}

/// `spacetime publish` in `project`, which must create the database `name` (from the
/// project's spacetime.json).
fn publish_by_project_name(newcomer: &Newcomer, project: &Path, name: &str) {
    let publish = stdout(&newcomer.spacetime(project, &["publish"]));
    assert!(
        publish.contains(&format!("Created new database with name: {name}, identity: ")),
        "{publish}"
    );
}

/// Fails unless `spacetime generate` in `project` (its spacetime.json's target) rewrites the
/// bindings the `template` shipped in `shipped` exactly as they were: the template's
/// bindings are what generate makes of the template's module.
fn assert_shipped_bindings_current(newcomer: &Newcomer, project: &Path, shipped: &Path, template: &str) {
    let before: Vec<(PathBuf, String)> = files_in(shipped)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read_to_string(&f).unwrap()))
        .collect();
    assert!(!before.is_empty(), "{template} ships no bindings");
    newcomer.spacetime(project, &["generate"]);
    for (file, text) in &before {
        assert_eq!(
            &std::fs::read_to_string(file).unwrap(),
            text,
            "templates/{template}: {} is out of date; regenerate it from templates/module-chat",
            file.strip_prefix(shipped).unwrap().display()
        );
    }
    assert_eq!(
        files_in(shipped).len(),
        before.len(),
        "generate added or removed binding files"
    );
}

/// Bob listens; Alice names herself and says `text`; Bob sees it from Alice. Each is a
/// client made by `command` (the program and its first arguments), run in `dir` with
/// `--host <server>` and the newcomer's HOME.
fn alice_tells_bob(newcomer: &Newcomer, server: &TestServer, dir: &Path, command: impl Fn() -> Command, text: &str) {
    let client = |label: &str| {
        let mut client = command();
        client
            .args(["--host", &server.url()])
            .current_dir(dir)
            .env("HOME", newcomer.home());
        ClientProcess::start(client).with_label(label)
    };
    let bob = client("bob");
    bob.expect("Ready: type a message");
    let mut alice = client("alice");
    alice.expect("Ready: type a message");
    alice.send("/name Alice");
    alice.send(text);
    alice.finish();
    bob.expect(&format!("Alice: {text}"));
}

#[test]
fn install_init_build_publish_and_chat() {
    let newcomer = Newcomer::install();
    let home = newcomer.home().to_path_buf();
    let version = stdout(&newcomer.spacetime(&home, &["version"]));
    assert!(
        version.contains(&format!("Path: {}", home.join(".local/bin/spacetime").display())),
        "{version}"
    );
    assert!(version.contains("Commit: "), "{version}");

    let server = TestServer::start();
    connect(&newcomer, &server);
    let init = stdout(&newcomer.spacetime(&home, &["init", "my-chat", "--lang", "rust", "--non-interactive"]));
    assert!(init.contains("Created the project `my-chat` in my-chat"), "{init}");
    let project = home.join("my-chat");
    for file in [
        "spacetime.json",
        "README.md",
        "spacetimedb/src/lib.rs",
        "client/src/main.rs",
    ] {
        assert!(project.join(file).is_file(), "init wrote no {file}");
    }

    let build = stdout(&newcomer.spacetime(&project, &["build"]));
    let wasm = build
        .lines()
        .find_map(|l| l.strip_prefix("Build finished successfully: "))
        .unwrap_or_else(|| panic!("build printed no path: {build}"))
        .to_owned();
    assert!(wasm.ends_with("my_chat_module.wasm"), "{wasm}");
    assert_shipped_bindings_current(
        &newcomer,
        &project,
        &project.join("client/src/module_bindings"),
        "client-rust",
    );

    publish_by_project_name(&newcomer, &project, "my-chat");

    let client_dir = project.join("client");
    let mut build_client = Command::new("cargo");
    build_client.arg("build");
    newcomer.env(&mut build_client, "newcomer-client");
    let built = build_client.current_dir(&client_dir).output().expect("run cargo build");
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let client_bin = newcomer
        .real_home
        .join(".cache/spacetime-target/newcomer-client/debug/my-chat-client");
    let client = || Command::new(&client_bin);
    alice_tells_bob(&newcomer, &server, &client_dir, client, "Hello from Alice");
    let rows = stdout(&newcomer.spacetime(&project, &["sql", "SELECT text FROM message"]));
    assert!(rows.contains("\"Hello from Alice\""), "{rows}");
}

#[test]
fn dev_republishes_and_regenerates_after_an_edit() {
    let newcomer = Newcomer::install();
    let home = newcomer.home().to_path_buf();
    let server = TestServer::start();
    connect(&newcomer, &server);
    newcomer.spacetime(&home, &["init", "dev-chat", "--non-interactive", "--lang", "rust"]);
    let project = home.join("dev-chat");

    let mut command = Command::new("spacetime");
    command.arg("dev");
    newcomer.env(&mut command, "newcomer-module");
    command.current_dir(&project);
    let mut dev = ClientProcess::start(command)
        .with_deadline(BUILD_DEADLINE)
        .with_label("spacetime dev");
    dev.expect("Created new database with name: dev-chat");

    let lib = project.join("spacetimedb/src/lib.rs");
    let mut source = std::fs::read_to_string(&lib).unwrap();
    source.push_str(
        "\n/// A note, added while `spacetime dev` runs.\n#[table(accessor = note, public)]\npub struct Note {\n    \
         text: String,\n}\n",
    );
    std::fs::write(&lib, source).unwrap();

    let note_bindings = project.join("client/src/module_bindings/note_table.rs");
    poll(
        "the note table to be published and its bindings generated",
        BUILD_DEADLINE,
        || {
            let mut sql = Command::new("spacetime");
            sql.args(["sql", "SELECT * FROM note"]);
            newcomer.env(&mut sql, "newcomer-module");
            let ok = sql.current_dir(&project).output().ok()?.status.success();
            (ok && note_bindings.is_file()).then_some(())
        },
        || dev.output(),
    );
    assert!(dev.is_running(), "{}", dev.output());

    let interrupted = Command::new("kill")
        .args(["-INT", &dev.id().to_string()])
        .status()
        .expect("run kill");
    assert!(interrupted.success());
    dev.finish();
    assert!(dev.output().contains("Stopped."), "{}", dev.output());
}

#[test]
fn typescript_sdk_installs_from_the_share_directory() {
    let newcomer = Newcomer::install();
    let sdk = newcomer.home().join(".local/share/spacetime/sdks/typescript");
    assert!(
        sdk.join("dist/index.js").is_file() && sdk.join("node_modules/ws/package.json").is_file(),
        "install.sh ships the TypeScript SDK built, with `ws` (needs `npm ci` at the repository root first: \
         scripts/install-deps.sh)"
    );
    let app = newcomer.home().join("ts-app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("package.json"),
        r#"{ "name": "ts-app", "private": true, "type": "module" }"#,
    )
    .unwrap();
    let mut npm = Command::new("npm");
    npm.args(["install", "--offline", "--no-audit", "--no-fund"]).arg(&sdk);
    newcomer.run_in(&app, &mut npm);
    std::fs::write(
        app.join("main.ts"),
        "import { Identity } from 'spacetime-sdk';\n\
         const id = Identity.fromHexString('c200' + '00'.repeat(30));\n\
         console.log(`spacetime-sdk loaded: ${id.toHexString().length} hex digits`);\n",
    )
    .unwrap();
    std::fs::write(
        app.join("tsconfig.json"),
        r#"{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "target": "es2022",
             "strict": true, "outDir": "out", "types": [] } }"#,
    )
    .unwrap();
    let tsc = repo_root().join("node_modules/typescript/bin/tsc");
    newcomer.run_in(&app, Command::new("node").arg(&tsc).args(["-p", "."]));
    let run = newcomer.run_in(&app, Command::new("node").arg("out/main.js"));
    assert_eq!(stdout(&run), "spacetime-sdk loaded: 64 hex digits\n");
}

#[test]
fn python_client_template_chats() {
    let Project {
        newcomer,
        server,
        home,
        dir: project,
    } = Project::published("py-chat", &["--client", "python"]);
    assert!(project.join("client/main.py").is_file());

    let shipped = project.join("client/module_bindings");
    assert_shipped_bindings_current(&newcomer, &project, &shipped, "client-python");

    // As the template says: `pip install ~/.local/share/spacetime/sdks/python`, here into
    // a fresh virtual environment, offline (its one dependency from the wheelhouse that
    // scripts/install-deps.sh fills).
    let venv = home.join("chat-venv");
    let base_python = crate::toolchains::venv_python();
    newcomer.run_in(&home, Command::new(&base_python).args(["-m", "venv"]).arg(&venv));
    let wheelhouse = base_python.parent().and_then(Path::parent).unwrap().join("wheelhouse");
    assert!(
        wheelhouse.join(".complete").exists(),
        "no wheelhouse at {}: run scripts/install-deps.sh",
        wheelhouse.display()
    );
    let sdk = home.join(".local/share/spacetime/sdks/python");
    newcomer.run_in(
        &home,
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "--no-index"])
            .arg("--find-links")
            .arg(&wheelhouse)
            .arg(&sdk),
    );
    let python = venv.join("bin/python");
    let client = || {
        let mut command = Command::new(&python);
        command.arg("main.py").env_remove("PYTHONPATH");
        command
    };
    alice_tells_bob(&newcomer, &server, &project.join("client"), client, "Hello from Python");
    let installed = newcomer.run_in(
        &home,
        Command::new(&python)
            .args(["-c", "import spacetime_sdk; print(spacetime_sdk.__file__)"])
            .env_remove("PYTHONPATH"),
    );
    assert!(
        stdout(&installed).starts_with(&venv.display().to_string()),
        "the clients used the SDK pip installed into the fresh environment: {}",
        stdout(&installed)
    );
}

#[test]
fn typescript_client_template_chats() {
    let Project {
        newcomer,
        server,
        home,
        dir: project,
    } = Project::published("ts-chat", &["--client", "typescript"]);
    let client_dir = project.join("client");

    let shipped = client_dir.join("src/module_bindings");
    assert_shipped_bindings_current(&newcomer, &project, &shipped, "client-typescript");

    // This machine has no registry: TypeScript and @types/node come from the repository's
    // npm workspace instead of the template's devDependencies; the SDK is the share copy
    // the template's package.json names.
    let manifest = client_dir.join("package.json");
    let mut package: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let sdk = package["dependencies"]["spacetime-sdk"].as_str().unwrap().to_owned();
    assert_eq!(
        sdk,
        format!(
            "file:{}/.local/share/spacetime/sdks/typescript",
            home.canonicalize().unwrap().display()
        )
    );
    package.as_object_mut().unwrap().remove("devDependencies");
    std::fs::write(&manifest, package.to_string()).unwrap();
    let mut npm = Command::new("npm");
    npm.args(["install", "--offline", "--no-audit", "--no-fund"]);
    newcomer.run_in(&client_dir, &mut npm);
    let tsc = repo_root().join("node_modules/typescript/bin/tsc");
    let types = repo_root().join("node_modules/@types");
    newcomer.run_in(
        &client_dir,
        Command::new("node")
            .arg(&tsc)
            .args(["-p", "tsconfig.json", "--typeRoots"])
            .arg(&types),
    );

    let client = || {
        let mut command = Command::new("node");
        command.arg("dist/main.js");
        command
    };
    alice_tells_bob(&newcomer, &server, &client_dir, client, "Hello from TypeScript");
}

#[test]
fn csharp_client_template_chats() {
    let Project {
        newcomer,
        server,
        home,
        dir: project,
    } = Project::published("cs-chat", &["--client", "csharp"]);
    let client_dir = project.join("client");
    let share = home.join(".local/share/spacetime").canonicalize().unwrap();
    let csproj = std::fs::read_to_string(client_dir.join("client.csproj")).unwrap();
    let reference = format!("{}/sdks/csharp/SpacetimeDB.ClientSDK.csproj", share.display());
    assert!(csproj.contains(&reference), "{csproj}");

    let shipped = client_dir.join("module_bindings");
    assert_shipped_bindings_current(&newcomer, &project, &shipped, "client-csharp");

    // Mono here (no .NET SDK): the SDK DLL from the share copy, then the client against it.
    let dll = client_dir.join("SpacetimeDB.ClientSDK.dll");
    const MCS_FLAGS: [&str; 3] = [
        "-warnaserror+",
        "-r:System.Numerics.dll",
        "-r:System.IO.Compression.dll",
    ];
    let mut sdk = Command::new("mcs");
    sdk.args(MCS_FLAGS)
        .arg("-target:library")
        .arg(format!("-out:{}", dll.display()))
        .args(crate::toolchains::cs_files(&share.join("sdks/csharp/src")));
    newcomer.run_in(&client_dir, &mut sdk);
    let exe = client_dir.join("client.exe");
    let mut program = Command::new("mcs");
    program
        .args(MCS_FLAGS)
        .arg(format!("-r:{}", dll.display()))
        .arg(format!("-out:{}", exe.display()))
        .arg("Program.cs")
        .args(crate::toolchains::cs_files(&shipped));
    newcomer.run_in(&client_dir, &mut program);

    let client = || {
        let mut command = Command::new("mono");
        command.arg(&exe);
        command
    };
    alice_tells_bob(&newcomer, &server, &client_dir, client, "Hello from C#");
}

#[test]
fn basic_template_publishes_and_runs() {
    let newcomer = Newcomer::install();
    let home = newcomer.home().to_path_buf();
    let server = TestServer::start();
    connect(&newcomer, &server);
    let init = stdout(&newcomer.spacetime(
        &home,
        &["init", "hello-db", "-t", "basic", "--non-interactive", "--lang", "rust"],
    ));
    assert!(
        init.contains("spacetime call add Alice && spacetime call say_hello && spacetime logs"),
        "{init}"
    );
    let project = home.join("hello-db");
    assert!(!project.join("client").exists(), "the basic template has no client");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("spacetime.json")).unwrap()).unwrap();
    assert_eq!(
        manifest,
        serde_json::json!({ "database": "hello-db", "module-path": "spacetimedb" })
    );

    publish_by_project_name(&newcomer, &project, "hello-db");
    newcomer.spacetime(&project, &["call", "add", "Alice"]);
    newcomer.spacetime(&project, &["call", "say_hello"]);
    let logs = stdout(&newcomer.spacetime(&project, &["logs"]));
    assert!(
        logs.contains("Hello, Alice!") && logs.contains("Hello, World!"),
        "{logs}"
    );

    // A second init into the same directory is refused, naming it.
    let mut again = Command::new("spacetime");
    again.args(["init", "hello-db", "--non-interactive", "--lang", "rust"]);
    newcomer.env(&mut again, "newcomer-module");
    let refused = again.current_dir(&home).output().unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(
            "Error: hello-db already exists and is not empty: choose another name, or --project-path <empty dir>"
        ),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[test]
fn react_client_template_builds_and_chats_in_a_browser() {
    let Project {
        newcomer,
        server,
        home: _,
        dir: project,
    } = Project::published("react-chat", &["--client", "react"]);
    let client_dir = project.join("client");
    for file in [
        "package.json",
        "index.html",
        "vite.config.ts",
        "src/main.tsx",
        "src/App.tsx",
    ] {
        assert!(client_dir.join(file).is_file(), "init wrote no client/{file}");
    }
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    assert!(readme.contains("cd client && npm install && npm run dev"), "{readme}");
    let shipped = client_dir.join("src/module_bindings");
    assert_shipped_bindings_current(&newcomer, &project, &shipped, "client-react");

    // No registry here: the repository's npm workspace (react, react-dom and their types,
    // vite, the SDK) stands in for the `npm install` the README says.
    crate::toolchains::build_typescript_sdk();
    std::os::unix::fs::symlink(repo_root().join("node_modules"), client_dir.join("node_modules")).unwrap();
    let tools = repo_root().join("node_modules");
    newcomer.run_in(
        &client_dir,
        Command::new("node")
            .arg(tools.join("typescript/bin/tsc"))
            .args(["-p", "tsconfig.json"]),
    );
    newcomer.run_in(
        &client_dir,
        Command::new("node")
            .arg(tools.join("vite/bin/vite.js"))
            .args(["build", "--logLevel", "warn"]),
    );

    // The built page in Chromium, driven by the web example's script (same ids, same chat).
    let site = crate::browser_chat::serve_static(client_dir.join("dist"));
    let out = tempfile::tempdir().unwrap();
    let script = repo_root().join("examples/quickstart-chat/client-web/tests/browser-chat.mjs");
    let mut driver = Command::new("node");
    driver
        .arg(script)
        .arg(format!("{site}/?host={}&db=react-chat", server.url()))
        .arg(out.path());
    let mut driver = ClientProcess::start(driver).with_deadline(Duration::from_secs(180));
    driver.finish();
    for step in [
        "an empty name is refused",
        "bob sees \"alice: hello from alice\"",
        "alice sees \"bob: hi alice, bob here\"",
        "browser chat: ok",
    ] {
        driver.assert_printed(step);
    }
    let rows = stdout(&newcomer.spacetime(&project, &["sql", "SELECT text FROM message"]));
    assert!(rows.contains("\"hello from alice\""), "{rows}");
    let png = std::fs::read(out.path().join("chat.png")).expect("the screenshot was saved");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "chat.png is a PNG with content"
    );
    if std::env::var_os("SPACETIME_KEEP_SCREENSHOT").is_some() {
        eprintln!("screenshot kept at {}", out.keep().join("chat.png").display());
    }
}
