//! The HTTP client every verb (except `start`) uses to reach a server's `/v1` API: request
//! building with the bearer token, turning transport failures and error statuses into
//! messages that say what to do, server-issued logins, and database-name resolution.

use crate::util::{identity_from_json, parse_identity_hex};
use anyhow::{anyhow, bail, Context, Result};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::Method;
use std::time::Duration;

/// How long one ordinary request may take. Publishing compiles a module and can be slow, so
/// the bound is generous; `logs --follow` lifts it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// A client for one server.
pub struct Api {
    base: String,
    token: Option<String>,
    http: Client,
}

/// A database as the user named it plus the identity it resolved to.
#[derive(Debug, Clone)]
pub struct Database {
    /// What the user typed (a name or an identity).
    pub name: String,
    /// The database identity, 64 lower-case hex digits.
    pub identity: String,
}

impl Api {
    /// A client for the server at `base` (`http://host:port`), sending `token` if given.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(base: &str, token: Option<String>) -> Result<Self> {
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("cannot create an HTTP client")?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http,
        })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The token this client sends, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A request to `/v1{path}` with the bearer token attached.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}/v1{path}", self.base));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Sends `request`, turning a transport failure into an error naming the server.
    ///
    /// # Errors
    /// When the server cannot be reached or the exchange fails.
    pub fn send(&self, request: RequestBuilder) -> Result<Response> {
        request.send().map_err(|e| {
            if e.is_connect() {
                anyhow!(
                    "could not connect to the server at {}: {}. Is it running? Start one with `spacetime start`, \
                     or choose another with --server <url>",
                    self.base,
                    root_cause(&e)
                )
            } else if e.is_timeout() {
                anyhow!("the server at {} did not answer in time: {}", self.base, root_cause(&e))
            } else {
                anyhow!("the request to {} failed: {}", self.base, root_cause(&e))
            }
        })
    }

    /// Sends `request` and returns the response when its status is a success; otherwise an
    /// error made of `what`, the status and the server's text.
    ///
    /// # Errors
    /// As [`Api::send`], or when the status is not 2xx.
    pub fn send_ok(&self, request: RequestBuilder, what: &str) -> Result<Response> {
        let response = self.send(request)?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(status_error(response, what))
    }

    /// `POST /v1/identity`: a new identity and its token, issued by this server.
    ///
    /// # Errors
    /// When the server cannot be reached or answers with something other than
    /// `{"identity": …, "token": …}`.
    pub fn server_issued_login(&self) -> Result<(String, String)> {
        let response = self.send_ok(self.http.post(format!("{}/v1/identity", self.base)), "logging in")?;
        let body: serde_json::Value = response.json_body("the login response")?;
        let identity = body.get("identity").and_then(identity_from_json);
        let token = body.get("token").and_then(|t| t.as_str());
        match (identity, token) {
            (Some(identity), Some(token)) => Ok((identity, token.to_owned())),
            _ => bail!(
                "the server at {} answered the login with an unexpected body: {body}",
                self.base
            ),
        }
    }

    /// Resolves a database argument: a 64-hex identity is used as it is, a name is looked
    /// up with `GET /v1/database/<name>/identity`.
    ///
    /// # Errors
    /// When the name is unknown to the server or the server cannot be reached.
    pub fn resolve_database(&self, name_or_identity: &str) -> Result<Database> {
        if let Some(identity) = parse_identity_hex(name_or_identity) {
            return Ok(Database {
                name: name_or_identity.to_owned(),
                identity,
            });
        }
        let response = self.send(self.request(Method::GET, &format!("/database/{name_or_identity}/identity")))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            bail!(
                "no such database: `{name_or_identity}` is not a database name on {}. `spacetime list` shows your \
                 databases; `spacetime publish {name_or_identity}` creates it",
                self.base
            );
        }
        if !response.status().is_success() {
            return Err(status_error(
                response,
                &format!("looking up database `{name_or_identity}`"),
            ));
        }
        let text = response.text().context("cannot read the server's answer")?;
        let identity = parse_identity_hex(text.trim())
            .or_else(|| serde_json::from_str(&text).ok().as_ref().and_then(identity_from_json))
            .ok_or_else(|| {
                anyhow!("the server answered the lookup of `{name_or_identity}` with `{text}`, not an identity")
            })?;
        Ok(Database {
            name: name_or_identity.to_owned(),
            identity,
        })
    }
}

/// Reading a response body as JSON with a message naming what was expected.
pub trait JsonBody {
    /// Parses the body as JSON.
    ///
    /// # Errors
    /// When the body cannot be read or is not JSON.
    fn json_body(self, what: &str) -> Result<serde_json::Value>;
}

impl JsonBody for Response {
    fn json_body(self, what: &str) -> Result<serde_json::Value> {
        let text = self.text().with_context(|| format!("cannot read {what}"))?;
        serde_json::from_str(&text).with_context(|| format!("{what} is not JSON: {text}"))
    }
}

/// An error for a non-success response: what was being done, the status, and the
/// server's own text (which names the problem).
pub fn status_error(response: Response, what: &str) -> anyhow::Error {
    let status = response.status();
    let text = response.text().unwrap_or_default();
    error_for(status, &text, what)
}

/// As [`status_error`], for a response whose body was already read.
pub fn error_for(status: reqwest::StatusCode, text: &str, what: &str) -> anyhow::Error {
    let text = text.trim();
    // A 403's text says who may do what (the owner, or the module's client_connected
    // reducer refusing the caller), so it gets no hint of its own.
    let hint = match status.as_u16() {
        401 => "\nThe server rejected your token. Log in again with `spacetime logout` then `spacetime login --server-issued-login <url>`.",
        _ => "",
    };
    if text.is_empty() {
        anyhow!("{what} failed: the server answered {status}{hint}")
    } else {
        anyhow!("{what} failed ({status}): {text}{hint}")
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
