//! `GET /metrics`: the Prometheus text exposition of the server's metrics (see
//! [`crate::metrics`]), unless `metrics` is off in the configuration (then 404, as for
//! any unknown path). Outside `/v1`, where Prometheus looks by default.

use crate::api_error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The metrics route.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    if !state.config().metrics {
        return Ok((
            StatusCode::NOT_FOUND,
            "metrics are off on this server (metrics = off); turn them on with SPACETIME_METRICS=on",
        )
            .into_response());
    }
    let text = crate::metrics::render(&state)
        .await
        .map_err(|e| ApiError::internal("rendering metrics", e))?;
    Ok(([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response())
}
