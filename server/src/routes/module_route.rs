//! `/v1/database/:db/route[/...]`: requests for a module's HTTP handlers (unstable in
//! SpacetimeDB), routed by the module's own router.
//!
//! Paths are matched exactly, as upstream: `/route` is the root `""`, `/route/` is `"/"`,
//! and `/foo` and `/foo/` are different routes; the path is percent-decoded, as upstream's
//! router does (so `/f%6Fo` is `/foo`). No route for the path and method is a 404 with upstream's body;
//! there is no 405. The handler sees the full external URI (scheme and host from
//! `X-Forwarded-Proto`/`X-Forwarded-Host`, else `http` and `Host`), the method, version,
//! headers and body (capped like other request bodies). These routes are anonymous: they
//! sit outside the token middleware, so a bad `Authorization` header does not refuse them.
//! A handler that panics or fails gets a 500 naming the handler and the cause.

use crate::api_error::ApiError;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use spacetime_sats::http::{HttpHeaderPair, HttpHeaders, HttpMethod, HttpRequest, HttpResponse, HttpVersion};

/// The body of a 404 for a path and method no route matches, as upstream sends it.
pub const NO_SUCH_ROUTE: &str = "Database has not registered a handler for this route";

/// The module routes (relative to `/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/database/{db}/route", any(serve))
        .route("/database/{db}/route/", any(serve))
        .route("/database/{db}/route/{*path}", any(serve))
}

async fn serve(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    request: Request<Body>,
) -> Result<Response, ApiError> {
    let Some((db, path)) = split_route_path(uri.path()) else {
        return Ok(no_such_route());
    };
    // Routes are ASCII, so a path that does not decode to UTF-8 matches none.
    let Some(path) = percent_decode(path) else {
        return Ok(no_such_route());
    };
    let path = path.as_str();
    let record = state.lookup(db)?;
    let database = state.running(&record)?;
    let (parts, body) = request.into_parts();
    let method = method_to_wire(&parts.method);
    let Some((handler_id, _)) = database.program().module_def().match_http_route(&method, path) else {
        return Ok(no_such_route());
    };
    let Ok(body) = axum::body::to_bytes(body, MAX_ROUTE_BODY_BYTES).await else {
        let message = format!("the request body is larger than the limit of {MAX_ROUTE_BODY_BYTES} bytes");
        return Ok((StatusCode::PAYLOAD_TOO_LARGE, message).into_response());
    };
    let request = HttpRequest {
        method,
        headers: headers_to_wire(&parts.headers),
        timeout: None,
        uri: external_uri(&uri, &parts.headers),
        version: version_to_wire(parts.version),
    };
    let outcome = database.call_http_handler(handler_id, request, body.to_vec()).await?;
    Ok(match outcome.result {
        Ok(response) => response_from_wire(response.head, response.body),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    })
}

/// The largest request body a handler receives: 2 MiB, as for other request bodies.
pub const MAX_ROUTE_BODY_BYTES: usize = 2 << 20;

fn no_such_route() -> Response {
    (StatusCode::NOT_FOUND, NO_SUCH_ROUTE).into_response()
}

/// Splits `/v1/database/<db>/route<rest>` into the database and the handler path `rest`.
fn split_route_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v1/database/")?;
    let (db, rest) = rest.split_once('/')?;
    Some((db, rest.strip_prefix("route")?))
}

/// `path` with `%XX` escapes decoded, as upstream's router sees it; `None` if the result is
/// not UTF-8. A `%` not followed by two hex digits stays as it is.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The URI the client used, as far as the server can tell: behind a proxy, its
/// `X-Forwarded-Proto` and `X-Forwarded-Host` (first values).
fn external_uri(uri: &axum::http::Uri, headers: &HeaderMap) -> String {
    if uri.scheme().is_some() && uri.authority().is_some() {
        return uri.to_string();
    }
    let forwarded = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let scheme = forwarded("x-forwarded-proto").unwrap_or_else(|| "http".to_owned());
    let authority = forwarded("x-forwarded-host").or_else(|| {
        headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let path_and_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    match authority {
        Some(authority) => format!("{scheme}://{authority}{path_and_query}"),
        None => uri.to_string(),
    }
}

fn method_to_wire(method: &Method) -> HttpMethod {
    match *method {
        Method::GET => HttpMethod::Get,
        Method::HEAD => HttpMethod::Head,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::CONNECT => HttpMethod::Connect,
        Method::OPTIONS => HttpMethod::Options,
        Method::TRACE => HttpMethod::Trace,
        Method::PATCH => HttpMethod::Patch,
        _ => HttpMethod::Extension(method.to_string()),
    }
}

fn version_to_wire(version: Version) -> HttpVersion {
    match version {
        Version::HTTP_09 => HttpVersion::Http09,
        Version::HTTP_10 => HttpVersion::Http10,
        Version::HTTP_2 => HttpVersion::Http2,
        Version::HTTP_3 => HttpVersion::Http3,
        _ => HttpVersion::Http11,
    }
}

fn headers_to_wire(headers: &HeaderMap) -> HttpHeaders {
    HttpHeaders {
        entries: headers
            .iter()
            .map(|(name, value)| HttpHeaderPair {
                name: name.as_str().to_owned(),
                value: value.as_bytes().to_vec(),
            })
            .collect(),
    }
}

/// The handler's response as an HTTP response; a status or header the module got wrong
/// is a 500 saying which.
fn response_from_wire(head: HttpResponse, body: Vec<u8>) -> Response {
    let bad = |what: String| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the HTTP handler returned an invalid response: {what}"),
        )
            .into_response()
    };
    let Ok(status) = StatusCode::from_u16(head.code) else {
        return bad(format!("status code {} is not between 100 and 999", head.code));
    };
    let mut response = Response::new(Body::from(Bytes::from(body)));
    *response.status_mut() = status;
    for HttpHeaderPair { name, value } in head.headers.entries {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            return bad(format!("{name:?} is not a valid header name"));
        };
        let Ok(value) = HeaderValue::from_bytes(&value) else {
            return bad(format!("the value of header {name} is not a valid header value"));
        };
        response.headers_mut().append(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handler_path_is_everything_after_route() {
        assert_eq!(split_route_path("/v1/database/db/route"), Some(("db", "")));
        assert_eq!(split_route_path("/v1/database/db/route/"), Some(("db", "/")));
        assert_eq!(split_route_path("/v1/database/db/route//foo"), Some(("db", "//foo")));
        assert_eq!(split_route_path("/v1/database/db/route/a%2Fb"), Some(("db", "/a%2Fb")));
        assert_eq!(split_route_path("/v1/database/db/call/x"), None);
    }

    #[test]
    fn paths_are_percent_decoded() {
        assert_eq!(percent_decode("/f%6Fo").as_deref(), Some("/foo"));
        assert_eq!(percent_decode("/a%2Fb").as_deref(), Some("/a/b"));
        assert_eq!(percent_decode("/100%").as_deref(), Some("/100%"));
        assert_eq!(percent_decode("/%zz").as_deref(), Some("/%zz"));
        assert_eq!(percent_decode("/%ff"), None);
    }

    #[test]
    fn the_external_uri_prefers_forwarded_headers() {
        let uri: axum::http::Uri = "/v1/database/db/route/x?a=b".parse().expect("uri");
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:3000"));
        assert_eq!(
            external_uri(&uri, &headers),
            "http://127.0.0.1:3000/v1/database/db/route/x?a=b"
        );
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https, http"));
        headers.insert("x-forwarded-host", HeaderValue::from_static("example.com"));
        assert_eq!(
            external_uri(&uri, &headers),
            "https://example.com/v1/database/db/route/x?a=b"
        );
    }
}
