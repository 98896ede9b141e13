//! The SDK's errors: [`Error`], what public calls and callbacks report, and
//! [`InternalError`], a message plus an optional cause for failures inside the SDK, the
//! server or a reducer.

use std::sync::Arc;

/// What went wrong. Cheap to clone: the same error may reach several callbacks.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection has ended (normally or not), or `disconnect` was already called.
    #[error("the connection is already disconnected or has terminated normally")]
    Disconnected,
    /// The connection could not be established, or ended before the server sent its
    /// initial connection message.
    #[error("failed to connect: {source}")]
    FailedToConnect {
        /// Why.
        #[source]
        source: InternalError,
    },
    /// The server rejected a subscription's queries, or a live subscription failed.
    #[error("the server reported an error for a subscription: {error}")]
    SubscriptionError {
        /// The server's message.
        error: String,
    },
    /// The subscription has already ended.
    #[error("the subscription has already ended")]
    AlreadyEnded,
    /// `unsubscribe` was already called on this subscription.
    #[error("unsubscribe was already called on this subscription")]
    AlreadyUnsubscribed,
    /// A procedure failed in the host (it panicked, or could not run); nothing it did
    /// outside a committed `with_tx` happened.
    #[error("procedure `{procedure}` failed: {message}")]
    ProcedureFailed {
        /// The procedure's wire name.
        procedure: String,
        /// The host's message.
        message: String,
    },
    /// The server refused a one-off query.
    #[error("the server refused the query: {message}")]
    QueryFailed {
        /// The server's message (a parse, type or permission error).
        message: String,
    },
    /// The builder is missing a setting or has a bad one.
    #[error("cannot build the connection: {0}")]
    Config(String),
    /// A failure inside the SDK, the transport or the server.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

/// The result type of the SDK's fallible calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure described by a message, with an optional underlying cause.
#[derive(Debug, Clone)]
pub struct InternalError {
    message: String,
    cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl InternalError {
    /// An error with just a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            cause: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_cause(self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            cause: Some(Arc::new(cause)),
            ..self
        }
    }

    /// The message, without the cause.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for InternalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InternalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as &(dyn std::error::Error + 'static))
    }
}
