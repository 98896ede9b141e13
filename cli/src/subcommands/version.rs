//! `spacetime version`: where this binary is, the commit it was built from, and its version
//! (`--cli` prints the version alone, for scripts).

use anyhow::{Context, Result};

/// The CLI's version (the workspace version).
pub const CLI_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit the binary was built from (`unknown` outside a git checkout).
pub const GIT_COMMIT: &str = env!("SPACETIME_GIT_COMMIT");

/// Arguments of `version`.
#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// Print only the version number.
    #[arg(short = 'c', long)]
    pub cli: bool,
}

/// Runs `version`.
///
/// # Errors
/// When the path of the running binary cannot be found.
pub fn exec(args: VersionArgs) -> Result<()> {
    if args.cli {
        println!("{CLI_VERSION}");
        return Ok(());
    }
    let path = std::env::current_exe().context("cannot find the path of the spacetime binary")?;
    println!("Path: {}", path.display());
    println!("Commit: {GIT_COMMIT}");
    println!("spacetime tool version {CLI_VERSION}; speaks the SpacetimeDB 2.x protocol");
    Ok(())
}
