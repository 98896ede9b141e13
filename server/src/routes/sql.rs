//! `POST /v1/database/:db/sql`: run one SQL statement (raw text body) and answer with
//! a JSON array holding one result per statement:
//! `{"schema": <SATS-JSON ProductType>, "rows": [[v…]…], "total_duration_micros": n,
//! "stats": {"rows_inserted", "rows_deleted", "rows_updated"}}`.
//!
//! `?confirmed=true` (the default) releases the result only once every transaction
//! before it (and the statement's own, for DML) is durable; `?confirmed=false` answers
//! at once, so a crash may still take back what it showed.
//!
//! In cluster mode the answer carries the tx offset durable when it was given
//! ([`TX_OFFSET_HEADER`]) and names the node and role that gave it
//! ([`SERVED_BY_HEADER`]: `<node> leader epoch=<e>` or `<node> reader`); a leader
//! gives a read's answer only if its lease was still valid after the read ran. On a reader, `?consistency=local|bounded=<ms>|linearizable`
//! says how fresh a read must be (see `cluster::reads`; without it, the node's lag
//! bound applies): a read the reader's copy cannot serve is redirected to the leader
//! (lagging) or refused with a 503 (a linearizable read that timed out), and a
//! statement that is not a read (`SELECT`, `SHOW`) is forwarded to the leader, its
//! answer held until the reader has applied it. Elsewhere `consistency` is checked and
//! met by construction: a leader is always current.

use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::cluster::forward::{self, Forward, TX_OFFSET_HEADER};
use crate::cluster::reads::{self, Consistency, ReadRefusal};
use crate::cluster::SERVED_BY_HEADER;
use crate::state::AppState;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use spacetime_engine::SqlResult;
use spacetime_sats::json::{to_json, value_to_json};
use spacetime_sats::Identity;
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
    /// How fresh a read on a reader must be (see the module doc).
    consistency: Option<String>,
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
    // The URI as the client sent it (`/v1/...`): a write is forwarded to the same one.
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: String,
) -> Result<Response, ApiError> {
    let confirmed = parse_confirmed(params.confirmed.as_deref())?;
    let consistency = Consistency::parse(params.consistency.as_deref()).map_err(ApiError::BadRequest)?;
    if body.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "the body is empty: send one SQL statement as plain text".into(),
        ));
    }
    let record = state.lookup(&db)?;
    if let Some(answer) = on_reader(&state, record.database_identity, consistency, &uri, headers, &body).await {
        return Ok(answer);
    }
    let serving = state.serving(&record)?;
    let database = &serving.database;
    let (outcome, duration) = match database
        .sql(caller.identity, Some(caller.payload.clone()), body, confirmed)
        .await
    {
        Ok(SqlResult::Ran {
            result: Ok(outcome),
            duration,
        }) => (outcome, duration),
        Ok(SqlResult::Ran { result: Err(e), .. }) => return Err(ApiError::BadRequest(e.to_string())),
        Ok(SqlResult::NotLeader(refusal)) => return Err(ApiError::Unavailable(refusal.to_string())),
        Ok(SqlResult::Rejected(message)) => {
            return Err(ApiError::Forbidden(format!(
                "the module's client_connected reducer rejected the caller: {message}"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    // What a statement read is the leader's only if the lease it was admitted under
    // was still valid after it ran (it may have waited in the actor's queue); a write
    // is vouched for by its commit, fenced by the epoch in etcd.
    if !wrote(&outcome) {
        serving.still_valid()?;
    }
    let offset = database.durable().and_then(|durable| durable.get());
    let mut response = Json(json!([render(&outcome, duration.as_micros() as u64)])).into_response();
    if let Some(offset) = offset {
        response.headers_mut().insert(TX_OFFSET_HEADER, offset.into());
    }
    // Which node answered, in which role and epoch: a client (or a test) can tell a
    // leader's answer from a reader's and check the epoch against etcd.
    if let Some(value) = serving.served_by().and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(SERVED_BY_HEADER, value);
    }
    Ok(response)
}

/// On a reader following database `identity`: the answer of a write (forwarded to
/// the leader) or of a read its copy cannot serve (a redirect or a 503); `None` when
/// the read is served here, or this node is not a reader of it.
async fn on_reader(
    state: &AppState,
    identity: Identity,
    consistency: Consistency,
    uri: &Uri,
    headers: HeaderMap,
    sql: &str,
) -> Option<Response> {
    let node = state.cluster().filter(|node| node.is_reader())?.clone();
    let leader = node.following(identity)?;
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    if !is_read(sql) {
        let request = Forward {
            method: Method::POST,
            path_and_query,
            headers,
            body: sql.to_owned().into(),
        };
        return Some(match forward::forward(state, &node, identity, request).await {
            Ok(answer) => answer.into_response(),
            Err(e) => e.into_response(),
        });
    }
    match reads::admit(state, &node, identity, consistency).await {
        Ok(()) => None,
        Err(refusal @ ReadRefusal::Lagging { .. }) => {
            let location = format!("http://{}{path_and_query}", leader.addr);
            let message = format!("{refusal}: {location}");
            Some((StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)], message).into_response())
        }
        Err(refusal @ ReadRefusal::NotLinearizable { .. }) => {
            Some(ApiError::Unavailable(refusal.to_string()).into_response())
        }
    }
}

/// Whether a statement changed any row.
fn wrote(outcome: &SqlOutcome) -> bool {
    let stats = &outcome.stats;
    stats.rows_inserted + stats.rows_deleted + stats.rows_updated > 0
}

/// Whether `sql` only reads: its first word is `SELECT` or `SHOW`. Anything else
/// (DML, `SET`) is a write only the leader may run.
fn is_read(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    first.eq_ignore_ascii_case("select") || first.eq_ignore_ascii_case("show")
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

#[cfg(test)]
mod tests {
    use super::is_read;

    #[test]
    fn only_select_and_show_are_reads() {
        for read in ["SELECT * FROM t", "  select 1", "Show row_limit", "SELECT\n*\nFROM t"] {
            assert!(is_read(read), "{read}");
        }
        for write in [
            "INSERT INTO t VALUES (1)",
            "update t set a = 1",
            "DELETE FROM t",
            "SET row_limit = 5",
            "",
        ] {
            assert!(!is_read(write), "{write}");
        }
    }
}
