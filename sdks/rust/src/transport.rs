//! The socket side of a connection: the subscribe URL ([`subscribe_url`]), the reconnect
//! backoff ([`ReconnectPolicy`]), and a tokio task (on the caller's runtime or one the
//! connection owns, [`RuntimeHandle`]) that opens the WebSocket (`v2.bsatn.spacetimedb`),
//! sends queued client messages, decodes server frames, keeps the connection alive with
//! pings, and, when allowed, re-opens a dropped connection with backoff. It reports
//! everything to the connection as [`Work`].

use crate::error::{Error, InternalError};
use futures_util::{SinkExt, StreamExt};
use spacetime_protocol::v2::{ClientMessage, ServerMessage};
use spacetime_protocol::{compression, Compression};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// What the transport tells the connection.
pub(crate) enum TransportEvent {
    /// A decoded server message.
    Message(ServerMessage),
    /// A dropped connection was re-opened; requests go to this new sender.
    Reconnected(UnboundedSender<ClientMessage>),
    /// The socket closed; `will_retry` says whether the transport is reconnecting.
    Closed { error: Option<Error>, will_retry: bool },
}

/// An item of the connection's work queue.
pub(crate) enum Work {
    Transport(TransportEvent),
    /// Application code queued a mutation.
    Wake,
}

/// What the connection and its transport task share.
#[derive(Default)]
pub(crate) struct TransportLink {
    shut_down: AtomicBool,
    notify: Notify,
    token: Mutex<Option<String>>,
}

impl TransportLink {
    pub(crate) fn with_token(token: Option<String>) -> Self {
        Self {
            token: Mutex::new(token),
            ..Self::default()
        }
    }

    /// Tells the transport to stop (and not to reconnect).
    pub(crate) fn shut_down(&self) {
        self.shut_down.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    /// Remembers the token the server confirmed, to reconnect as the same identity.
    pub(crate) fn set_token(&self, token: String) {
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
    }

    pub(crate) fn token(&self) -> Option<String> {
        self.token.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Where and how to connect.
pub(crate) struct TransportConfig {
    pub(crate) url: String,
    pub(crate) reconnect: Option<ReconnectPolicy>,
}

/// The server pings every 15 s; 30 s of silence earns a ping of ours, and 30 s more of
/// silence ends the connection.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How a dropped connection is re-established: after `failures` failed attempts in a row,
/// the next one waits `initial_delay * 2^failures`, at most `max_delay`.
///
/// The default (500 ms doubling up to 30 s, retrying forever) is the one every Spacetime
/// SDK uses; `protocol/tests/vectors/reconnect.json` pins it down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// The delay before the first attempt.
    pub initial_delay: Duration,
    /// The longest delay between attempts.
    pub max_delay: Duration,
    /// Give up (and run `on_disconnect` with the error) after this many failed attempts
    /// in a row; `None` retries forever.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// The delay before the next attempt, after `failures` failed ones:
    /// `min(initial_delay * 2^failures, max_delay)`, exact for every `failures`.
    pub fn delay(&self, failures: u32) -> Duration {
        // In u128 nanoseconds a doubling only overflows once the product is far past any
        // `max_delay` (at most ~1.8e28 ns), so an overflow means "capped".
        let grown = 1u128
            .checked_shl(failures)
            .and_then(|factor| self.initial_delay.as_nanos().checked_mul(factor));
        match grown {
            Some(nanos) if nanos < self.max_delay.as_nanos() => {
                // Below `max_delay`, so the seconds fit its u64.
                let secs = (nanos / 1_000_000_000) as u64;
                Duration::new(secs, (nanos % 1_000_000_000) as u32)
            }
            _ if self.initial_delay.is_zero() => Duration::ZERO,
            _ => self.max_delay,
        }
    }
}

/// The WebSocket URL a connection opens: `base` with its scheme mapped (http and none to
/// ws, https to wss), its path prefix kept, then `/v1/database/<database>/subscribe` with
/// the compression and, if set, the confirmed-reads flag as query parameters. The
/// database is percent-encoded (every byte but `A-Z a-z 0-9 - _ .`).
/// `protocol/tests/vectors/subscribe_url.json` holds the cases every SDK agrees on.
///
/// # Errors
/// [`Error::Config`] for a scheme other than http, https, ws or wss, a URI without a host
/// or with a query, or an empty database name.
pub fn subscribe_url(
    base: &Uri,
    database: &str,
    compression: Compression,
    confirmed: Option<bool>,
) -> Result<String, Error> {
    let scheme = match base.scheme_str() {
        None | Some("ws") | Some("http") => "ws",
        Some("wss") | Some("https") => "wss",
        Some(other) => {
            return Err(Error::Config(format!(
                "unsupported URI scheme `{other}`: use http, https, ws or wss"
            )));
        }
    };
    let authority = base
        .authority()
        .ok_or_else(|| Error::Config(format!("the URI `{base}` has no host")))?;
    if base.query().is_some() {
        return Err(Error::Config(format!(
            "the URI `{base}` has a query string; give the server's base URI only"
        )));
    }
    if database.is_empty() {
        return Err(Error::Config("no database name: call `with_database_name`".into()));
    }
    let path = base.path().trim_end_matches('/');
    let database: String = database
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let mut url = format!(
        "{scheme}://{authority}{path}/v1/database/{database}/subscribe?compression={}",
        compression.as_query_value()
    );
    if let Some(confirmed) = confirmed {
        url.push_str(if confirmed {
            "&confirmed=true"
        } else {
            "&confirmed=false"
        });
    }
    Ok(url)
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(config: &TransportConfig, link: &TransportLink) -> Result<Socket, InternalError> {
    let mut request = config
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| InternalError::new(format!("invalid URL {}", config.url)).with_cause(e))?;
    request.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(spacetime_protocol::v2::BIN_PROTOCOL),
    );
    if let Some(token) = link.token() {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|e| InternalError::new("the token cannot be sent in an HTTP header").with_cause(e))?;
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    // Messages (initial subscriptions especially) can be large; the server caps them.
    let ws_config = WebSocketConfig::default().max_message_size(None).max_frame_size(None);
    let (socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(ws_config), true)
        .await
        .map_err(|e| InternalError::new(format!("cannot open a WebSocket to {}", config.url)).with_cause(e))?;
    Ok(socket)
}

enum SessionEnd {
    /// The connection dropped its sender: the application disconnected.
    Closed,
    /// The connection is gone (dropped).
    Gone,
    /// The socket dropped; reconnecting may help.
    Dropped(String),
    /// The server broke the protocol; reconnecting will not help.
    Fatal(String),
}

async fn session(
    mut socket: Socket,
    outgoing: &mut UnboundedReceiver<ClientMessage>,
    events: &UnboundedSender<Work>,
    got_message: &mut bool,
) -> SessionEnd {
    let mut idle = tokio::time::interval_at(tokio::time::Instant::now() + IDLE_TIMEOUT, IDLE_TIMEOUT);
    let mut heard = false;
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            frame = socket.next() => match frame {
                None => return SessionEnd::Dropped("the server closed the connection".into()),
                Some(Err(e)) => return SessionEnd::Dropped(e.to_string()),
                Some(Ok(Message::Binary(bytes))) => {
                    heard = true;
                    let message = compression::decompress(&bytes)
                        .map_err(|e| e.to_string())
                        .and_then(|body| ServerMessage::from_bytes(&body).map_err(|e| format!("malformed server message: {e}")));
                    match message {
                        Ok(message) => {
                            *got_message = true;
                            if events.send(Work::Transport(TransportEvent::Message(message))).is_err() {
                                return SessionEnd::Gone;
                            }
                        }
                        Err(e) => return SessionEnd::Fatal(e),
                    }
                }
                Some(Ok(Message::Text(_))) => {
                    return SessionEnd::Fatal("the server sent a text frame, but protocol v2 is binary only".into());
                }
                Some(Ok(Message::Close(frame))) => {
                    let reason = frame.map(|f| format!(" ({} {})", u16::from(f.code), f.reason)).unwrap_or_default();
                    return SessionEnd::Dropped(format!("the server closed the connection{reason}"));
                }
                Some(Ok(Message::Pong(_))) => {
                    heard = true;
                    awaiting_pong = false;
                }
                Some(Ok(_)) => heard = true,
            },
            message = outgoing.recv() => match message {
                Some(message) => {
                    if let Err(e) = socket.send(Message::Binary(message.to_bytes().into())).await {
                        return SessionEnd::Dropped(e.to_string());
                    }
                }
                None => {
                    let _ = socket.close(None).await;
                    return SessionEnd::Closed;
                }
            },
            _ = idle.tick() => {
                if !std::mem::replace(&mut heard, false) {
                    if awaiting_pong {
                        return SessionEnd::Dropped(format!("no message from the server for {} s", 2 * IDLE_TIMEOUT.as_secs()));
                    }
                    if let Err(e) = socket.send(Message::Ping(Default::default())).await {
                        return SessionEnd::Dropped(e.to_string());
                    }
                    awaiting_pong = true;
                }
            },
        }
    }
}

/// Runs the transport until the application disconnects, the connection ends, or
/// reconnecting is not allowed or gives up.
pub(crate) async fn run(
    config: TransportConfig,
    mut outgoing: UnboundedReceiver<ClientMessage>,
    events: UnboundedSender<Work>,
    link: std::sync::Arc<TransportLink>,
) {
    let closed = |error: Option<Error>, will_retry| Work::Transport(TransportEvent::Closed { error, will_retry });
    let mut ever_connected = false;
    let mut failures = 0u32;
    let mut last_error;
    loop {
        if link.is_shut_down() {
            return;
        }
        match connect(&config, &link).await {
            Ok(socket) => {
                let first = !ever_connected;
                if ever_connected {
                    let (tx, rx) = unbounded_channel();
                    outgoing = rx;
                    if events.send(Work::Transport(TransportEvent::Reconnected(tx))).is_err() {
                        return;
                    }
                }
                ever_connected = true;
                let mut got_message = false;
                match session(socket, &mut outgoing, &events, &mut got_message).await {
                    SessionEnd::Closed | SessionEnd::Gone => {
                        let _ = events.send(closed(None, false));
                        return;
                    }
                    SessionEnd::Fatal(e) => {
                        let _ = events.send(closed(Some(Error::Internal(InternalError::new(e))), false));
                        return;
                    }
                    SessionEnd::Dropped(e) => {
                        // A first socket closed before any message was a refusal
                        // (`client_connected` rejected us): retrying cannot help.
                        let retry = config.reconnect.is_some() && !link.is_shut_down() && (got_message || !first);
                        let error = Error::Internal(InternalError::new(e.clone()));
                        if !retry {
                            let _ = events.send(closed(Some(error), false));
                            return;
                        }
                        if got_message {
                            failures = 0;
                            if events.send(closed(Some(error), true)).is_err() {
                                return;
                            }
                        } else {
                            failures += 1;
                        }
                        last_error = e;
                    }
                }
            }
            Err(e) => {
                if !ever_connected {
                    let _ = events.send(closed(Some(Error::FailedToConnect { source: e }), false));
                    return;
                }
                failures += 1;
                last_error = e.to_string();
            }
        }
        let Some(policy) = &config.reconnect else { return };
        if policy.max_attempts.is_some_and(|max| failures >= max) {
            let error = InternalError::new(format!(
                "gave up reconnecting after {failures} failed attempts; last error: {last_error}"
            ));
            let _ = events.send(closed(Some(Error::Internal(error)), false));
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(policy.delay(failures)) => {}
            _ = link.notify.notified() => {}
        }
    }
}

/// The runtime the transport runs on: the caller's, or one owned by the connection.
pub(crate) struct RuntimeHandle {
    pub(crate) handle: tokio::runtime::Handle,
    owned: Option<tokio::runtime::Runtime>,
}

impl RuntimeHandle {
    /// The current tokio runtime, or a new one-thread runtime owned by the handle.
    pub(crate) fn get() -> Result<Self, Error> {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            return Ok(Self { handle, owned: None });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("spacetime-sdk-io")
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(InternalError::new("cannot start a tokio runtime").with_cause(e)))?;
        Ok(Self {
            handle: runtime.handle().clone(),
            owned: Some(runtime),
        })
    }
}

impl Drop for RuntimeHandle {
    fn drop(&mut self) {
        // The last handle on a connection may be dropped inside async code; a blocking
        // shutdown there would panic.
        if let Some(runtime) = self.owned.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_urls() {
        let url = |base: &str, db: &str, c, confirmed| subscribe_url(&base.parse().unwrap(), db, c, confirmed);
        assert_eq!(
            url("http://localhost:3000", "quickstart-chat", Compression::Brotli, None).unwrap(),
            "ws://localhost:3000/v1/database/quickstart-chat/subscribe?compression=Brotli"
        );
        assert_eq!(
            url("https://example.com/base/", "c200ab", Compression::Gzip, Some(false)).unwrap(),
            "wss://example.com/base/v1/database/c200ab/subscribe?compression=Gzip&confirmed=false"
        );
        assert_eq!(
            url("localhost:3000", "a b", Compression::None, Some(true)).unwrap(),
            "ws://localhost:3000/v1/database/a%20b/subscribe?compression=None&confirmed=true"
        );
        assert!(url("http://h/?x=1", "db", Compression::None, None)
            .unwrap_err()
            .to_string()
            .contains("query string"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_attempts: None,
        };
        let delays: Vec<u128> = (0..6).map(|n| p.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.delay(u32::MAX), Duration::from_secs(1));
    }
}
