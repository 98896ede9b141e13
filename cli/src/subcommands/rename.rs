//! `spacetime rename --to <name> <db>`: replaces a database's names with one new name.

use crate::{util, Auth, Ctx};
use anyhow::Result;
use reqwest::Method;

/// Arguments of `rename`.
#[derive(Debug, clap::Args)]
pub struct RenameArgs {
    /// The new name.
    #[arg(long, value_name = "NAME")]
    pub to: String,
    /// The name or identity of the database to rename.
    pub database: String,
}

/// Runs `rename`.
///
/// # Errors
/// When the new name is invalid or taken, or the user does not own the database.
pub fn exec(ctx: &mut Ctx, args: RenameArgs) -> Result<()> {
    util::validate_database_name(&args.to)?;
    let api = ctx.api(Auth::Required)?;
    let db = api.resolve_database(&args.database)?;
    let body = serde_json::to_string(&[&args.to])?;
    let request = api
        .request(Method::PUT, &format!("/database/{}/names", db.identity))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    api.send_ok(request, &format!("renaming database {} to `{}`", db.identity, args.to))?;
    println!("Name set to {} for identity {}.", args.to, db.identity);
    Ok(())
}
