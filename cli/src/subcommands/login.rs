//! `spacetime login`: gets an identity and its token from a server (`--server-issued-login`),
//! saves a given token (`--token`), or shows the current one (`login show`).

use crate::api::Api;
use crate::Ctx;
use anyhow::Result;
use base64::Engine;

/// Arguments of `login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// Show the identity you are logged in as.
    #[command(subcommand)]
    pub show: Option<LoginCommand>,
    /// Ask this server (nickname, host or URL) to issue a new identity and token.
    #[arg(long, value_name = "SERVER", conflicts_with = "token")]
    pub server_issued_login: Option<String>,
    /// Save this token (a JWT) as the login token.
    #[arg(long, value_name = "JWT")]
    pub token: Option<String>,
    /// Do not open a browser. Accepted for upstream's scripts: this CLI never opens one,
    /// since a server issues identities itself.
    #[arg(long)]
    pub no_browser: bool,
}

/// `login show`.
#[derive(Debug, clap::Subcommand)]
pub enum LoginCommand {
    /// Show the identity you are logged in as.
    Show {
        /// Also print the token itself.
        #[arg(long)]
        token: bool,
    },
}

/// Runs `login`.
///
/// # Errors
/// When the server cannot issue an identity or the configuration cannot be saved.
pub fn exec(ctx: &mut Ctx, args: LoginArgs) -> Result<()> {
    if let Some(LoginCommand::Show { token }) = args.show {
        if args.token.is_some() || args.server_issued_login.is_some() {
            anyhow::bail!("`login show` takes no --token <jwt> or --server-issued-login; run them separately");
        }
        show(ctx, token);
        return Ok(());
    }
    if let Some(token) = args.token {
        if let Some(old) = ctx.config.token().filter(|old| *old != token) {
            if !super::logout::confirm_forget_token(ctx, old)? {
                anyhow::bail!("login cancelled: you are still logged in with your current identity");
            }
        }
        ctx.config.set_token(token.clone());
        ctx.config.save()?;
        match identity_of_token(&token) {
            Some(identity) => println!("Token saved. Logged in with identity {identity}"),
            None => println!("Token saved."),
        }
        return Ok(());
    }
    let server = args.server_issued_login.as_deref().or(ctx.server.as_deref());
    let url = ctx.config.server_url(server)?;
    if let Some(old) = ctx.config.token() {
        if !super::logout::confirm_forget_token(ctx, old)? {
            anyhow::bail!("login cancelled: you are still logged in with your current identity");
        }
    }
    let (identity, token) = Api::new(&url, None)?.server_issued_login()?;
    if let Some(old) = ctx.config.clear_tokens() {
        let old_identity = identity_of_token(&old).unwrap_or_else(|| "unknown".to_owned());
        println!("Logged out (identity {old_identity}).");
    }
    ctx.config.set_token(token);
    ctx.config.save()?;
    println!("Logged in with identity {identity}");
    Ok(())
}

fn show(ctx: &Ctx, with_token: bool) {
    match ctx.config.token() {
        Some(token) => {
            let identity =
                identity_of_token(token).unwrap_or_else(|| "an unknown identity (the token is not a JWT)".into());
            println!("You are logged in as {identity}");
            if with_token {
                println!("Your auth token (don't share this!) is {token}");
            }
        }
        None => println!("You are not logged in. Run `spacetime login --server-issued-login <server>` to log in."),
    }
}

/// The `hex_identity` claim of a JWT, without checking its signature (the server does that).
pub fn identity_of_token(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims
        .get("hex_identity")
        .and_then(serde_json::Value::as_str)
        .and_then(crate::util::parse_identity_hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hex_identity_claim() {
        let hex = "c200".to_owned() + &"01".repeat(30);
        let claims = serde_json::json!({ "hex_identity": hex, "sub": "s", "iss": "localhost" });
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_eq!(
            identity_of_token(&format!("eyJhbGciOiJFUzI1NiJ9.{payload}.sig")),
            Some(hex)
        );
        assert_eq!(identity_of_token("not-a-jwt"), None);
    }
}
