//! `spacetime lock [db]` and `spacetime unlock [db]`: a locked database cannot be deleted
//! or reset with `publish --delete-data`; updates still work. Owner only; both idempotent.

use crate::{Auth, Ctx};
use anyhow::Result;
use reqwest::Method;

/// Arguments of `lock` and `unlock`.
#[derive(Debug, clap::Args)]
pub struct LockArgs {
    /// The name or identity of the database (default: `database` in spacetime.json).
    pub database: Option<String>,
}

/// Runs `lock` (`locked`) or `unlock`.
///
/// # Errors
/// When the database is unknown or the user is not its owner.
pub fn exec(ctx: &mut Ctx, args: LockArgs, locked: bool) -> Result<()> {
    let database = ctx.database(args.database)?;
    let api = ctx.api(Auth::Required)?;
    let db = api.resolve_database(&database)?;
    let verb = if locked { "lock" } else { "unlock" };
    api.send_ok(
        api.request(Method::POST, &format!("/database/{}/{verb}", db.name)),
        &format!("{verb}ing database `{database}`"),
    )?;
    if locked {
        println!(
            "Database `{database}` is locked: it cannot be deleted or cleared until `spacetime unlock {database}`."
        );
    } else {
        println!("Database `{database}` is unlocked.");
    }
    Ok(())
}
