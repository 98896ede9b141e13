//! `spacetime describe [db] --json [reducer|table <name>]`: prints the module's schema (or
//! one reducer's or table's part of it) as pretty SATS-JSON. Without a database, the one
//! `spacetime.json` names, as `publish`, `call` and `sql` do. On stderr: the current
//! version, and the rolling checksum of the rows on the server asked (to compare nodes).

use crate::api::JsonBody;
use crate::{util, Auth, Ctx};
use anyhow::{anyhow, bail, Result};
use reqwest::Method;
use serde_json::Value;

/// Arguments of `describe`.
#[derive(Debug, clap::Args)]
pub struct DescribeArgs {
    /// `[database] [reducer|table <name>]`: the name or identity of the database
    /// (default: `database` in spacetime.json), then optionally one reducer or table.
    #[arg(value_name = "DATABASE] [reducer|table NAME", num_args = 0..=3)]
    pub targets: Vec<String>,
    /// Print JSON (the only format so far; required).
    #[arg(long)]
    pub json: bool,
    /// Send no token.
    #[arg(long)]
    pub anonymous: bool,
    /// Show where the database lives in a cluster (each node's role: leader, standby,
    /// reader) instead of its schema; with --json, the server's JSON.
    #[arg(long)]
    pub cluster: bool,
}

/// What `describe` can narrow the output to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityType {
    /// One reducer.
    Reducer,
    /// One table.
    Table,
}

/// Runs `describe`.
///
/// # Errors
/// Without `--json`, when the database is unknown, or when the named entity does not exist.
pub fn exec(ctx: &mut Ctx, args: DescribeArgs) -> Result<()> {
    util::warn_unstable();
    if args.cluster {
        let (database, _) = split_targets(args.targets)?;
        let database = ctx.database(database)?;
        return super::cluster::print_status(ctx, &database, args.json);
    }
    if !args.json {
        bail!("describe only prints JSON so far: add --json");
    }
    let api = ctx.api(if args.anonymous {
        Auth::Anonymous
    } else {
        Auth::IfAvailable
    })?;
    let (database, entity) = split_targets(args.targets)?;
    let database = ctx.database(database)?;
    let db = api.resolve_database(&database)?;
    let path = format!("/database/{}/schema", db.identity);
    let schema = api
        .send_ok(
            api.request(Method::GET, &path).query(&[("version", "10")]),
            "reading the schema",
        )
        .or_else(|_| {
            api.send_ok(
                api.request(Method::GET, &path).query(&[("version", "9")]),
                "reading the schema",
            )
        })?
        .json_body("the schema")?;
    let output = match entity {
        Some((kind, name)) => find_entity(&schema, kind, &name)?.clone(),
        None => schema,
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    if let Some(line) = super::versions::current_version_line(&api, &db.identity) {
        eprintln!("{line}");
    }
    if let Some(line) = checksum_line(&api, &db.identity) {
        eprintln!("{line}");
    }
    Ok(())
}

/// The rolling checksum of the database's rows on the server asked (the `checksum` of
/// `GET /v1/database/:db`), so two nodes' copies can be compared; `None` if it shows
/// none.
fn checksum_line(api: &crate::api::Api, identity: &str) -> Option<String> {
    let info = api
        .send_ok(
            api.request(Method::GET, &format!("/database/{identity}")),
            "reading the database",
        )
        .ok()?
        .json_body("the database's description")
        .ok()?;
    let checksum = info.get("checksum")?;
    let value = checksum.get("value")?.as_str()?;
    let at = match checksum.get("offset").and_then(Value::as_u64) {
        Some(offset) => format!("after tx offset {offset}"),
        None => "before any record".to_owned(),
    };
    let mut line = format!("Rolling checksum of the rows on this server {at}: {value}");
    if let Some(diverged) = checksum.get("diverged").filter(|d| !d.is_null()) {
        let offset = diverged.get("offset").and_then(Value::as_u64).unwrap_or_default();
        line.push_str(&format!(" (DIVERGED from the leader's at tx offset {offset})"));
    }
    Some(line)
}

/// A reducer or table, by name.
type Entity = (EntityType, String);

/// `[database] [reducer|table <name>]` taken apart: a lone word is the database, two
/// words the entity of the project's database, three both.
fn split_targets(mut targets: Vec<String>) -> Result<(Option<String>, Option<Entity>)> {
    let entity = |kind: &str, name: String| -> Result<Entity> {
        let kind = match kind {
            "reducer" => EntityType::Reducer,
            "table" => EntityType::Table,
            other => bail!("`{other}` is not something describe can show: write `reducer <name>` or `table <name>`"),
        };
        Ok((kind, name))
    };
    Ok(match targets.len() {
        0 => (None, None),
        1 => (targets.pop(), None),
        2 => {
            let name = targets.pop().unwrap_or_default();
            (None, Some(entity(&targets[0], name)?))
        }
        _ => {
            let name = targets.pop().unwrap_or_default();
            let kind = targets.pop().unwrap_or_default();
            (targets.pop(), Some(entity(&kind, name)?))
        }
    })
}

/// The entry for reducer or table `name` in a V10 (`sections`) or V9 schema.
fn find_entity<'a>(schema: &'a Value, kind: EntityType, name: &str) -> Result<&'a Value> {
    let (section, noun) = match kind {
        EntityType::Reducer => ("Reducers", "reducer"),
        EntityType::Table => ("Tables", "table"),
    };
    let entries: Vec<&Value> = match schema.get("sections").and_then(Value::as_array) {
        Some(sections) => sections
            .iter()
            .filter_map(|s| s.get(section))
            .filter_map(Value::as_array)
            .flatten()
            .collect(),
        None => schema
            .get(section.to_ascii_lowercase())
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
    };
    let entry_name = |e: &Value| {
        e.get("source_name")
            .or_else(|| e.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if let Some(found) = entries.iter().find(|e| entry_name(e).as_deref() == Some(name)) {
        return Ok(found);
    }
    let names: Vec<String> = entries.iter().filter_map(|e| entry_name(e)).collect();
    Err(anyhow!(
        "the database has no {noun} `{name}`; its {noun}s are: {}",
        if names.is_empty() {
            "(none)".to_owned()
        } else {
            names.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_the_database_and_the_entity() {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let (db, entity) = split_targets(words(&["db"])).unwrap();
        assert_eq!((db.as_deref(), entity), (Some("db"), None));
        let (db, entity) = split_targets(words(&["table", "person"])).unwrap();
        assert_eq!((db, entity), (None, Some((EntityType::Table, "person".to_owned()))));
        let (db, entity) = split_targets(words(&["db", "reducer", "add"])).unwrap();
        assert_eq!(
            (db.as_deref(), entity),
            (Some("db"), Some((EntityType::Reducer, "add".to_owned())))
        );
        let err = split_targets(words(&["db", "view", "v"])).unwrap_err().to_string();
        assert!(err.contains("`view` is not something describe can show"), "{err}");
    }

    #[test]
    fn finds_entities_in_v10_and_v9() {
        let v10 = serde_json::json!({ "sections": [
            { "Tables": [ { "source_name": "person" } ] },
            { "Reducers": [ { "source_name": "add" }, { "source_name": "say_hello" } ] }
        ]});
        assert_eq!(
            find_entity(&v10, EntityType::Reducer, "say_hello").unwrap()["source_name"],
            "say_hello"
        );
        assert_eq!(
            find_entity(&v10, EntityType::Table, "person").unwrap()["source_name"],
            "person"
        );
        let err = find_entity(&v10, EntityType::Reducer, "nope").unwrap_err().to_string();
        assert!(err.contains("add, say_hello"), "{err}");
        let v9 = serde_json::json!({ "tables": [ { "name": "t" } ], "reducers": [] });
        assert!(find_entity(&v9, EntityType::Table, "t").is_ok());
    }
}
