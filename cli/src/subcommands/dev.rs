//! `spacetime dev`: the development loop of a project. It builds the module, publishes it
//! (through `spacetime publish --yes`, so an update goes through the migration planner),
//! regenerates the client bindings spacetime.json lists, and streams the module's logs;
//! then it watches the module crate and does it all again after every change. A failed
//! build or publish is reported and the loop waits for the next change. Ctrl-C stops it
//! and the log stream, and it exits successfully.

use super::build::module_dir;
use super::publish::build_module;
use crate::Ctx;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often the module's files are checked for changes.
const POLL: Duration = Duration::from_millis(300);

/// Arguments of `dev`.
#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// The database (default: `database` in spacetime.json).
    pub database: Option<String>,
    /// The module crate (default: spacetime.json's `module-path`, else ./spacetimedb).
    #[arg(short = 'p', long, value_name = "DIR")]
    pub module_path: Option<PathBuf>,
    /// Do not publish; only build (and generate).
    #[arg(long)]
    pub skip_publish: bool,
    /// Do not regenerate client bindings.
    #[arg(long)]
    pub skip_generate: bool,
    /// Clear the database's data on every publish (for schema changes the planner refuses).
    #[arg(long)]
    pub delete_data: bool,
}

/// Runs `dev` until Ctrl-C.
///
/// # Errors
/// When there is no module crate or database, or the Ctrl-C handler cannot be installed.
/// Build and publish failures are printed, not returned.
pub fn exec(ctx: &Ctx, args: DevArgs) -> Result<()> {
    let dir = module_dir(ctx, args.module_path.clone())?;
    let database = ctx.database(args.database.clone())?;
    let generate = !args.skip_generate && ctx.project()?.is_some_and(|p| !p.generate.is_empty());
    let stop = ctrl_c_flag()?;
    let me = std::env::current_exe().context("cannot find the spacetime binary to run its verbs")?;
    let globals = global_args(ctx);
    let mut logs: Option<Child> = None;
    let mut seen = snapshot(&dir);
    let mut first = true;
    eprintln!("Watching {} (Ctrl-C stops).", dir.display());
    while !stop.load(Ordering::SeqCst) {
        if first || changed(&dir, &mut seen) {
            if !first {
                eprintln!("\nThe module changed; rebuilding.");
            }
            first = false;
            let published = round(&me, &globals, &dir, &database, &args, generate);
            if published && logs.is_none() && !args.skip_publish {
                logs = Some(
                    Command::new(&me)
                        .args(&globals)
                        .args(["logs", "--follow", &database])
                        .stdin(Stdio::null())
                        .spawn()
                        .context("cannot start `spacetime logs --follow`")?,
                );
            }
        }
        std::thread::sleep(POLL);
    }
    if let Some(mut child) = logs {
        // It may have ended with the same Ctrl-C (one process group); both are fine.
        let _ = child.kill();
        let _ = child.wait();
    }
    eprintln!("Stopped.");
    Ok(())
}

/// One build, publish and generate. Returns whether the module was published.
fn round(me: &Path, globals: &[OsString], dir: &Path, database: &str, args: &DevArgs, generate: bool) -> bool {
    let wasm = match build_module(dir) {
        Ok(wasm) => wasm,
        Err(e) => {
            eprintln!("Error: {e:#}\nFix the module; dev rebuilds on the next change.");
            return false;
        }
    };
    let mut published = false;
    if !args.skip_publish {
        let mut publish = Command::new(me);
        publish
            .args(globals)
            .arg("publish")
            .arg("--yes")
            .arg("--bin-path")
            .arg(&wasm);
        if args.delete_data {
            publish.arg("--delete-data");
        }
        publish.arg("--").arg(database);
        published = run(&mut publish, "publish");
    }
    if generate {
        let mut regenerate = Command::new(me);
        regenerate.args(globals).arg("generate").arg("--bin-path").arg(&wasm);
        run(&mut regenerate, "generate");
    }
    published
}

/// Runs a verb with this terminal's streams; says so when it fails.
fn run(command: &mut Command, what: &str) -> bool {
    match command.stdin(Stdio::null()).status() {
        Ok(status) if status.success() => true,
        Ok(status) => {
            eprintln!("`spacetime {what}` failed ({status}); dev tries again on the next change.");
            false
        }
        Err(e) => {
            eprintln!("cannot run `spacetime {what}`: {e}");
            false
        }
    }
}

/// The global flags this run was given, for the verbs it runs.
fn global_args(ctx: &Ctx) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--config-path".into(), ctx.config.path().into()];
    if let Some(server) = &ctx.server {
        args.extend(["--server".into(), server.into()]);
    }
    if ctx.no_config {
        args.push("--no-config".into());
    }
    args
}

/// A flag Ctrl-C sets (instead of killing the process), so the loop can stop cleanly.
fn ctrl_c_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")?;
    // Installed before returning, so a Ctrl-C right after start is not lost.
    let signal = runtime.block_on(async { tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) });
    let mut signal = signal.context("cannot install the Ctrl-C handler")?;
    let flag = stop.clone();
    std::thread::spawn(move || {
        runtime.block_on(signal.recv());
        flag.store(true, Ordering::SeqCst);
    });
    Ok(stop)
}

/// The modification time of every file of the module crate that a build reads: its
/// manifest and everything under `src/`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut files = BTreeMap::new();
    for manifest in ["Cargo.toml", "build.rs"] {
        record(&dir.join(manifest), &mut files);
    }
    let mut stack = vec![dir.join("src")];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                record(&path, &mut files);
            }
        }
    }
    files
}

fn record(path: &Path, files: &mut BTreeMap<PathBuf, SystemTime>) {
    if let Ok(modified) = std::fs::metadata(path).and_then(|m| m.modified()) {
        files.insert(path.to_owned(), modified);
    }
}

/// Whether any file was added, removed or modified since `seen`, which is updated.
fn changed(dir: &Path, seen: &mut BTreeMap<PathBuf, SystemTime>) -> bool {
    let now = snapshot(dir);
    let changed = now != *seen;
    *seen = now;
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_additions_and_removals_are_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/nested")).unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]").unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "one").unwrap();
        let mut seen = snapshot(dir.path());
        assert!(!changed(dir.path(), &mut seen));
        std::fs::write(dir.path().join("src/nested/more.rs"), "two").unwrap();
        assert!(changed(dir.path(), &mut seen));
        assert!(!changed(dir.path(), &mut seen));
        std::fs::remove_file(dir.path().join("src/nested/more.rs")).unwrap();
        assert!(changed(dir.path(), &mut seen));
        // Files outside the crate's sources (build output) are not watched.
        std::fs::create_dir_all(dir.path().join("target")).unwrap();
        std::fs::write(dir.path().join("target/x.wasm"), "w").unwrap();
        assert!(!changed(dir.path(), &mut seen));
    }
}
