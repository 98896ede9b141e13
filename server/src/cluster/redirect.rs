//! Sending clients to the leader: in cluster mode, a request for a database this
//! node follows as a standby is answered `307 Temporary Redirect` to the same path
//! and query on the leader's advertised address, so an HTTP client (the CLI among
//! them) reaches the leader from any node, method and body kept. The body of the
//! answer says the same in words, for clients that do not follow redirects. `GET /v1/database/:db` itself stays local: it shows
//! where the database lives, from any node.
//!
//! A reader (`--cluster-role reader`) answers more itself (design §8): SQL and
//! WebSocket subscriptions are served from its own copy (the SQL route decides per
//! statement and `consistency`; a new subscription only while the copy lags less than
//! the node's bound, else it is redirected too), and reducer and procedure calls are
//! forwarded to the leader (`forward.rs`), their answers held until the reader has
//! applied the call. Everything else is redirected as a standby does.
//!
//! A WebSocket subscription that a node does not serve itself (a standby, a node
//! without a copy, a reader whose copy lags) is relayed to the leader (`relay.rs`)
//! instead of redirected.

use super::forward;
use super::reads::{self, Consistency};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use spacetime_replication::LeaderInfo;

/// The middleware (see the module doc); a no-op on a standalone server.
pub async fn redirect_to_leader(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(node) = state.cluster().cloned() else {
        return next.run(request).await;
    };
    // A database placed on other nodes only is redirected whatever the request,
    // `GET /v1/database/:db` included: this node knows nothing about it itself.
    let path = request.uri().path();
    let target = database_of(request.method(), path)
        .or_else(|| database_of(&Method::POST, path).filter(|db| state.find(db).is_none()));
    let Some(db) = target else {
        return next.run(request).await;
    };
    let local = state.find(db).map(|record| record.database_identity);
    let Some(identity) = local.or_else(|| node.remote_database(db)) else {
        return next.run(request).await;
    };
    let Some(leader) = node.following(identity) else {
        // Between leaders: elected and still catching up, or stepped down and not yet
        // following anyone. The copy here is a follower that may lag the cluster, so a
        // standby serves nothing from it (its SELECTs would be stale reads).
        let follower = local
            .and_then(|id| state.databases().get(id))
            .is_some_and(|d| d.is_follower());
        if follower && !node.is_reader() {
            let message = format!(
                "this node ({}) is taking over database {db} or finding its new leader; retry shortly",
                node.config().node_id
            );
            return (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
        }
        return next.run(request).await;
    };
    // A reader serves what it can from a copy that runs here.
    if node.is_reader() && local.is_some() && state.databases().get(identity).is_some() {
        match on_reader(request.method(), request.uri().path()) {
            OnReader::Forward => {
                let forward = match forward::take(request).await {
                    Ok(forward) => forward,
                    Err(refused) => return refused,
                };
                return match forward::forward(&state, &node, identity, forward).await {
                    Ok(answer) => answer.into_response(),
                    Err(e) => e.into_response(),
                };
            }
            OnReader::Sql => return next.run(request).await,
            OnReader::Subscribe => match reads::admit(&state, &node, identity, Consistency::Default).await {
                Ok(()) => return next.run(request).await,
                // A WebSocket client is relayed below instead.
                Err(refusal) if !super::relay::is_upgrade(&request) => {
                    return redirect(&request, &leader, refusal.to_string())
                }
                Err(_) => {}
            },
            OnReader::Redirect => {}
        }
    }
    // A WebSocket client is relayed, not redirected: most do not follow a 307.
    if on_reader(request.method(), request.uri().path()) == OnReader::Subscribe && super::relay::is_upgrade(&request) {
        return super::relay::relay(request, &leader, &node.config().node_id).await;
    }
    let role = match (local, node.is_reader()) {
        (None, _) => "holds no copy of",
        (Some(_), true) => "is a reader for",
        (Some(_), false) => "is a standby for",
    };
    let message = format!(
        "this node ({}) {role} database {db}; its leader is node {} at {}",
        node.config().node_id,
        leader.node,
        leader.addr
    );
    redirect(&request, &leader, message)
}

/// A 307 to the same path and query on the leader, `message` (followed by the new
/// location) in the body.
fn redirect(request: &Request, leader: &LeaderInfo, message: String) -> Response {
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = format!("http://{}{path}", leader.addr);
    let message = format!("{message}: {location}");
    (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)], message).into_response()
}

/// What a reader does with a request for a database it follows.
#[derive(Debug, PartialEq, Eq)]
enum OnReader {
    /// A reducer or procedure call: forwarded to the leader.
    Forward,
    /// SQL: the route answers reads here and forwards writes.
    Sql,
    /// A WebSocket subscription: served here within the lag bound.
    Subscribe,
    /// Anything else: redirected to the leader.
    Redirect,
}

fn on_reader(method: &Method, path: &str) -> OnReader {
    let rest = path
        .strip_prefix("/v1/database/")
        .and_then(|rest| rest.split_once('/'))
        .map_or("", |(_, rest)| rest);
    match (method, rest) {
        (&Method::POST, call) if call.starts_with("call/") => OnReader::Forward,
        (&Method::POST, "sql") => OnReader::Sql,
        (&Method::GET, "subscribe") => OnReader::Subscribe,
        _ => OnReader::Redirect,
    }
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

    #[test]
    fn a_reader_forwards_calls_and_serves_sql_and_subscriptions() {
        assert_eq!(
            on_reader(&Method::POST, "/v1/database/bank/call/transfer"),
            OnReader::Forward
        );
        assert_eq!(on_reader(&Method::POST, "/v1/database/bank/sql"), OnReader::Sql);
        assert_eq!(
            on_reader(&Method::GET, "/v1/database/bank/subscribe"),
            OnReader::Subscribe
        );
        for (method, path) in [
            (Method::GET, "/v1/database/bank/logs"),
            (Method::POST, "/v1/database/bank/handover"),
            (Method::GET, "/v1/database/bank/sql"),
            (Method::DELETE, "/v1/database/bank"),
        ] {
            assert_eq!(on_reader(&method, path), OnReader::Redirect, "{method} {path}");
        }
    }
}
