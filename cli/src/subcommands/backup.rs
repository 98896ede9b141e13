//! `spacetime backup <db> -o FILE`: a hot backup of a database (owner only): its program
//! and its state at a commit boundary, taken while it keeps serving, checksummed. The
//! file is written next to FILE and renamed into place, so FILE is never half-written.

use crate::{Auth, Ctx};
use anyhow::{Context, Result};
use reqwest::Method;
use std::path::PathBuf;

/// Arguments of `backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The name or identity of the database.
    pub database: String,
    /// Where to write the backup.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
}

/// Runs `backup`.
///
/// # Errors
/// When the server refuses (not the owner, no such database) or the file cannot be written.
#[allow(clippy::print_stdout)]
pub fn exec(ctx: &mut Ctx, args: BackupArgs) -> Result<()> {
    let api = ctx.api(Auth::Required)?;
    let path = format!("/database/{}/backup", args.database);
    let response = api.send_ok(
        api.request(Method::GET, &path),
        &format!("backing up `{}`", args.database),
    )?;
    let offset = response
        .headers()
        .get("spacetime-tx-offset")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_owned();
    let bytes = response.bytes().context("reading the backup from the server")?;
    let tmp = args.output.with_extension("partial");
    std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.output).with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "Backed up `{}` at tx offset {offset} to {} ({} bytes)",
        args.database,
        args.output.display(),
        bytes.len()
    );
    Ok(())
}
