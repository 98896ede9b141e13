//! The language toolchains the client tests build and run with: nested `cargo` builds of
//! native Rust clients, the npm workspace's tools and the TypeScript SDK build, Mono's
//! `mcs` for the C# SDK and programs, and the Python venv with `spacetime_sdk`. Each
//! helper fails the test with the tool's own output and, where a tool is missing, names
//! the script that installs it (`scripts/install-deps.sh`).

use crate::common::{files_in, ClientProcess};
use spacetime_testing::modules::repo_root;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Fails the test with `what`, the exit status and both output streams, unless `output`
/// says the tool succeeded.
#[track_caller]
fn assert_tool_succeeded(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Builds the native binary `bin` of the cargo workspace `workspace` (relative to the
/// repository root; `package` picks one member) in a target dir of its own under the
/// shared cache, so the nested cargo never waits on the outer build's lock, and returns it.
///
/// # Panics
/// With cargo's output, if the build fails.
pub fn cargo_build(workspace: &str, package: Option<&str>, bin: &str) -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir_name = Path::new(workspace)
        .file_name()
        .expect("a workspace directory")
        .to_string_lossy();
    let target = home.join(".cache/spacetime-target").join(format!("native-{dir_name}"));
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.arg("build");
    if let Some(package) = package {
        command.args(["-p", package]);
    }
    let output = command
        .current_dir(repo_root().join(workspace))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("run cargo");
    assert_tool_succeeded(&output, &format!("building {bin} in {workspace}"));
    target.join("debug").join(bin)
}

/// Runs a tool from the npm workspace's `node_modules/.bin` in `dir`.
///
/// # Panics
/// With the fix if the tool is not installed, and with its output if it fails.
pub fn npm_tool(tool: &str, args: &[&str], dir: &Path) {
    let bin = repo_root().join("node_modules/.bin").join(tool);
    assert!(
        bin.exists(),
        "{} is missing: run scripts/install-deps.sh (npm ci at the repository root)",
        bin.display()
    );
    let output = Command::new(&bin)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run an npm tool");
    assert_tool_succeeded(&output, &format!("{tool} {args:?} in {}", dir.display()));
}

/// Compiles the TypeScript SDK (`sdks/typescript/dist`), which the examples and e2e
/// scripts import. Once per test process: tests run in parallel, and a second `tsc`
/// rewriting `dist/` while another test's client imports it could hand that client
/// half-written files.
pub fn build_typescript_sdk() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| npm_tool("tsc", &["-p", "tsconfig.json"], &repo_root().join("sdks/typescript")));
}

/// Runs `mcs` with warnings as errors and the assemblies the SDK uses.
///
/// # Panics
/// With the fix if Mono is missing, and with the compiler's output if `what` does not compile.
fn mcs(args: &[String], what: &str) {
    let output = Command::new("mcs")
        .args([
            "-warnaserror+",
            "-r:System.Numerics.dll",
            "-r:System.IO.Compression.dll",
        ])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run mcs ({e}): install Mono with scripts/install-deps.sh"));
    assert_tool_succeeded(&output, &format!("compiling {what}"));
}

/// The `.cs` files under `dir` (recursively), sorted, as `mcs` arguments.
pub fn cs_files(dir: &Path) -> Vec<String> {
    files_in(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cs"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// Compiles a C# program from `sources` into `out/<name>.exe` next to a fresh build of
/// the SDK (`out/SpacetimeDB.ClientSDK.dll`), and returns the executable (run it on `mono`).
///
/// # Panics
/// With the compiler's output, if the SDK or the program does not compile.
pub fn build_csharp_program(out: &Path, name: &str, sources: Vec<String>) -> PathBuf {
    let sdk = out.join("SpacetimeDB.ClientSDK.dll");
    let mut args = vec!["-target:library".to_owned(), format!("-out:{}", sdk.display())];
    args.extend(cs_files(&repo_root().join("sdks/csharp/src")));
    mcs(&args, "the C# SDK");
    let exe = out.join(format!("{name}.exe"));
    let mut args = vec![format!("-r:{}", sdk.display()), format!("-out:{}", exe.display())];
    args.extend(sources);
    mcs(&args, name);
    exe
}

/// The venv's Python (`$SPACETIME_VENV`, default `~/.cache/spacetime-venv`), with
/// `spacetime_sdk` installed.
///
/// # Panics
/// With the fix, if the venv is missing.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("SPACETIME_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            home.join(".cache/spacetime-venv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no Python venv at {}: run scripts/install-deps.sh",
        venv.display()
    );
    python
}

/// A Python program on the venv's interpreter with unbuffered output, so every line
/// reaches the test as it is printed, importing this checkout's SDK (the venv's editable
/// install may point at another checkout).
pub fn python_command(script: &Path) -> Command {
    let mut command = Command::new(venv_python());
    command
        .arg(script)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONPATH", repo_root().join("sdks/python/src"));
    command
}

/// A script under `sdks/python/e2e/` with `args`, and on `PYTHONPATH` the generated
/// bindings in `bindings` and this checkout's SDK (the venv's editable install may point at
/// another checkout).
pub fn python_script(script: &str, args: &[&str], bindings: &Path) -> ClientProcess {
    let mut command = python_command(&repo_root().join("sdks/python/e2e").join(script));
    let path = std::env::join_paths([bindings.to_path_buf(), repo_root().join("sdks/python/src")])
        .expect("paths without the separator");
    command.args(args).env("PYTHONPATH", path);
    ClientProcess::start(command)
}
