//! `spacetime build`: builds a module crate for wasm32 (release) and says where the `.wasm`
//! is. The crate is `--module-path`, else spacetime.json's `module-path`, else
//! `./spacetimedb` if it holds a crate, else the current directory. A missing toolchain or
//! wasm32 target is reported with the command that installs it.

use super::publish::build_module;
use crate::Ctx;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// Arguments of `build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The module crate (default: spacetime.json's `module-path`, else ./spacetimedb, else .).
    #[arg(short = 'p', long, alias = "project-path", value_name = "DIR")]
    pub module_path: Option<PathBuf>,
}

/// Runs `build`.
///
/// # Errors
/// When there is no crate, Rust or the wasm32 target is missing, or the build fails.
pub fn exec(ctx: &Ctx, args: BuildArgs) -> Result<()> {
    let dir = module_dir(ctx, args.module_path)?;
    let wasm = build_module(&dir)?;
    println!("Build finished successfully: {}", wasm.display());
    Ok(())
}

/// The module crate a project verb builds: the one given, else the project's, else
/// `./spacetimedb` when it holds a crate, else the current directory.
///
/// # Errors
/// When that directory has no Cargo.toml, or the project file is malformed.
pub fn module_dir(ctx: &Ctx, given: Option<PathBuf>) -> Result<PathBuf> {
    let dir = match given {
        Some(dir) => dir,
        None => match ctx.project()?.and_then(|p| p.module_path.clone()) {
            Some(dir) => dir,
            None if Path::new("spacetimedb/Cargo.toml").is_file() => PathBuf::from("spacetimedb"),
            None => PathBuf::from("."),
        },
    };
    if !dir.join("Cargo.toml").is_file() {
        bail!(
            "{} has no Cargo.toml: pass the module crate's directory with --module-path, or run this in a project \
             (`spacetime init` creates one)",
            dir.display()
        );
    }
    Ok(dir)
}
