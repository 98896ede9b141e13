//! Outbound HTTP for procedures (`procedure_http_request`): one blocking client per
//! runtime, with the limits every request gets.
//!
//! - A total timeout per request: the module's own (`http::Timeout`), capped at
//!   [`MAX_HTTP_TIMEOUT`], which is also the default.
//! - A response body cap, [`MAX_HTTP_RESPONSE_BYTES`]: a longer body fails the request.
//! - No cookie store, no proxies from the environment (a proxy would bypass the guard).
//! - The address guard: unless [`HostConfig::allow_private_http`](crate::HostConfig) is set,
//!   loopback, private, link-local, unique-local, shared (CGNAT), unspecified, broadcast and
//!   multicast addresses are refused. Names are checked after resolution, in the client's
//!   resolver, so every connection (redirects included, and a name that resolves to a private
//!   address) passes the guard; IP literals, which skip the resolver, are checked on the
//!   request URI and on every redirect's URI.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::{Attempt, Policy};
use spacetime_sats::http::{HttpHeaderPair, HttpHeaders, HttpMethod, HttpRequest, HttpResponse, HttpVersion};
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The longest a request may take, and the timeout of a request that sets none.
pub const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest response body a procedure may receive: 16 MiB.
pub const MAX_HTTP_RESPONSE_BYTES: u64 = 16 << 20;

/// The most redirects one request follows.
const MAX_REDIRECTS: usize = 10;

/// Why an outbound request failed; the module receives the text as `http::Error`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EgressError {
    /// The URI or a header could not be used.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The guard refused the address.
    #[error("{0}")]
    Refused(String),
    /// The request failed on the way (connect, timeout, TLS, …).
    #[error("HTTP request to {uri} failed: {reason}")]
    Failed {
        /// The request's URI.
        uri: String,
        /// What went wrong.
        reason: String,
    },
    /// The response body passed [`MAX_HTTP_RESPONSE_BYTES`].
    #[error("the response body of {uri} is larger than the limit of {MAX_HTTP_RESPONSE_BYTES} bytes")]
    TooLarge {
        /// The request's URI.
        uri: String,
    },
}

/// The outbound HTTP client of a runtime.
pub(crate) struct Egress {
    client: reqwest::blocking::Client,
    allow_private: bool,
}

impl std::fmt::Debug for Egress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Egress")
            .field("allow_private", &self.allow_private)
            .finish()
    }
}

/// Why `ip` may not be reached without `--allow-private-http`, if it may not.
fn forbidden(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("a loopback")
            } else if v4.is_private() {
                Some("a private")
            } else if v4.is_link_local() {
                Some("a link-local")
            } else if a == 100 && (64..128).contains(&b) {
                Some("a shared (CGNAT)")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || a == 0 {
                Some("a non-unicast")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a unique-local (private)")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("a non-unicast")
            } else {
                None
            }
        }
    }
}

fn refusal(host: &str, ip: IpAddr, kind: &str) -> String {
    format!(
        "refused to connect to {host} ({ip}): it is {kind} address, which procedures may not reach; \
         start the server with `--allow-private-http` to allow it"
    )
}

/// Checks a URL whose host is an IP literal (those skip the resolver).
fn check_literal(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    match forbidden(ip) {
        Some(kind) => Err(refusal(&ip.to_string(), ip, kind)),
        None => Ok(()),
    }
}

/// Resolves names and drops the addresses the guard forbids.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.iter().copied().filter(|a| forbidden(a.ip()).is_none()).collect();
            match (allowed.is_empty(), found.first()) {
                (true, Some(first)) => {
                    let kind = forbidden(first.ip()).unwrap_or("a forbidden");
                    Err(refusal(&host, first.ip(), kind).into())
                }
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

impl Egress {
    /// Builds the client; `allow_private` lifts the address guard.
    pub(crate) fn new(allow_private: bool) -> Result<Self, String> {
        let redirects = Policy::custom(move |attempt: Attempt<'_>| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match check_literal(attempt.url(), allow_private) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        let mut builder = reqwest::blocking::Client::builder()
            .no_proxy()
            .redirect(redirects)
            .timeout(MAX_HTTP_TIMEOUT)
            .user_agent(concat!("spacetime/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(Self { client, allow_private })
    }

    /// Sends one request and reads the whole response.
    pub(crate) fn send(&self, request: &HttpRequest, body: Vec<u8>) -> Result<(HttpResponse, Vec<u8>), EgressError> {
        let url = reqwest::Url::parse(&request.uri)
            .map_err(|e| EgressError::Invalid(format!("URI `{}`: {e}", request.uri)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(EgressError::Invalid(format!(
                "URI `{}`: only http and https are supported",
                request.uri
            )));
        }
        check_literal(&url, self.allow_private).map_err(EgressError::Refused)?;
        let method = match &request.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Head => reqwest::Method::HEAD,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Delete => reqwest::Method::DELETE,
            HttpMethod::Connect => reqwest::Method::CONNECT,
            HttpMethod::Options => reqwest::Method::OPTIONS,
            HttpMethod::Trace => reqwest::Method::TRACE,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Extension(name) => reqwest::Method::from_bytes(name.as_bytes())
                .map_err(|_| EgressError::Invalid(format!("method `{name}`")))?,
        };
        let timeout = request
            .timeout
            .map(|t| Duration::from_micros(t.to_micros().max(0).unsigned_abs()))
            .map_or(MAX_HTTP_TIMEOUT, |t| t.min(MAX_HTTP_TIMEOUT));
        let mut builder = self.client.request(method, url).timeout(timeout).body(body);
        for HttpHeaderPair { name, value } in &request.headers.entries {
            builder = builder.header(name.as_str(), value.as_slice());
        }
        let failed = |e: reqwest::Error| EgressError::Failed {
            uri: request.uri.clone(),
            reason: describe(&e),
        };
        let response = builder.send().map_err(failed)?;
        let head = HttpResponse {
            headers: HttpHeaders {
                entries: response
                    .headers()
                    .iter()
                    .map(|(k, v)| HttpHeaderPair {
                        name: k.as_str().to_owned(),
                        value: v.as_bytes().to_vec(),
                    })
                    .collect(),
            },
            version: match response.version() {
                reqwest::Version::HTTP_09 => HttpVersion::Http09,
                reqwest::Version::HTTP_10 => HttpVersion::Http10,
                reqwest::Version::HTTP_2 => HttpVersion::Http2,
                reqwest::Version::HTTP_3 => HttpVersion::Http3,
                _ => HttpVersion::Http11,
            },
            code: response.status().as_u16(),
        };
        let mut body = Vec::new();
        response
            .take(MAX_HTTP_RESPONSE_BYTES + 1)
            .read_to_end(&mut body)
            .map_err(|e| EgressError::Failed {
                uri: request.uri.clone(),
                reason: format!("reading the body: {e}"),
            })?;
        if body.len() as u64 > MAX_HTTP_RESPONSE_BYTES {
            return Err(EgressError::TooLarge {
                uri: request.uri.clone(),
            });
        }
        Ok((head, body))
    }
}

/// A reqwest error with its causes, so a refusal by the guard shows its reason.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_knows_private_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(forbidden(ip.parse().unwrap()).is_some(), "{ip} must be refused");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert_eq!(forbidden(ip.parse().unwrap()), None, "{ip} is public");
        }
    }

    #[test]
    fn literal_urls_are_checked() {
        let url = reqwest::Url::parse("http://127.0.0.1:9/x").unwrap();
        let refused = check_literal(&url, false).unwrap_err();
        assert!(refused.contains("--allow-private-http"), "{refused}");
        assert!(check_literal(&url, true).is_ok());
        let name = reqwest::Url::parse("http://localhost:9/x").unwrap();
        assert!(check_literal(&name, false).is_ok(), "names are left to the resolver");
    }
}
