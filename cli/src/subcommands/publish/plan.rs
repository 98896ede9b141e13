//! The migration plan of a publish over an existing database: fetched from the server's
//! `POST /v1/database/:name/pre_publish` (which changes nothing) and printed in plain
//! words before the publisher confirms.

use crate::api::{Api, JsonBody};
use anyhow::{anyhow, Result};
use reqwest::Method;

/// An automatic plan as the server describes it.
#[derive(Debug)]
pub struct AutoPlan {
    /// Each step in plain words, in apply order.
    pub steps: Vec<String>,
    /// Whether applying it disconnects every client (needs `--break-clients`).
    pub break_clients: bool,
}

/// What publishing would do to the database.
#[derive(Debug)]
pub enum Outcome {
    /// It migrates automatically.
    Auto(AutoPlan),
    /// It cannot; the text lists every reason.
    Manual(String),
}

/// Asks the server what publishing `program` over database `name` would do.
///
/// # Errors
/// The server cannot be reached or refuses (not the owner, a bad module), or answers
/// with something else than a plan.
pub fn fetch(api: &Api, name: &str, program: &[u8]) -> Result<Outcome> {
    let request = api
        .request(Method::POST, &format!("/database/{name}/pre_publish"))
        .query(&[("host_type", "Wasm")])
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(program.to_vec());
    let response = api.send(request)?;
    if !response.status().is_success() {
        let status = response.status();
        let text = response.text().unwrap_or_default();
        let denied =
            serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|b| b.get("PermissionDenied").is_some());
        if status == reqwest::StatusCode::FORBIDDEN && denied {
            return Err(super::not_owner(name));
        }
        return Err(crate::api::error_for(status, &text, "planning the update"));
    }
    let body = response.json_body("the migration plan")?;
    parse(&body)
}

/// Reads the server's answer (see `fetch`).
fn parse(body: &serde_json::Value) -> Result<Outcome> {
    if let Some(manual) = body.get("ManualMigrate") {
        let reason = manual.get("reason").and_then(serde_json::Value::as_str).unwrap_or("");
        return Ok(Outcome::Manual(reason.to_owned()));
    }
    let auto = body
        .get("AutoMigrate")
        .ok_or_else(|| anyhow!("the server answered the plan request with an unexpected body: {body}"))?;
    let steps = auto
        .get("steps")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("description").and_then(serde_json::Value::as_str))
        .map(str::to_owned)
        .collect();
    let break_clients = auto
        .get("break_clients")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    Ok(Outcome::Auto(AutoPlan { steps, break_clients }))
}

/// Prints `plan` for database `name`.
pub fn print(name: &str, plan: &AutoPlan) {
    if plan.steps.is_empty() {
        println!("Updating `{name}`: the schema does not change.");
        return;
    }
    println!("Updating `{name}` will:");
    for step in &plan.steps {
        println!("  - {step}");
    }
    if plan.break_clients {
        println!("This update disconnects every connected client.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_answers() {
        let auto = serde_json::json!({ "AutoMigrate": { "migrate_plan": "x", "break_clients": true,
            "steps": [{ "kind": "add_table", "description": "add table `pet`" }] } });
        let Ok(Outcome::Auto(plan)) = parse(&auto) else {
            panic!()
        };
        assert_eq!(plan.steps, vec!["add table `pet`".to_owned()]);
        assert!(plan.break_clients);
        let manual = serde_json::json!({ "ManualMigrate": { "reason": "no", "refusals": [] } });
        assert!(matches!(parse(&manual), Ok(Outcome::Manual(r)) if r == "no"));
        assert!(parse(&serde_json::json!({})).is_err());
    }
}
