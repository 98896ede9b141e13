//! `spacetime env list|set|unset <db>`: a database's environment values (SpacetimeDB 2.14's
//! module environment, which modules read with `ctx.env`), for its owner. Also the helper
//! `spacetime publish --env KEY=VALUE` uses.

use crate::api::{Api, JsonBody};
use crate::{Auth, Ctx};
use anyhow::{anyhow, Context, Result};
use reqwest::Method;
use serde_json::{Map, Value};

/// Arguments of `env`.
#[derive(Debug, clap::Args)]
pub struct EnvArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: EnvAction,
}

/// The `env` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum EnvAction {
    /// Print every value, one `KEY=VALUE` per line.
    List {
        /// The name or identity of the database.
        database: String,
    },
    /// Set values.
    Set {
        /// The name or identity of the database.
        database: String,
        /// `KEY=VALUE` pairs.
        #[arg(required = true, value_name = "KEY=VALUE")]
        pairs: Vec<String>,
    },
    /// Remove values.
    Unset {
        /// The name or identity of the database.
        database: String,
        /// The keys.
        #[arg(required = true, value_name = "KEY")]
        keys: Vec<String>,
    },
}

/// Runs `env`.
///
/// # Errors
/// When the database is unknown, the caller is not its owner, a pair is malformed, or the
/// server refuses a key or value.
pub fn exec(ctx: &mut Ctx, args: EnvArgs) -> Result<()> {
    let api = ctx.api(Auth::IfAvailable)?;
    let (database, changes) = match args.action {
        EnvAction::List { database } => (database, None),
        EnvAction::Set { database, pairs } => (database, Some(parse_pairs(&pairs)?)),
        EnvAction::Unset { database, keys } => {
            let changes = keys.into_iter().map(|k| (k, Value::Null)).collect();
            (database, Some(changes))
        }
    };
    let db = api.resolve_database(&database)?;
    let values = match changes {
        None => {
            let request = api.request(Method::GET, &format!("/database/{}/env", db.identity));
            api.send_ok(request, "reading the environment")?
                .json_body("the environment")?
        }
        Some(changes) => patch(&api, &db.identity, changes)?,
    };
    for (key, value) in values.as_object().into_iter().flatten() {
        println!("{key}={}", value.as_str().unwrap_or_default());
    }
    Ok(())
}

/// `KEY=VALUE` pairs as a JSON object of changes.
///
/// # Errors
/// A pair without `=`.
pub fn parse_pairs(pairs: &[String]) -> Result<Map<String, Value>> {
    pairs
        .iter()
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| anyhow!("`{pair}` is not KEY=VALUE; write e.g. API_KEY=secret"))?;
            Ok((key.to_owned(), Value::String(value.to_owned())))
        })
        .collect()
}

/// Applies `changes` (a string sets, `null` removes) to database `identity`'s environment
/// and returns every value after.
///
/// # Errors
/// When the server refuses them.
pub fn patch(api: &Api, identity: &str, changes: Map<String, Value>) -> Result<Value> {
    let request = api
        .request(Method::PATCH, &format!("/database/{identity}/env"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(Value::Object(changes).to_string());
    api.send_ok(request, "changing the environment")
        .context("the environment was not changed")?
        .json_body("the environment")
}
