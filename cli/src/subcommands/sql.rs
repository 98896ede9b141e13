//! `spacetime sql <db> <query>`: runs one SQL statement and prints the result as a
//! psql-style table (or, with `--format json`, the server's JSON as it is).

use crate::api::JsonBody;
use crate::{render, schema, util, Auth, Ctx};
use anyhow::{anyhow, Context, Result};
use reqwest::Method;
use serde_json::Value;

/// Arguments of `sql`.
#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// The name or identity of the database.
    pub database: String,
    /// The SQL statement.
    pub query: String,
    /// `text` for a table, `json` for the server's answer as it is.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Wait until the statement's effects (and what it reads) are durable. The server's
    /// default is true.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub confirmed: Option<bool>,
    /// Send no token (run as a fresh, anonymous identity).
    #[arg(long)]
    pub anonymous: bool,
}

/// Output formats of `sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// psql-style tables.
    Text,
    /// The server's JSON.
    Json,
}

/// Runs `sql`.
///
/// # Errors
/// When the database is unknown, the statement is rejected, or the answer is malformed.
pub fn exec(ctx: &mut Ctx, args: SqlArgs) -> Result<()> {
    util::warn_unstable();
    let api = ctx.api(if args.anonymous {
        Auth::Anonymous
    } else {
        Auth::IfAvailable
    })?;
    let db = api.resolve_database(&args.database)?;
    let mut request = api
        .request(Method::POST, &format!("/database/{}/sql", db.identity))
        .header(reqwest::header::CONTENT_TYPE, "text/plain")
        .body(args.query.clone());
    if let Some(confirmed) = args.confirmed {
        request = request.query(&[("confirmed", confirmed.to_string())]);
    }
    let response = api.send_ok(request, "running the query")?;
    if args.format == Format::Json {
        let text = response.text().context("cannot read the query result")?;
        println!("{}", text.trim_end());
        return Ok(());
    }
    let body = response.json_body("the query result")?;
    print!("{}", render_results(&body)?);
    Ok(())
}

/// Renders every statement result of a `/sql` answer: one table per statement with
/// columns, separated by a blank line; `OK` when there are no results at all.
pub fn render_results(body: &Value) -> Result<String> {
    let results = body
        .as_array()
        .ok_or_else(|| anyhow!("the query result is not a JSON array: {body}"))?;
    if results.is_empty() {
        return Ok("OK\n".to_owned());
    }
    let mut tables = Vec::new();
    for result in results {
        let schema_json = result
            .get("schema")
            .ok_or_else(|| anyhow!("a query result has no schema: {result}"))?;
        let row_type = schema::product_type_from_json(schema_json).context("the query result's schema is malformed")?;
        if row_type.elements.is_empty() {
            // A statement without a result set (INSERT, UPDATE, DELETE, SET).
            continue;
        }
        let rows = result
            .get("rows")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let rows = schema::rows_from_json(&row_type, rows)?;
        tables.push(render::render_table(&row_type, &rows));
    }
    Ok(tables.join("\n"))
}
