//! `spacetime rename --to <name> <db>`: replaces a database's names with one new name.

use crate::{util, Auth, Ctx};
use anyhow::{bail, Result};
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
    let response = api.send(request)?;
    if !response.status().is_success() {
        let status = response.status();
        let text = response.text().unwrap_or_default();
        if let Some(message) = refusal_message(&text, &db.identity) {
            bail!("{message}");
        }
        return Err(crate::api::error_for(
            status,
            &text,
            &format!("renaming database {} to `{}`", db.identity, args.to),
        ));
    }
    println!("Name set to {} for identity {}.", args.to, db.identity);
    Ok(())
}

/// The message for a refusal the server sends as a `SetDomainsResult` JSON body
/// (`{"NotYourDatabase": …}`, …), or `None` for any other body.
fn refusal_message(body: &str, identity: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let (kind, detail) = value.as_object()?.iter().next()?;
    Some(match kind.as_str() {
        "NotYourDatabase" => format!(
            "You cannot rename {identity} because it is owned by another identity. `spacetime login show` shows who \
             you are logged in as."
        ),
        "DatabaseNotFound" => format!("Database {identity} not found"),
        "PermissionDenied" => format!("Permission denied for database name: {}", detail.get("domain")?),
        "OtherError" => detail.as_str()?.to_owned(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::refusal_message;

    #[test]
    fn not_your_database_is_said_in_words() {
        let body = r#"{"NotYourDatabase":{"database":"c200aa"}}"#;
        assert_eq!(
            refusal_message(body, "c200aa").as_deref(),
            Some(
                "You cannot rename c200aa because it is owned by another identity. `spacetime login show` shows who \
                 you are logged in as."
            )
        );
        assert_eq!(refusal_message("name taken", "c200aa"), None);
    }
}
