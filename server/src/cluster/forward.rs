//! Writes that reach a follower go to the leader (design §8): a reducer or procedure
//! call (HTTP, or a WebSocket message turned into one) and a SQL statement that is not
//! a read are sent to the leader's advertised address with the caller's own headers,
//! so the leader sees the same caller. The leader answers with the tx offset its log
//! had made durable when it replied ([`TX_OFFSET_HEADER`], which covers the call's
//! commit); the follower holds the answer until it has applied that offset itself, so
//! the caller's next read on this node sees its own write (read-your-writes per
//! connection).
//!
//! Through a failover the forwarding waits, bounded: a leader that cannot be reached
//! (the request never got there) or that is no longer the leader (it redirects) is
//! retried at the new leader once this node follows one; past [`LEADER_WAIT`] the
//! caller gets a 503 that says to retry. A request the leader may have received but did
//! not answer is never sent twice: its caller gets a 504 that says so.

use super::ClusterNode;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use spacetime_sats::Identity;
use std::time::{Duration, Instant};

/// The response header in which a leader names the tx offset a follower must have
/// applied before it shows the answer (absent on a server without a durable log).
pub const TX_OFFSET_HEADER: &str = "spacetime-tx-offset";

/// How long a forwarded request waits for a leader to answer through a failover.
pub const LEADER_WAIT: Duration = Duration::from_secs(15);

/// How long the answer waits for this node to apply the leader's commit.
const APPLY_WAIT: Duration = Duration::from_secs(10);

/// How often a request waiting through a failover looks for the new leader.
const LEADER_POLL: Duration = Duration::from_millis(50);

/// The largest request body a follower forwards (a reducer's arguments or one SQL
/// statement; publishes are redirected, not forwarded).
pub const MAX_FORWARD_BODY: usize = 16 << 20;

/// The HTTP client of a node's forwarded requests.
pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        // A standby's redirect is an answer to act on (wait for the new leader), not
        // to follow: that node is no longer the leader either.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(2))
        // A reducer runs for at most its time budget; a procedure may take longer.
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap_or_else(|e| {
            log::error!("cluster mode: cannot build the forwarding HTTP client ({e}); using the default one");
            reqwest::Client::new()
        })
}

/// One request to send to the leader.
pub struct Forward {
    /// The method.
    pub method: Method,
    /// Path and query, as the client sent them.
    pub path_and_query: String,
    /// The client's headers (hop-by-hop ones are dropped when sent).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// The leader's answer to a forwarded request, once this node has applied it.
pub struct Answer {
    /// The leader's status.
    pub status: StatusCode,
    /// The leader's headers (hop-by-hop ones dropped).
    pub headers: HeaderMap,
    /// The leader's body.
    pub body: Bytes,
    /// The offset this node waited for, if the leader named one.
    pub offset: Option<u64>,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// No leader answered within [`LEADER_WAIT`]; nothing was applied.
    #[error(
        "this node ({node}) follows database {identity}, and its leader could not be reached for {} s (a failover \
         in progress?): {why}; the call was not run, retry it",
        LEADER_WAIT.as_secs()
    )]
    NoLeader {
        /// This node.
        node: String,
        /// The database.
        identity: Identity,
        /// The last failure.
        why: String,
    },
    /// The leader was sent the request but its answer did not arrive: it may or may
    /// not have run, so it is not sent again.
    #[error(
        "this node ({node}) forwarded the request to the leader at {addr}, which did not answer ({why}); it may or \
         may not have run: check before retrying"
    )]
    Unknown {
        /// This node.
        node: String,
        /// The leader's address.
        addr: String,
        /// What failed.
        why: String,
    },
    /// This node no longer follows the database (it took over, or it was deleted).
    #[error("this node no longer follows the database")]
    NotFollowing,
}

impl IntoResponse for ForwardError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::NoLeader { .. } | Self::NotFollowing => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unknown { .. } => StatusCode::GATEWAY_TIMEOUT,
        };
        (status, self.to_string()).into_response()
    }
}

/// Sends `request` for database `identity` to its leader, through a failover if one
/// is in progress, and returns the answer once this node has applied what it
/// committed (or after [`APPLY_WAIT`], with a warning in the log: the call ran, so its
/// answer is given rather than an error a client might retry).
///
/// # Errors
/// [`ForwardError`].
pub async fn forward(
    state: &AppState,
    node: &ClusterNode,
    identity: Identity,
    request: Forward,
) -> Result<Answer, ForwardError> {
    let deadline = Instant::now() + LEADER_WAIT;
    loop {
        let last_why;
        let Some(leader) = node.following(identity) else {
            return Err(ForwardError::NotFollowing);
        };
        let url = format!("http://{}{}", leader.addr, request.path_and_query);
        let mut outgoing = node
            .http
            .request(request.method.clone(), &url)
            .body(request.body.clone());
        for (name, value) in &request.headers {
            if !is_hop_by_hop(name) {
                outgoing = outgoing.header(name, value);
            }
        }
        match outgoing.send().await {
            Ok(response) if response.status() == StatusCode::TEMPORARY_REDIRECT => {
                // That node follows too (the leader changed): not run there.
                last_why = format!("node {} at {} is no longer its leader", leader.node, leader.addr);
            }
            Ok(response) => return answered(state, node, identity, response).await,
            // The request never reached a server: safe to send again.
            Err(e) if e.is_connect() => {
                last_why = format!("node {} at {}: {e}", leader.node, leader.addr);
            }
            Err(e) => {
                return Err(ForwardError::Unknown {
                    node: node.config.node_id.clone(),
                    addr: leader.addr,
                    why: e.to_string(),
                })
            }
        }
        // Wait for the replica thread to see another leader.
        loop {
            if Instant::now() >= deadline {
                return Err(ForwardError::NoLeader {
                    node: node.config.node_id.clone(),
                    identity,
                    why: last_why,
                });
            }
            tokio::time::sleep(LEADER_POLL).await;
            if node.following(identity).is_none_or(|now| now.addr != leader.addr) {
                break;
            }
        }
    }
}

/// The leader's `response`, held until this node has applied its offset.
async fn answered(
    state: &AppState,
    node: &ClusterNode,
    identity: Identity,
    response: reqwest::Response,
) -> Result<Answer, ForwardError> {
    let status = response.status();
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if !is_hop_by_hop(name) && name != header::CONTENT_LENGTH {
            headers.append(name.clone(), value.clone());
        }
    }
    let offset = response
        .headers()
        .get(TX_OFFSET_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let addr = response.url().authority().to_owned();
    let body = response.bytes().await.map_err(|e| ForwardError::Unknown {
        node: node.config.node_id.clone(),
        addr,
        why: format!("reading its answer: {e}"),
    })?;
    if let Some(offset) = offset {
        if let Err(why) = super::reads::wait_applied(state, identity, offset, APPLY_WAIT).await {
            log::warn!(
                "database {identity}: a forwarded request's answer is given before this node applied its commit \
                 (tx offset {offset}): {why}"
            );
            headers.insert(
                "spacetime-read-your-writes",
                HeaderValue::from_static("not-yet-applied"),
            );
        }
    }
    Ok(Answer {
        status,
        headers,
        body,
        offset,
    })
}

/// Headers that belong to one connection, not to the request.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    [
        header::HOST,
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::TE,
        header::TRAILER,
        header::PROXY_AUTHORIZATION,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

/// The request of an HTTP client, split for [`forward`] (its body read, up to
/// [`MAX_FORWARD_BODY`]).
///
/// # Errors
/// A 413 response for a larger body, a 400 for one that cannot be read.
pub async fn take(request: axum::extract::Request) -> Result<Forward, Response> {
    let (parts, body) = request.into_parts();
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is over {MAX_FORWARD_BODY} bytes, the most a follower forwards to the leader"),
        )
            .into_response()
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_FORWARD_BODY) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, MAX_FORWARD_BODY).await.map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("cannot read the request body (at most {MAX_FORWARD_BODY} bytes are forwarded): {e}"),
        )
            .into_response()
    })?;
    Ok(Forward {
        method: parts.method,
        path_and_query: parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
        headers: parts.headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_headers_are_not_forwarded() {
        assert!(is_hop_by_hop(&header::HOST));
        assert!(is_hop_by_hop(&HeaderName::from_static("keep-alive")));
        assert!(!is_hop_by_hop(&header::AUTHORIZATION));
        assert!(!is_hop_by_hop(&header::CONTENT_TYPE));
        assert!(!is_hop_by_hop(&HeaderName::from_static(TX_OFFSET_HEADER)));
    }
}
