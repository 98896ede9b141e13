//! Sending clients to the leader: in cluster mode, a request for a database this
//! node follows as a standby is answered `307 Temporary Redirect` to the same path
//! and query on the leader's advertised address, so an HTTP client (the CLI among
//! them) reaches the leader from any node, method and body kept. The body of the
//! answer says the same in words, for clients that do not follow redirects (a
//! WebSocket upgrade, usually). `GET /v1/database/:db` itself stays local: it shows
//! where the database lives, from any node.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The middleware (see the module doc); a no-op on a standalone server.
pub async fn redirect_to_leader(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(node) = state.cluster() {
        if let Some(db) = database_of(request.method(), request.uri().path()) {
            let followed = state
                .find(db)
                .and_then(|record| node.following(record.database_identity));
            if let Some(leader) = followed {
                let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
                let location = format!("http://{}{path}", leader.addr);
                let message = format!(
                    "this node ({}) is a standby for database {db}; its leader is node {} at {}: {location}",
                    node.config().node_id,
                    leader.node,
                    leader.addr
                );
                return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)], message).into_response();
            }
        }
    }
    next.run(request).await
}

/// The database a request is for, if it is one that only the leader can answer:
/// `/v1/database/<db>/...`, or `/v1/database/<db>` with any method but `GET`.
fn database_of<'a>(method: &Method, path: &'a str) -> Option<&'a str> {
    let rest = path.strip_prefix("/v1/database/")?;
    match rest.split_once('/') {
        Some((db, _)) if !db.is_empty() => Some(db),
        None if !rest.is_empty() && method != Method::GET => Some(rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_database_requests_the_leader_must_answer_are_redirected() {
        assert_eq!(
            database_of(&Method::POST, "/v1/database/bank/call/transfer"),
            Some("bank")
        );
        assert_eq!(database_of(&Method::GET, "/v1/database/bank/subscribe"), Some("bank"));
        assert_eq!(database_of(&Method::DELETE, "/v1/database/bank"), Some("bank"));
        assert_eq!(database_of(&Method::POST, "/v1/database/bank"), Some("bank"));
        // Where the database lives is answered by any node.
        assert_eq!(database_of(&Method::GET, "/v1/database/bank"), None);
        // Publishing a new database is not for any database yet.
        assert_eq!(database_of(&Method::POST, "/v1/database"), None);
        assert_eq!(database_of(&Method::POST, "/v1/database/"), None);
        assert_eq!(database_of(&Method::GET, "/v1/identity"), None);
    }
}
