//! Builds module crates to `.wasm` for tests: ours (a member of a module workspace
//! such as `examples/` or `tests/modules/`, against our `bindings`) and upstream (a
//! member of `tests/fixtures/upstream/`, the same sources against the crates.io
//! `spacetimedb = "=2.10.1"`, or of `tests/fixtures/upstream-2.14/` against `=2.14.0`).
//!
//! Every workspace builds into its own `CARGO_TARGET_DIR` under
//! `$HOME/.cache/spacetime-target/`, never the outer build's: a nested cargo waiting
//! on the outer target dir's lock would deadlock the test. A build is skipped when the
//! `.wasm` is newer than every source it depends on. Std only, so other crates'
//! tests can include this file with `#[path]` without depending on this crate.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Which library a module is built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bindings {
    /// Our `bindings` crate (`spacetime-bindings`, lib name `spacetimedb`).
    Ours,
    /// The crates.io `spacetimedb = "=2.10.1"` crate, through the fixture workspace.
    Upstream,
}

/// A module crate to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleCrate {
    /// The workspace holding our build of it, relative to the repository root.
    pub workspace: &'static str,
    /// Its package name there.
    pub package: &'static str,
    /// The member of `tests/fixtures/upstream` that builds the same source upstream.
    pub upstream_package: &'static str,
}

/// `examples/quickstart-chat/module`.
pub const QUICKSTART_CHAT: ModuleCrate = ModuleCrate {
    workspace: "examples",
    package: "quickstart-chat-module",
    upstream_package: "upstream-quickstart-chat",
};
/// `examples/all-features/module`.
pub const ALL_FEATURES: ModuleCrate = ModuleCrate {
    workspace: "examples",
    package: "all-features-module",
    upstream_package: "upstream-all-features",
};
/// `tests/modules/bench`: the benchmark module.
pub const BENCH: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "bench-module",
    upstream_package: "upstream-bench",
};
/// `tests/modules/host-test`: the host's integration-test module.
pub const HOST_TEST: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "host-test-module",
    upstream_package: "upstream-host-test",
};

/// `bindings/tests/surface/module.rs`: every part of the module-author API at once.
pub const SURFACE: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "surface-module",
    upstream_package: "upstream-surface",
};

/// `tests/modules/realtime`: the real-time tests' module (a primary-key table, a
/// joinable pair, a private table, reducers that fail).
pub const REALTIME: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "realtime-module",
    upstream_package: "upstream-realtime",
};

/// `tests/modules/procedures`: procedures (return values, `with_tx`, outbound HTTP).
pub const PROCEDURES: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "procedures-module",
    upstream_package: "upstream-procedures",
};

/// `tests/modules/views`: views (per caller, anonymous, keyed) for the end-to-end tests.
pub const VIEWS: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "views-module",
    upstream_package: "upstream-views",
};

/// `tests/modules/env-views`: SpacetimeDB 2.14's `#[env]` and views with parameters. Its
/// twin is in the 2.14 fixture workspace: build it with [`module_bytes_upstream_214`].
pub const ENV_VIEWS: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "env-views-module",
    upstream_package: "upstream214-env-views",
};

/// `tests/modules/http-routes`: HTTP handlers and the router (unstable), and
/// `volatile_nonatomic_schedule_immediate`. Its twin is in the 2.14 fixture workspace.
pub const HTTP_ROUTES: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "http-routes-module",
    upstream_package: "upstream214-http-routes",
};
/// `tests/modules/views-params`: views with parameters and query-builder views. Its twin
/// is in the 2.14 fixture workspace.
pub const VIEWS_PARAMS: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "views-params-module",
    upstream_package: "upstream214-views-params",
};

/// `tests/fixtures/upstream-2.14/env` (a module that reads its environment), whose own
/// source our bindings build too (`tests/modules/env`).
pub const ENV: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "env-module",
    upstream_package: "upstream214-env",
};

/// The fixture workspace that builds module sources against upstream.
pub const UPSTREAM_WORKSPACE: &str = "tests/fixtures/upstream";

/// The fixture workspace that builds module sources against the crates.io
/// `spacetimedb = "=2.14.0"` (which declares rust 1.97, so it builds with
/// `--ignore-rust-version`).
pub const UPSTREAM_214_WORKSPACE: &str = "tests/fixtures/upstream-2.14";

/// The repository root (the directory holding `ARCHITECTURE.md`).
///
/// # Panics
/// If run from outside the repository.
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|p| p.join("ARCHITECTURE.md").is_file())
        .unwrap_or_else(|| {
            panic!(
                "no ARCHITECTURE.md above {}: run the tests inside the repository",
                here.display()
            )
        })
        .to_path_buf()
}

/// Builds `module` against `bindings` (release, wasm32) and returns the `.wasm` path.
///
/// # Panics
/// With cargo's output if the build fails.
pub fn build_module(module: ModuleCrate, bindings: Bindings) -> PathBuf {
    let root = repo_root();
    let (workspace, package) = match bindings {
        Bindings::Ours => (module.workspace, module.package),
        Bindings::Upstream => (UPSTREAM_WORKSPACE, module.upstream_package),
    };
    let dir = package_dir(&root.join(workspace), module, bindings, &root);
    // A member whose `[lib] path` points elsewhere (the upstream twins, the surface
    // module) is rebuilt when that source changes too.
    let mut inputs: Vec<PathBuf> = lib_source(&dir).into_iter().chain([dir]).collect();
    if bindings == Bindings::Ours {
        inputs.extend(["bindings", "macros", "sats"].map(|c| root.join(c)));
    }
    build_wasm(workspace, package, inputs, &[], &format!("{bindings:?} bindings"))
}

/// Builds `module`'s twin in the 2.14 fixture workspace ([`UPSTREAM_214_WORKSPACE`], whose
/// member `module.upstream_package` builds the module's source) and returns the `.wasm` path.
///
/// # Panics
/// As [`build_module`].
pub fn build_module_upstream_214(module: ModuleCrate) -> PathBuf {
    let root = repo_root();
    // The member's source is either the module's (`[lib] path`) or its own.
    let sources = vec![
        root.join(module.workspace)
            .join(module.package.trim_end_matches("-module")),
        root.join(UPSTREAM_214_WORKSPACE),
    ];
    build_wasm(
        UPSTREAM_214_WORKSPACE,
        module.upstream_package,
        sources,
        &["--ignore-rust-version"],
        "crates.io 2.14.0 bindings",
    )
}

/// [`build_module_upstream_214`], read.
///
/// # Panics
/// As [`build_module`], or if the file cannot be read.
pub fn module_bytes_upstream_214(module: ModuleCrate) -> Vec<u8> {
    let path = build_module_upstream_214(module);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Builds `package` of `workspace` for wasm32 (release) unless its `.wasm` is newer than
/// the workspace manifest, its lock file and every path in `inputs`.
fn build_wasm(workspace: &str, package: &str, mut inputs: Vec<PathBuf>, extra_args: &[&str], what: &str) -> PathBuf {
    let workspace_dir = repo_root().join(workspace);
    let target_dir = target_base().join(format!("wasm-{}", workspace.replace('/', "-")));
    let wasm = target_dir
        .join("wasm32-unknown-unknown/release")
        .join(format!("{}.wasm", package.replace('-', "_")));

    inputs.extend([workspace_dir.join("Cargo.toml"), workspace_dir.join("Cargo.lock")]);
    if let (Some(built), Some(source)) = (mtime(&wasm), inputs.iter().filter_map(|p| newest_mtime(p)).max()) {
        if built > source {
            return wasm;
        }
    }

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&workspace_dir)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            package,
        ])
        .args(extra_args)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run cargo to build `{package}` in {}: {e}",
                workspace_dir.display()
            )
        });
    if !output.status.success() {
        panic!(
            "building module `{package}` ({what}) in {} failed:\n{}",
            workspace_dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    if !wasm.is_file() {
        panic!(
            "cargo built `{package}` but {} does not exist; is the crate a `cdylib`?",
            wasm.display()
        );
    }
    wasm
}

/// Builds `module` and reads the `.wasm` bytes.
///
/// # Panics
/// As [`build_module`], or if the file cannot be read.
pub fn module_bytes(module: ModuleCrate, bindings: Bindings) -> Vec<u8> {
    let path = build_module(module, bindings);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Whether our build of `module` can exist yet: its workspace and the crates it
/// depends on are present.
pub fn ours_available(module: ModuleCrate) -> bool {
    let root = repo_root();
    let dir = root.join(module.workspace);
    dir.join("Cargo.toml").is_file()
        && std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.contains("members"))
        && root.join("bindings/src/lib.rs").is_file()
}

/// The directory of the module's own sources.
fn package_dir(workspace_dir: &Path, module: ModuleCrate, bindings: Bindings, root: &Path) -> PathBuf {
    match (module.workspace, bindings) {
        ("examples", _) => root
            .join("examples")
            .join(module.package.trim_end_matches("-module"))
            .join("module"),
        (_, Bindings::Ours) => workspace_dir.join(module.package.trim_end_matches("-module")),
        (ws, Bindings::Upstream) => root.join(ws).join(module.package.trim_end_matches("-module")),
    }
}

/// The file a member's `Cargo.toml` names as `[lib] path`, resolved against the member.
fn lib_source(member: &Path) -> Option<PathBuf> {
    let manifest = std::fs::read_to_string(member.join("Cargo.toml")).ok()?;
    let lib = manifest.split("[lib]").nth(1)?;
    let section = lib.split("\n[").next()?;
    let line = section.lines().find(|l| l.trim_start().starts_with("path"))?;
    let path = line.split('"').nth(1)?;
    Some(member.join(path))
}

fn target_base() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache/spacetime-target")
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of `path` or anything below it (skipping `target`).
fn newest_mtime(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    let own = meta.modified().ok();
    if !meta.is_dir() {
        return own;
    }
    let children = std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "target");
    children.filter_map(|e| newest_mtime(&e.path())).chain(own).max()
}
