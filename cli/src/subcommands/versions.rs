//! `spacetime versions <db>`: a database's version history (one entry per publish), and
//! `spacetime rollback <db> [--to <n>]`: publish an earlier version's program again,
//! through the same migration planner as `publish` (refused with its reasons when the
//! way back is not automatic). Also the current-version line `describe` prints.

use crate::api::{Api, JsonBody};
use crate::{util, Auth, Ctx};
use anyhow::{anyhow, bail, Result};
use reqwest::Method;
use serde_json::Value;

/// Arguments of `versions`.
#[derive(Debug, clap::Args)]
pub struct VersionsArgs {
    /// The name or identity of the database.
    pub database: String,
}

/// Arguments of `rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The name or identity of the database.
    pub database: String,
    /// The version to go back to (default: the newest earlier version with another program).
    #[arg(long, value_name = "N")]
    pub to: Option<u32>,
    /// Accept a plan that disconnects every connected client.
    #[arg(long)]
    pub break_clients: bool,
    /// Print the plan and stop.
    #[arg(long)]
    pub dry_run: bool,
}

/// The history of database `db` as the server returns it.
fn fetch(api: &Api, db: &str) -> Result<Value> {
    let path = format!("/database/{db}/versions");
    api.send_ok(api.request(Method::GET, &path), "reading the version history")?
        .json_body("the version history")
}

/// `n (program abcdef012345…, published <time> by <identity>): <summary>`.
fn describe_version(v: &Value) -> String {
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
    let hash = text("program_hash");
    let short = hash.get(..12).unwrap_or(&hash);
    format!(
        "{} (program {short}…, published {} by {}): {}",
        v.get("version").and_then(Value::as_u64).unwrap_or(0),
        text("published_at"),
        text("publisher"),
        text("summary")
    )
}

/// Runs `versions`: one line per version, oldest first, the current one marked.
///
/// # Errors
/// The database is unknown or the server cannot be reached.
pub fn exec_versions(ctx: &mut Ctx, args: VersionsArgs) -> Result<()> {
    let api = ctx.api(Auth::IfAvailable)?;
    let db = api.resolve_database(&args.database)?;
    let history = fetch(&api, &db.identity)?;
    let versions = history
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        println!(
            "`{}` has no version history yet (it was published before histories were kept).",
            args.database
        );
        return Ok(());
    }
    let current = history.get("current").and_then(Value::as_u64);
    for v in &versions {
        let mark = if v.get("version").and_then(Value::as_u64) == current {
            "*"
        } else {
            " "
        };
        println!("{mark} {}", describe_version(v));
    }
    Ok(())
}

/// The line `describe` prints (on stderr, beside the JSON) about the current version,
/// if the server keeps a history.
pub fn current_version_line(api: &Api, identity: &str) -> Option<String> {
    let history = fetch(api, identity).ok()?;
    let versions = history.get("versions")?.as_array()?;
    versions
        .last()
        .map(|v| format!("Current version: {}", describe_version(v)))
}

/// Runs `rollback`: shows the plan, confirms (unless `--yes`), then rolls back.
///
/// # Errors
/// The database is unknown, there is no such version, the planner refuses (its
/// reasons are printed), the plan breaks clients without `--break-clients`, or the
/// user declines.
pub fn exec_rollback(ctx: &mut Ctx, args: RollbackArgs) -> Result<()> {
    let api = ctx.api(Auth::Required)?;
    let db = api.resolve_database(&args.database)?;
    let path = format!("/database/{}/rollback", db.identity);
    let mut query = vec![("dry_run", "true".to_owned())];
    if let Some(to) = args.to {
        query.push(("to", to.to_string()));
    }
    let dry = api
        .send_ok(api.request(Method::POST, &path).query(&query), "planning the rollback")?
        .json_body("the rollback plan")?;
    let to = dry.get("to").and_then(Value::as_u64).unwrap_or(0);
    let plan = dry
        .get("plan")
        .ok_or_else(|| anyhow!("the server sent no plan: {dry}"))?;
    if let Some(manual) = plan.get("ManualMigrate") {
        let reason = manual.get("reason").and_then(Value::as_str).unwrap_or("");
        bail!("cannot roll `{}` back to version {to}: {reason}", args.database);
    }
    let auto = plan
        .get("AutoMigrate")
        .ok_or_else(|| anyhow!("unexpected plan: {plan}"))?;
    println!("Rolling `{}` back to version {to} will:", args.database);
    let steps = auto.get("steps").and_then(Value::as_array).cloned().unwrap_or_default();
    if steps.is_empty() {
        println!("  - change no schema (only the program)");
    }
    for step in &steps {
        println!("  - {}", step.get("description").and_then(Value::as_str).unwrap_or("?"));
    }
    if args.dry_run {
        println!("Dry run: nothing was rolled back.");
        return Ok(());
    }
    let breaks = auto.get("break_clients").and_then(Value::as_bool).unwrap_or(false);
    let break_clients = args.break_clients || ctx.yes_break_clients;
    if breaks && !break_clients {
        bail!("this rollback disconnects every connected client; run it again with --break-clients to accept that");
    }
    if !ctx.yes && !util::confirm("Roll back?", false)? {
        bail!(
            "the rollback was cancelled: `{}` keeps its current version",
            args.database
        );
    }
    query.retain(|(k, _)| *k != "dry_run");
    if break_clients {
        query.push(("break_clients", "true".to_owned()));
    }
    let done = api
        .send_ok(api.request(Method::POST, &path).query(&query), "rolling back")?
        .json_body("the rollback result")?;
    let version = done
        .pointer("/RolledBack/version")
        .map(describe_version)
        .unwrap_or_default();
    println!("Rolled back to version {to}; now version {version}");
    Ok(())
}
