//! `spacetime delete <db>`: deletes a database after asking (or at once with `--yes`).

use crate::{util, Auth, Ctx};
use anyhow::Result;
use reqwest::Method;

/// Arguments of `delete`.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The name or identity of the database to delete (default: `database` in spacetime.json).
    pub database: Option<String>,
}

/// Runs `delete`.
///
/// # Errors
/// When the database is unknown, the user is not its owner, or the server fails.
pub fn exec(ctx: &mut Ctx, args: DeleteArgs) -> Result<()> {
    let database = ctx.database(args.database)?;
    let api = ctx.api(Auth::Required)?;
    let db = api.resolve_database(&database)?;
    if ctx.yes {
        println!("Skipping confirmation due to --yes");
    } else {
        let question = format!(
            "Are you sure you want to delete database `{}` (identity {})? This deletes all of its data and cannot be undone.",
            db.name, db.identity
        );
        if !util::confirm(&question, false)? {
            println!("Aborting");
            return Ok(());
        }
    }
    api.send_ok(
        // By the name the user typed, so the server's refusals (a lock) name it the same way.
        api.request(Method::DELETE, &format!("/database/{}", db.name)),
        "deleting the database",
    )?;
    println!("Deleted database `{}` (identity {})", db.name, db.identity);
    Ok(())
}
