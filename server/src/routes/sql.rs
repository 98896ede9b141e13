//! `POST /v1/database/:db/sql`: run one SQL statement (raw text body) and answer with
//! a JSON array holding one result per statement:
//! `{"schema": <SATS-JSON ProductType>, "rows": [[v…]…], "total_duration_micros": n,
//! "stats": {"rows_inserted", "rows_deleted", "rows_updated"}}`.
//!
//! `?confirmed=true` (the default) releases the result only once every transaction
//! before it (and the statement's own, for DML) is durable; `?confirmed=false` answers
//! at once, so a crash may still take back what it showed.

use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use spacetime_engine::SqlResult;
use spacetime_sats::json::{to_json, value_to_json};
use spacetime_sats::Typespace;
use spacetime_sql::SqlOutcome;

/// The SQL route (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/database/{db}/sql", post(sql))
}

/// The query string of the SQL route.
#[derive(Debug, serde::Deserialize)]
struct SqlParams {
    /// Wait for durability before answering (default true). Taken as text so a bad
    /// value gets an error naming the parameter.
    confirmed: Option<String>,
}

/// `?confirmed=`: absent or `true` waits for durability, `false` does not.
fn parse_confirmed(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ApiError::BadRequest(format!(
            "`confirmed` is `{other}`, but it must be `true` or `false`"
        ))),
    }
}

async fn sql(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    Query(params): Query<SqlParams>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let confirmed = parse_confirmed(params.confirmed.as_deref())?;
    if body.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "the body is empty: send one SQL statement as plain text".into(),
        ));
    }
    let record = state.lookup(&db)?;
    let database = state.running(&record)?;
    let (outcome, duration) = match database
        .sql(caller.identity, Some(caller.payload.clone()), body, confirmed)
        .await
    {
        Ok(SqlResult::Ran {
            result: Ok(outcome),
            duration,
        }) => (outcome, duration),
        Ok(SqlResult::Ran { result: Err(e), .. }) => return Err(ApiError::BadRequest(e.to_string())),
        Ok(SqlResult::Rejected(message)) => {
            return Err(ApiError::Forbidden(format!(
                "the module's client_connected reducer rejected the caller: {message}"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Json(json!([render(&outcome, duration.as_micros() as u64)])))
}

/// One statement's result in the HTTP API's JSON form.
fn render(outcome: &SqlOutcome, micros: u64) -> Value {
    // The result schema has its type references inlined, so it needs no typespace.
    let typespace = Typespace::default();
    let rows: Vec<Value> = outcome
        .rows
        .iter()
        .map(|row| {
            let cells = row
                .elements
                .iter()
                .zip(&outcome.schema.elements)
                .map(|(value, column)| value_to_json(value, &column.algebraic_type, &typespace));
            Value::Array(cells.collect())
        })
        .collect();
    json!({
        "schema": to_json(&outcome.schema),
        "rows": rows,
        "total_duration_micros": micros,
        "stats": {
            "rows_inserted": outcome.stats.rows_inserted,
            "rows_deleted": outcome.stats.rows_deleted,
            "rows_updated": outcome.stats.rows_updated,
        },
    })
}
