//! `spacetime sql <db> <query>`: runs one SQL statement and prints the result as a
//! psql-style table (or, with `--format json`, the server's JSON as it is); a statement
//! that changes rows prints how many. `--interactive` reads statements from stdin, one per
//! line, until `\q` or the end of input.

use crate::api::{Api, JsonBody};
use crate::{render, schema, util, Auth, Ctx};
use anyhow::{anyhow, Context, Result};
use reqwest::Method;
use serde_json::Value;
use std::io::{BufRead, Write};

/// Arguments of `sql`.
#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// The name or identity of the database (default: `database` in spacetime.json, and
    /// then the only argument is the query).
    #[arg(required_unless_present = "interactive")]
    pub database: Option<String>,
    /// The SQL statement.
    #[arg(conflicts_with = "interactive")]
    pub query: Option<String>,
    /// Read statements from stdin, one per line, and print each result (`\q` quits).
    #[arg(long)]
    pub interactive: bool,
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
    // `sql <query>` inside a project: the one argument is the query.
    let (database, query) = match (args.database, args.query) {
        (given, Some(query)) => (ctx.database(given)?, Some(query)),
        (Some(query), None) if !args.interactive => (ctx.database(None)?, Some(query)),
        (given, None) => (ctx.database(given)?, None),
    };
    let db = api.resolve_database(&database)?;
    let session = Session {
        api: &api,
        identity: &db.identity,
        confirmed: args.confirmed,
        format: args.format,
    };
    match &query {
        Some(query) => {
            print!("{}", session.run(query)?);
            Ok(())
        }
        None => repl(&session, &database),
    }
}

/// What every statement of one `sql` run shares.
struct Session<'a> {
    api: &'a Api,
    identity: &'a str,
    confirmed: Option<bool>,
    format: Format,
}

impl Session<'_> {
    /// Runs `query` and returns what to print.
    fn run(&self, query: &str) -> Result<String> {
        let mut request = self
            .api
            .request(Method::POST, &format!("/database/{}/sql", self.identity))
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .body(query.to_owned());
        if let Some(confirmed) = self.confirmed {
            request = request.query(&[("confirmed", confirmed.to_string())]);
        }
        let response = self.api.send_ok(request, "running the query")?;
        if self.format == Format::Json {
            let text = response.text().context("cannot read the query result")?;
            return Ok(format!("{}\n", text.trim_end()));
        }
        let body = response.json_body("the query result")?;
        render_results(&body, query)
    }
}

/// The interactive loop: one statement per line; errors are printed and the loop goes on.
fn repl(session: &Session<'_>, database: &str) -> Result<()> {
    let prompt = util::stdin_is_terminal();
    if prompt {
        println!("Connected to {database}. Type a SQL statement and Enter to run it; \\h for help, \\q to quit.");
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if prompt {
            print!("{database}> ");
            std::io::stdout().flush().context("cannot write to stdout")?;
        }
        let Some(line) = lines.next() else {
            return Ok(());
        };
        let line = line.context("cannot read a statement from stdin")?;
        match line.trim() {
            "" => {}
            "\\q" | "quit" | "exit" => return Ok(()),
            "\\h" | "help" => println!(
                "Statements: SELECT, INSERT, UPDATE, DELETE, SET, SHOW, one per line.\n\\h  this help\n\\q  quit"
            ),
            statement => match session.run(statement) {
                Ok(text) => print!("{text}"),
                Err(e) => println!("Error: {e:#}"),
            },
        }
    }
}

/// Renders every statement result of a `/sql` answer: one table per statement with
/// columns, separated by a blank line; for a statement without columns, the rows it
/// changed (`Inserted 1 row`) or `OK`.
///
/// # Errors
/// When the answer is not the shape `/sql` returns.
pub fn render_results(body: &Value, query: &str) -> Result<String> {
    let results = body
        .as_array()
        .ok_or_else(|| anyhow!("the query result is not a JSON array: {body}"))?;
    if results.is_empty() {
        return Ok("OK\n".to_owned());
    }
    let mut parts = Vec::new();
    for result in results {
        let schema_json = result
            .get("schema")
            .ok_or_else(|| anyhow!("a query result has no schema: {result}"))?;
        let row_type = schema::product_type_from_json(schema_json).context("the query result's schema is malformed")?;
        if row_type.elements.is_empty() {
            parts.push(changed_rows(result.get("stats"), query));
            continue;
        }
        let rows = result
            .get("rows")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let rows = schema::rows_from_json(&row_type, rows)?;
        parts.push(render::render_table(&row_type, &rows));
    }
    Ok(parts.join("\n"))
}

/// `Inserted N rows` / `Updated N rows` / `Deleted N rows` from a DML result's `stats`,
/// picking the verb by the statement's first word (so `DELETE` matching nothing still says
/// `Deleted 0 rows`); `OK` for other statements (`SET`).
fn changed_rows(stats: Option<&Value>, query: &str) -> String {
    let count = |key: &str| stats.and_then(|s| s.get(key)).and_then(Value::as_u64).unwrap_or(0);
    let first_word = query.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
    let (verb, n) = match first_word.as_str() {
        "insert" => ("Inserted", count("rows_inserted")),
        "update" => ("Updated", count("rows_updated")),
        "delete" => ("Deleted", count("rows_deleted")),
        _ => return "OK\n".to_owned(),
    };
    let rows = if n == 1 { "row" } else { "rows" };
    format!("{verb} {n} {rows}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dml_prints_the_rows_it_changed() {
        let dml = |stats: Value| json!([{ "schema": { "elements": [] }, "rows": [], "stats": stats }]);
        let one = dml(json!({ "rows_inserted": 1, "rows_deleted": 0, "rows_updated": 0 }));
        assert_eq!(
            render_results(&one, "INSERT INTO t VALUES (1)").unwrap(),
            "Inserted 1 row\n"
        );
        let two = dml(json!({ "rows_inserted": 0, "rows_deleted": 0, "rows_updated": 2 }));
        assert_eq!(
            render_results(&two, "  update t SET a = 1").unwrap(),
            "Updated 2 rows\n"
        );
        let none = dml(json!({ "rows_inserted": 0, "rows_deleted": 0, "rows_updated": 0 }));
        assert_eq!(
            render_results(&none, "DELETE FROM t WHERE a = 9").unwrap(),
            "Deleted 0 rows\n"
        );
        assert_eq!(render_results(&none, "SET x = 1").unwrap(), "OK\n");
    }
}
