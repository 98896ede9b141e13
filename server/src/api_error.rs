//! [`ApiError`]: every way an HTTP request can fail, and the response each one gets.
//!
//! User mistakes become 4xx with a message that says what to change; internal failures
//! are logged with their context and answered with a generic 500, so internals never
//! reach the client. Where the reference fixes a status or body (530 for a failed
//! reducer, the `PermissionDenied` JSON of publish), that is what is sent.

use crate::auth::TokenError;
use crate::control::ControlError;
use crate::environment::EnvError;
use crate::state::LookupError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use spacetime_engine::{ActorGone, CallError, CallRefused, SnapshotError, UpdateError};

/// A failed request. Route handlers return `Result<_, ApiError>`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request itself is wrong (bad arguments, bad SQL, bad module, …).
    #[error("{0}")]
    BadRequest(String),
    /// 401: the caller could not be authenticated.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the caller is known but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the database, reducer or identity does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 503: the database stopped while the request waited (it was deleted or
    /// cleared; retrying reaches its replacement, if any), or it is registered but
    /// not running (it failed to start; the message says why).
    #[error("{0}")]
    Unavailable(String),
    /// 530: the reducer ran and failed (returned `Err`, panicked or ran out of time).
    #[error("{0}")]
    ReducerFailed(String),
    /// A status with a fixed JSON body, where the reference prescribes one.
    #[error("{1}")]
    Json(StatusCode, serde_json::Value),
    /// 500: a failure on our side; the context and cause are logged, not sent.
    #[error("{context}: {cause}")]
    Internal {
        /// What the server was doing.
        context: &'static str,
        /// What went wrong.
        cause: String,
    },
}

impl ApiError {
    /// An internal error: logged with `context`, answered with a generic 500.
    pub fn internal(context: &'static str, cause: impl std::fmt::Display) -> Self {
        Self::Internal {
            context,
            cause: cause.to_string(),
        }
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::ReducerFailed(_) => StatusCode::from_u16(530).expect("530 is a valid status code"),
            Self::Json(status, _) => *status,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ActorGone> for ApiError {
    fn from(gone: ActorGone) -> Self {
        match gone.log_failure {
            Some(why) => Self::Unavailable(why.to_string()),
            None => Self::Unavailable("the database was deleted or replaced while the request waited; retry it".into()),
        }
    }
}

impl From<EnvError> for ApiError {
    fn from(e: EnvError) -> Self {
        Self::BadRequest(e.to_string())
    }
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::NoSuchDatabase(_) => Self::NotFound(e.to_string()),
            // The reason names files and what to do; the operator needs it, and the
            // client learns the database is down rather than empty or gone.
            LookupError::NotRunning { .. } => Self::Unavailable(e.to_string()),
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::BadModule(_)
            | ControlError::Start(_)
            | ControlError::NameTaken(_)
            | ControlError::Rollback(_)
            | ControlError::NotInClusterMode(_) => Self::BadRequest(e.to_string()),
            ControlError::Update(e) => e.into(),
            ControlError::Lookup(e) => e.into(),
            ControlError::Internal { context, cause } => Self::Internal { context, cause },
        }
    }
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Gone(gone) => gone.into(),
            CallError::NotLeader(_) => Self::Unavailable(e.to_string()),
            CallError::Refused(refused @ CallRefused::Private { .. }) => Self::Forbidden(refused.to_string()),
            CallError::Refused(CallRefused::NoSuchReducer { .. }) => {
                // The route words this one itself: it knows the database's name.
                Self::NotFound(e.to_string())
            }
            CallError::ConnectRejected(_) | CallError::NotConnected(_) => Self::Forbidden(e.to_string()),
            CallError::BadReturn(_) => Self::ReducerFailed(e.to_string()),
            CallError::Refused(CallRefused::Lifecycle { .. }) | CallError::InvalidArgs { .. } => {
                Self::BadRequest(e.to_string())
            }
        }
    }
}

impl From<UpdateError> for ApiError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::Gone(gone) => gone.into(),
            UpdateError::NotLeader(_) => Self::Unavailable(e.to_string()),
            e => Self::BadRequest(e.to_string()),
        }
    }
}

impl From<SnapshotError> for ApiError {
    fn from(e: SnapshotError) -> Self {
        match e {
            SnapshotError::Gone(gone) => gone.into(),
            SnapshotError::NotLeader(_) => Self::Unavailable(e.to_string()),
            e => Self::BadRequest(e.to_string()),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Malformed(_) | TokenError::InvalidClaims(_) => Self::BadRequest(e.to_string()),
            TokenError::NotSignedByThisInstance
            | TokenError::Expired(_)
            | TokenError::MalformedExpiry
            | TokenError::WrongAudience
            | TokenError::UnknownIssuer { .. }
            | TokenError::IssuerRefused { .. } => Self::Unauthorized(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            Self::Json(_, body) => (status, Json(body)).into_response(),
            Self::Internal { context, cause } => {
                log::error!("{context}: {cause}");
                (status, "internal server error; the server log has the details").into_response()
            }
            other => (status, other.to_string()).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_errors_map_to_the_reference_statuses() {
        assert_eq!(
            ApiError::from(TokenError::NotSignedByThisInstance).status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            ApiError::from(TokenError::Malformed("x".into())).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(ApiError::ReducerFailed("boom".into()).status().as_u16(), 530);
    }
}
