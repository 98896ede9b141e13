//! `spacetime logout`: forgets the saved login token, after warning that a server-issued
//! token is the only key to its identity's databases (and, at a terminal, asking).

use crate::{util, Ctx};
use anyhow::{bail, Result};

/// Runs `logout`.
///
/// # Errors
/// When the user declines, or the configuration cannot be saved.
pub fn exec(ctx: &mut Ctx) -> Result<()> {
    if let Some(token) = ctx.config.token() {
        if !confirm_forget_token(ctx, token)? {
            bail!("logout cancelled: you are still logged in");
        }
    }
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

/// Warns on stderr that forgetting `token` loses its identity for good (nothing can issue
/// the same identity again), saying how to keep it; at a terminal without `--yes`, asks
/// whether to go on. Scripts and `--yes` get the warning and go on.
///
/// # Errors
/// When the prompt cannot be written or read.
pub fn confirm_forget_token(ctx: &Ctx, token: &str) -> Result<bool> {
    let identity = crate::subcommands::login::identity_of_token(token).unwrap_or_else(|| "unknown".to_owned());
    eprintln!(
        "WARNING: the saved token is the only way to act as identity {identity}, and so to publish to, delete or \
         read the logs of the databases it owns. It cannot be issued again. To keep it, run `spacetime login show \
         --token` first and store the token; `spacetime login --token <token>` logs in with it again."
    );
    if ctx.yes || !util::stdin_is_terminal() {
        return Ok(true);
    }
    util::confirm("Forget this token?", false)
}
