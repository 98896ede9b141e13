//! `spacetime restore FILE <db> [--delete-data]`: creates database `<db>` from a backup
//! made by `spacetime backup`; the server checks the file's checksum first and refuses
//! a corrupted one. An existing database of that name is replaced only with
//! `--delete-data` (and only by its owner).

use crate::api::JsonBody;
use crate::{Auth, Ctx};
use anyhow::{Context, Result};
use reqwest::Method;
use std::path::PathBuf;

/// Arguments of `restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file.
    pub file: PathBuf,
    /// The name of the database to create from it.
    pub database: String,
    /// Replace an existing database of that name (its data is lost).
    #[arg(long)]
    pub delete_data: bool,
}

/// Runs `restore`.
///
/// # Errors
/// When the file cannot be read, or the server refuses it (corrupted, a name taken
/// without `--delete-data`, not the owner).
#[allow(clippy::print_stdout)]
pub fn exec(ctx: &mut Ctx, args: RestoreArgs) -> Result<()> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let api = ctx.api(Auth::Required)?;
    let path = format!("/database/{}/restore?delete_data={}", args.database, args.delete_data);
    let response = api.send_ok(
        api.request(Method::POST, &path).body(bytes),
        &format!("restoring `{}` from {}", args.database, args.file.display()),
    )?;
    let answer: serde_json::Value = response.json_body("the restore's answer")?;
    println!(
        "Restored `{}` ({}) from {} at tx offset {}",
        args.database,
        answer["database_identity"].as_str().unwrap_or("?"),
        args.file.display(),
        answer["tx_offset"]
    );
    Ok(())
}
