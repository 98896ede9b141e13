//! `GET /v1/database/:db/logs?num_lines=&follow=`: the module log as an NDJSON stream,
//! for the owner only. With `follow=true` the stream stays open and carries new lines
//! until the client disconnects or the database goes away.

use super::query::{flag, number, Params};
use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use futures_util::stream::{self, StreamExt};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast;

/// The logs route (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/database/{db}/logs", get(logs))
}

async fn logs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(db): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let num_lines = number(&params, "num_lines")?;
    let follow = flag(&params, "follow", false)?;
    let record = state.lookup(&db)?;
    if record.owner_identity != caller.identity {
        return Err(ApiError::Forbidden(format!(
            "only the owner of database `{db}` may read its logs, and {} is not its owner",
            caller.identity
        )));
    }
    let database = state.running(&record)?;
    let snapshot = database.module_logs().read(num_lines, follow);
    let tail = stream::iter(snapshot.lines).map(ndjson_line);
    let body = match snapshot.follow {
        None => Body::from_stream(tail),
        Some(receiver) => Body::from_stream(tail.chain(followed(receiver))),
    };
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

fn ndjson_line(line: Arc<str>) -> Result<String, Infallible> {
    Ok(format!("{line}\n"))
}

/// New lines from `receiver` until it closes; a follower that fell behind skips the
/// lines it missed rather than ending the stream.
fn followed(receiver: broadcast::Receiver<Arc<str>>) -> impl futures_util::Stream<Item = Result<String, Infallible>> {
    stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(line) => return Some((ndjson_line(line), receiver)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}
