//! `spacetime logout`: forgets the saved login token.

use crate::Ctx;
use anyhow::Result;

/// Runs `logout`.
///
/// # Errors
/// When the configuration cannot be saved.
pub fn exec(ctx: &mut Ctx) -> Result<()> {
    let removed = ctx.config.clear_tokens();
    // Saved even when no token was there: a web session token may have been dropped.
    ctx.config.save()?;
    match removed {
        Some(token) => {
            let identity = crate::subcommands::login::identity_of_token(&token).unwrap_or_else(|| "unknown".to_owned());
            println!("Logged out (identity {identity}).");
        }
        None => println!("You are not logged in."),
    }
    Ok(())
}
