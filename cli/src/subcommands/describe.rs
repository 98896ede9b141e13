//! `spacetime describe <db> --json [reducer|table <name>]`: prints the module's schema (or
//! one reducer's or table's part of it) as pretty SATS-JSON.

use crate::api::JsonBody;
use crate::{util, Auth, Ctx};
use anyhow::{anyhow, bail, Result};
use reqwest::Method;
use serde_json::Value;

/// Arguments of `describe`.
#[derive(Debug, clap::Args)]
pub struct DescribeArgs {
    /// The name or identity of the database.
    pub database: String,
    /// Describe only one reducer or one table.
    #[arg(value_enum, requires = "entity_name")]
    pub entity_type: Option<EntityType>,
    /// The reducer's or table's name.
    pub entity_name: Option<String>,
    /// Print JSON (the only format so far; required).
    #[arg(long)]
    pub json: bool,
    /// Send no token.
    #[arg(long)]
    pub anonymous: bool,
}

/// What `describe` can narrow the output to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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
    if !args.json {
        bail!("describe only prints JSON so far: add --json");
    }
    let api = ctx.api(if args.anonymous {
        Auth::Anonymous
    } else {
        Auth::IfAvailable
    })?;
    let db = api.resolve_database(&args.database)?;
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
    let output = match (args.entity_type, args.entity_name) {
        (Some(kind), Some(name)) => find_entity(&schema, kind, &name)?.clone(),
        _ => schema,
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    if let Some(line) = super::versions::current_version_line(&api, &db.identity) {
        eprintln!("{line}");
    }
    Ok(())
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
