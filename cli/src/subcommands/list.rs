//! `spacetime list`: the databases owned by the logged-in identity, with their names.

use crate::api::JsonBody;
use crate::subcommands::login::identity_of_token;
use crate::util::{self, identity_from_json};
use crate::{render, Auth, Ctx};
use anyhow::{anyhow, Result};
use reqwest::Method;

/// Runs `list`.
///
/// # Errors
/// When not logged in or the server cannot be reached.
pub fn exec(ctx: &mut Ctx) -> Result<()> {
    util::warn_unstable();
    let api = ctx.api(Auth::Required)?;
    let me = api
        .token()
        .and_then(identity_of_token)
        .ok_or_else(|| anyhow!("the saved token does not name an identity; log in again with `spacetime login`"))?;
    let response = api.send_ok(
        api.request(Method::GET, &format!("/identity/{me}/databases")),
        "listing databases",
    )?;
    let body = response.json_body("the database list")?;
    let identities: Vec<String> = body
        .get("identities")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| anyhow!("the server answered the database list with an unexpected body: {body}"))?
        .iter()
        .filter_map(identity_from_json)
        .collect();
    if identities.is_empty() {
        println!("No databases found for user {me} on server {}.", api.base());
        return Ok(());
    }
    let mut rows = Vec::with_capacity(identities.len());
    for identity in identities {
        let response = api.send_ok(
            api.request(Method::GET, &format!("/database/{identity}/names")),
            "reading names",
        )?;
        let names = response.json_body("the database names")?;
        let names: Vec<&str> = names
            .get("names")
            .and_then(serde_json::Value::as_array)
            .map(|n| n.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default();
        let names = if names.is_empty() {
            "<unnamed>".to_owned()
        } else {
            names.join(", ")
        };
        rows.push(vec![names, identity]);
    }
    println!("Associated databases for user {me} on server {}:\n", api.base());
    print!(
        "{}",
        render::text_table(&["Database Name(s)".to_owned(), "Identity".to_owned()], &rows)
    );
    Ok(())
}
