//! Outbound HTTP from procedures and HTTP handlers: [`HttpClient`] (`ctx.http`), with the types of
//! SpacetimeDB's `spacetimedb::http`: [`Request`] and [`Response`] (the `http` crate's,
//! over [`Body`]), [`Timeout`] and [`Error`].
//!
//! A request travels to the host as a BSATN `HttpRequest` plus the raw body; the host
//! applies its limits (a timeout, a response size cap, no cookies, and no private or
//! loopback addresses unless the server allows them).

#[cfg(feature = "unstable")]
pub use crate::http_handler::{Handler, HandlerContext, Router};
use spacetime_sats::bsatn;
use spacetime_sats::http::{HttpHeaderPair, HttpHeaders, HttpMethod, HttpRequest, HttpResponse, HttpVersion};
use spacetime_sats::TimeDuration;

/// Defines an HTTP handler (`unstable`): `fn(&mut HandlerContext, Request) -> Response`.
/// The function is replaced by a [`Handler`] constant of the same name, which
/// [`Router`] methods take; a handler is reachable only through the router.
#[cfg(feature = "unstable")]
#[doc(inline)]
pub use spacetime_macros::http_handler as handler;

/// Registers the database's router (`unstable`): a function of no arguments returning a
/// [`Router`]. Its routes are served under `/v1/database/:name/route`.
#[cfg(feature = "unstable")]
#[doc(inline)]
pub use spacetime_macros::http_router as router;

/// An HTTP request whose body is a [`Body`].
pub type Request<T = Body> = http::Request<T>;

/// An HTTP response whose body is a [`Body`].
pub type Response<T = Body> = http::Response<T>;

/// Performs HTTP requests from a procedure; reach it as `ctx.http`.
#[non_exhaustive]
pub struct HttpClient {}

impl HttpClient {
    /// Sends `request` and waits for the whole response.
    ///
    /// A [`Timeout`] among the request's extensions bounds the whole exchange (the host
    /// caps it); other extensions are ignored. A response with any status is `Ok`.
    ///
    /// # Errors
    /// When no response arrived: refused address, DNS failure, timeout, a body past the
    /// host's size limit.
    pub fn send<B: Into<Body>>(&self, request: http::Request<B>) -> Result<Response, Error> {
        let (parts, body) = request.map(Into::into).into_parts();
        let head = bsatn::to_vec(&to_wire(parts));
        let (head, body) =
            crate::sys::procedure::http_request(&head, &body.bytes).map_err(|message| Error { message })?;
        let head = bsatn::from_slice::<HttpResponse>(&head).map_err(|e| Error {
            message: format!("the host's response is malformed: {e}"),
        })?;
        let mut response = http::Response::new(Body { bytes: body });
        *response.status_mut() = http::StatusCode::from_u16(head.code).map_err(|e| Error { message: e.to_string() })?;
        *response.version_mut() = version_from_wire(head.version);
        for HttpHeaderPair { name, value } in head.headers.entries {
            let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| Error { message: e.to_string() })?;
            let value = http::HeaderValue::from_bytes(&value).map_err(|e| Error { message: e.to_string() })?;
            response.headers_mut().append(name, value);
        }
        Ok(response)
    }

    /// Sends a `GET` request to `uri` with no headers.
    ///
    /// # Errors
    /// As [`HttpClient::send`], and for a URI that does not parse.
    pub fn get(&self, uri: impl TryInto<http::Uri, Error: Into<http::Error>>) -> Result<Response, Error> {
        self.send(
            http::Request::builder()
                .method(http::Method::GET)
                .uri(uri)
                .body(Body::empty())?,
        )
    }
}

fn to_wire(parts: http::request::Parts) -> HttpRequest {
    let http::request::Parts {
        method,
        uri,
        version,
        headers,
        mut extensions,
        ..
    } = parts;
    let timeout = extensions.remove::<Timeout>().map(|t| t.0);
    let mut entries = Vec::new();
    let mut last: Option<String> = None;
    for (name, value) in headers {
        // `HeaderMap`'s iterator names only the first of repeated values.
        let name = match name {
            Some(n) => n.as_str().to_owned(),
            None => last.clone().unwrap_or_default(),
        };
        last = Some(name.clone());
        entries.push(HttpHeaderPair {
            name,
            value: value.as_bytes().to_vec(),
        });
    }
    HttpRequest {
        method: match method {
            http::Method::GET => HttpMethod::Get,
            http::Method::HEAD => HttpMethod::Head,
            http::Method::POST => HttpMethod::Post,
            http::Method::PUT => HttpMethod::Put,
            http::Method::DELETE => HttpMethod::Delete,
            http::Method::CONNECT => HttpMethod::Connect,
            http::Method::OPTIONS => HttpMethod::Options,
            http::Method::TRACE => HttpMethod::Trace,
            http::Method::PATCH => HttpMethod::Patch,
            other => HttpMethod::Extension(other.to_string()),
        },
        headers: HttpHeaders { entries },
        timeout,
        uri: uri.to_string(),
        version: version_to_wire(version),
    }
}

/// The `http` crate's version for a wire version.
pub(crate) fn version_from_wire(version: HttpVersion) -> http::Version {
    match version {
        HttpVersion::Http09 => http::Version::HTTP_09,
        HttpVersion::Http10 => http::Version::HTTP_10,
        HttpVersion::Http11 => http::Version::HTTP_11,
        HttpVersion::Http2 => http::Version::HTTP_2,
        HttpVersion::Http3 => http::Version::HTTP_3,
    }
}

/// The wire version for an `http` crate version (HTTP/1.1 for one the wire lacks).
pub(crate) fn version_to_wire(version: http::Version) -> HttpVersion {
    match version {
        http::Version::HTTP_09 => HttpVersion::Http09,
        http::Version::HTTP_10 => HttpVersion::Http10,
        http::Version::HTTP_2 => HttpVersion::Http2,
        http::Version::HTTP_3 => HttpVersion::Http3,
        _ => HttpVersion::Http11,
    }
}

/// The body of a request or response: bytes.
#[derive(Debug, Clone, Default)]
pub struct Body {
    bytes: Vec<u8>,
}

impl Body {
    /// The bytes.
    pub fn into_bytes(self) -> bytes::Bytes {
        self.bytes.into()
    }

    /// The bytes as UTF-8 text.
    ///
    /// # Errors
    /// If they are not UTF-8.
    pub fn into_string(self) -> Result<String, std::string::FromUtf8Error> {
        String::from_utf8(self.bytes)
    }

    /// The bytes as text, with invalid UTF-8 replaced.
    pub fn into_string_lossy(self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// A body of `bytes`.
    pub fn from_bytes(bytes: impl Into<bytes::Bytes>) -> Body {
        Body {
            bytes: bytes.into().to_vec(),
        }
    }

    /// An empty body.
    pub fn empty() -> Body {
        Body::default()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

macro_rules! body_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Body {
            fn from(value: $t) -> Body {
                Body::from_bytes(value)
            }
        }
    )*};
}
body_from!(String, Vec<u8>, Box<[u8]>, &'static str, &'static [u8], bytes::Bytes);

impl From<()> for Body {
    fn from(_: ()) -> Body {
        Body::empty()
    }
}

/// A request extension bounding the whole exchange (connect, send, read the body).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Timeout(pub TimeDuration);

impl From<TimeDuration> for Timeout {
    fn from(timeout: TimeDuration) -> Timeout {
        Timeout(timeout)
    }
}

impl From<Timeout> for TimeDuration {
    fn from(Timeout(timeout): Timeout) -> TimeDuration {
        timeout
    }
}

/// Why a request got no response.
#[derive(Clone, Debug)]
pub struct Error {
    message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<http::Error> for Error {
    fn from(err: http::Error) -> Self {
        Error {
            message: err.to_string(),
        }
    }
}
