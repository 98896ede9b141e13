//! The graceful shutdown, once the accept loop has stopped: every database finishes the
//! requests already queued (running reducers complete), closes its commit log (the last
//! batch written and fsynced) and ends; WebSocket sessions then find their queue closed,
//! write what it still held and close with 1001 "going away"; open HTTP requests finish
//! and idle connections are closed. All of it within the configured deadline.

use crate::error::ServerError;
use crate::state::AppState;
use hyper_util::server::graceful::GracefulShutdown;
use std::time::Instant;

/// Shuts down what `state` runs and the connections `graceful` watches.
///
/// # Errors
/// [`ServerError::ShutdownTimeout`] if it takes longer than the configured deadline.
pub(crate) async fn drain(state: &AppState, graceful: GracefulShutdown) -> Result<(), ServerError> {
    let deadline = state.config().shutdown_timeout;
    let started = Instant::now();
    // Each actor gets its `Shutdown` after what is queued, so requests that reached it
    // before the signal complete and are acknowledged as usual.
    let stopping = state.databases().shutdown_all();
    let work = async {
        let actors = futures_util::future::join_all(stopping.iter().map(|db| db.stopped()));
        tokio::join!(graceful.shutdown(), actors);
        state.ws_sessions().all_ended().await;
    };
    if tokio::time::timeout(deadline, work).await.is_err() {
        return Err(ServerError::ShutdownTimeout {
            after: deadline,
            databases: stopping.iter().filter(|db| !db.is_stopped()).count(),
            sessions: state.ws_sessions().open(),
        });
    }
    log::info!(
        "shut down in {} ms: {} database(s) stopped with their logs flushed",
        started.elapsed().as_millis(),
        stopping.len()
    );
    Ok(())
}
