//! `spacetime call [db] <function> [args…]`: calls a reducer (or procedure). Inside a
//! project, the database may be left out: it is spacetime.json's `database`, unless the
//! first word is not one of that database's functions but is a database name.
//!
//! The module's schema is fetched first, so an unknown name gets a list of the existing
//! ones (or the closest match) and the arguments can be checked and converted: each is
//! JSON, except that string parameters take unquoted text and identity or connection-id
//! parameters take bare hex. A reducer prints nothing on success; a procedure prints the
//! JSON it returned.

use crate::api::{status_error, JsonBody};
use crate::schema::{Function, ModuleSchema};
use crate::util::{self, parse_identity_hex};
use crate::{Auth, Ctx};
use anyhow::{anyhow, bail, Context, Result};
use reqwest::Method;
use serde_json::Value;
use spacetime_sats::{AlgebraicType, ProductTypeElement};
use std::fmt::Write;

/// How many existing names an "unknown function" error lists.
const LIST_LIMIT: usize = 10;

/// Arguments of `call`.
#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// `[DATABASE] FUNCTION [ARGUMENTS]…`: the name or identity of the database (default:
    /// `database` in spacetime.json), the reducer or procedure, and its arguments, one per
    /// parameter, as JSON.
    #[arg(
        required = true,
        allow_hyphen_values = true,
        value_name = "[DATABASE] FUNCTION [ARGUMENTS]"
    )]
    pub words: Vec<String>,
    /// Send no token (call as a fresh, anonymous identity).
    #[arg(long)]
    pub anonymous: bool,
}

/// Runs `call`.
///
/// # Errors
/// When the database or function is unknown, an argument does not fit, or the call fails
/// (a reducer's error or panic is reported with the server's text).
pub fn exec(ctx: &mut Ctx, args: CallArgs) -> Result<()> {
    util::warn_unstable();
    let api = ctx.api(if args.anonymous {
        Auth::Anonymous
    } else {
        Auth::IfAvailable
    })?;
    let project_db = ctx.project()?.and_then(|p| p.database.clone());
    let mut words = args.words.into_iter();
    let first = words.next().unwrap_or_default();
    let (database, mut function_name) = match &project_db {
        Some(db) => (db.clone(), first),
        None => {
            let function = words.next().ok_or_else(|| {
                anyhow!("name the function to call: `spacetime call {first} <function> [arguments…]`")
            })?;
            (first, function)
        }
    };
    let mut rest: Vec<String> = words.collect();
    let mut db = api.resolve_database(&database)?;
    let mut schema = fetch_schema(&api, &db.identity)?;
    if project_db.is_some() && !schema.has_function(&function_name) && !rest.is_empty() {
        // `call other-db reducer …` inside a project: the first word may be a database.
        // If it is not one either, the project database's "no such function" says most.
        if let Ok(other) = api.resolve_database(&function_name) {
            function_name = rest.remove(0);
            db = other;
            schema = fetch_schema(&api, &db.identity)?;
        }
    }
    let no_such = || no_such_function(&schema, &function_name, &db.name, &db.identity);
    let (function, kind) = match schema.reducer(&function_name) {
        Some(f) => (f, "reducer"),
        None => match schema.procedure(&function_name) {
            Some(f) => (f, "procedure"),
            None => bail!(no_such()),
        },
    };
    let params = &function.params.elements;
    if rest.len() != params.len() {
        bail!(
            "{kind} `{}` takes {} argument{} but {} {} given.\n\nThe {kind} has the following signature:\n\t{}",
            function.name,
            params.len(),
            if params.len() == 1 { "" } else { "s" },
            rest.len(),
            if rest.len() == 1 { "was" } else { "were" },
            signature(&schema, function)
        );
    }
    let values = rest
        .iter()
        .zip(params)
        .enumerate()
        .map(|(i, (raw, param))| convert_argument(&schema, i, param, raw))
        .collect::<Result<Vec<_>>>()?;
    let request = api
        .request(
            Method::POST,
            &format!("/database/{}/call/{}", db.identity, function.name),
        )
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(Value::Array(values).to_string());
    let response = api.send(request)?;
    let status = response.status();
    if status.is_success() {
        if kind == "procedure" {
            let text = response.text().context("cannot read the procedure's result")?;
            println!("{}", text.trim_end());
        }
        return Ok(());
    }
    match status.as_u16() {
        530 => {
            let text = response.text().unwrap_or_default();
            bail!("the {kind} `{}` failed: {}", function.name, text.trim())
        }
        404 => bail!(no_such()),
        400 => {
            let text = response.text().unwrap_or_default();
            bail!(
                "the server rejected the call to {kind} `{}`: {}\n\nThe {kind} has the following signature:\n\t{}",
                function.name,
                text.trim(),
                signature(&schema, function)
            )
        }
        _ => Err(status_error(response, &format!("calling {kind} `{}`", function.name))),
    }
}

/// `GET /schema?version=10` of the database `identity`.
fn fetch_schema(api: &crate::api::Api, identity: &str) -> Result<ModuleSchema> {
    let json = api
        .send_ok(
            api.request(Method::GET, &format!("/database/{identity}/schema"))
                .query(&[("version", "10")]),
            "reading the module's schema",
        )?
        .json_body("the module's schema")?;
    ModuleSchema::from_json(&json).context("the module's schema is malformed")
}

/// Turns one command-line argument into the JSON the server expects for `param`.
fn convert_argument(schema: &ModuleSchema, index: usize, param: &ProductTypeElement, raw: &str) -> Result<Value> {
    let ty = schema.resolve(&param.algebraic_type);
    if *ty == AlgebraicType::String {
        if let Some(Value::String(s)) = raw.starts_with('"').then(|| serde_json::from_str(raw).ok()).flatten() {
            return Ok(Value::String(s));
        }
        return Ok(Value::String(raw.to_owned()));
    }
    let hex_len = match ty.as_product() {
        Some(p) if p.is_identity() => Some(64),
        Some(p) if p.is_connection_id() => Some(32),
        _ => None,
    };
    if let Some(len) = hex_len {
        let hex = raw.strip_prefix("0x").unwrap_or(raw);
        let is_hex = hex.len() == len && hex.bytes().all(|b| b.is_ascii_hexdigit());
        if is_hex || (len == 64 && parse_identity_hex(raw).is_some()) {
            return Ok(Value::String(format!("0x{}", hex.to_ascii_lowercase())));
        }
    }
    serde_json::from_str(raw).map_err(|e| {
        anyhow!(
            "argument {} ({}) is not valid JSON: `{raw}` ({e}). Write it as JSON, e.g. 42, true, \"text\", [1, 2] or {{\"some\": 3}}",
            index + 1,
            describe_param(schema, index, param)
        )
    })
}

fn describe_param(schema: &ModuleSchema, index: usize, param: &ProductTypeElement) -> String {
    let name = param.name().map_or_else(|| format!("#{index}"), str::to_owned);
    format!("`{name}`: {}", schema.type_name(&param.algebraic_type))
}

/// `name(a: u32, b: String)`.
fn signature(schema: &ModuleSchema, function: &Function) -> String {
    let params: Vec<String> = function
        .params
        .elements
        .iter()
        .map(|p| match p.name() {
            Some(name) => format!("{name}: {}", schema.type_name(&p.algebraic_type)),
            None => schema.type_name(&p.algebraic_type),
        })
        .collect();
    format!("{}({})", function.name, params.join(", "))
}

/// The message for an unknown function: the closest name, or a list of what exists.
fn no_such_function(schema: &ModuleSchema, name: &str, db: &str, identity: &str) -> String {
    let mut message =
        format!("No such reducer OR procedure `{name}` for database `{db}` resolving to identity `{identity}`.");
    let reducers: Vec<&str> = schema
        .reducers
        .iter()
        .filter(|r| !r.lifecycle)
        .map(|r| r.name.as_str())
        .collect();
    let procedures: Vec<&str> = schema.procedures.iter().map(|p| p.name.as_str()).collect();
    if let Some(best) = util::best_match(&reducers, name) {
        let _ = write!(message, "\n\nA reducer with a similar name exists: `{best}`");
    } else if let Some(best) = util::best_match(&procedures, name) {
        let _ = write!(message, "\n\nA procedure with a similar name exists: `{best}`");
    } else {
        list_existing(&mut message, reducers, name, "reducer");
        list_existing(&mut message, procedures, name, "procedure");
    }
    message
}

fn list_existing(message: &mut String, mut names: Vec<&str>, name: &str, kind: &str) {
    if names.is_empty() {
        let _ = write!(message, "\n\nThe database has no {kind}s.");
        return;
    }
    names.sort_by_key(|candidate| util::edit_distance(name, candidate));
    let hidden = names.len().saturating_sub(LIST_LIMIT);
    let _ = write!(message, "\n\nHere are some existing {kind}s:");
    for candidate in names.iter().take(LIST_LIMIT) {
        let _ = write!(message, "\n- {candidate}");
    }
    if hidden > 0 {
        let _ = write!(
            message,
            "\n... ({hidden} {kind}{} not shown)",
            if hidden == 1 { "" } else { "s" }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacetime_sats::ProductType;

    fn schema(reducers: &[(&str, bool)], procedures: &[&str]) -> ModuleSchema {
        let function = |name: &str, lifecycle| Function {
            name: name.to_owned(),
            params: ProductType::default(),
            lifecycle,
        };
        ModuleSchema {
            typespace: Vec::new(),
            reducers: reducers.iter().map(|(n, l)| function(n, *l)).collect(),
            procedures: procedures.iter().map(|n| function(n, false)).collect(),
        }
    }

    #[test]
    fn unknown_function_messages() {
        let s = schema(&[("say_hello", false), ("init", true)], &["return_person"]);
        assert_eq!(
            no_such_function(&s, "non_existent_reducer", "db", "id"),
            "No such reducer OR procedure `non_existent_reducer` for database `db` resolving to identity `id`.\n\n\
             Here are some existing reducers:\n- say_hello\n\nHere are some existing procedures:\n- return_person"
        );
        assert!(
            no_such_function(&s, "say_hell", "db", "id").ends_with("A reducer with a similar name exists: `say_hello`")
        );
        assert!(no_such_function(&s, "return_perso", "db", "id")
            .ends_with("A procedure with a similar name exists: `return_person`"));
        let empty = schema(&[], &[]);
        assert!(no_such_function(&empty, "x", "d", "i")
            .ends_with("The database has no reducers.\n\nThe database has no procedures."));
        let many: Vec<(String, bool)> = (0..11).map(|i| (format!("say_reducer_{i}"), false)).collect();
        let many: Vec<(&str, bool)> = many.iter().map(|(n, l)| (n.as_str(), *l)).collect();
        let message = no_such_function(&schema(&many, &[]), "non_existent", "d", "i");
        assert!(
            message.contains("- say_reducer_9\n... (1 reducer not shown)"),
            "{message}"
        );
    }

    #[test]
    fn argument_conversion() {
        let s = schema(&[], &[]);
        let param = |ty| ProductTypeElement::named("p", ty);
        let string = param(AlgebraicType::String);
        assert_eq!(convert_argument(&s, 0, &string, "Alice").unwrap(), Value::from("Alice"));
        assert_eq!(
            convert_argument(&s, 0, &string, "\"Alice\"").unwrap(),
            Value::from("Alice")
        );
        assert_eq!(
            convert_argument(&s, 0, &string, "\"half").unwrap(),
            Value::from("\"half")
        );
        let hex = "c200".to_owned() + &"ab".repeat(30);
        let identity = param(AlgebraicType::identity());
        let expected = Value::from(format!("0x{hex}"));
        assert_eq!(convert_argument(&s, 0, &identity, &hex).unwrap(), expected);
        assert_eq!(
            convert_argument(&s, 0, &identity, &format!("0x{hex}")).unwrap(),
            expected
        );
        let tuple = format!("[\"0x{hex}\"]");
        assert_eq!(
            convert_argument(&s, 0, &identity, &tuple).unwrap(),
            serde_json::json!([format!("0x{hex}")])
        );
        let number = param(AlgebraicType::U32);
        assert_eq!(convert_argument(&s, 0, &number, "42").unwrap(), Value::from(42));
        let err = convert_argument(&s, 0, &number, "forty").unwrap_err().to_string();
        assert!(err.contains("argument 1 (`p`: u32) is not valid JSON"), "{err}");
    }
}
