//! Why a send was refused or failed. The HTTP boundary (`ApiError`) and the socket boundary
//! (`StoreError`) both convert from it, so both speak the same codes for the same causes.

use std::time::Duration;

use confab_actors::chat::StoreError;
use confab_actors::ErrorCode;
use diesel::result::Error as DieselError;

use crate::error::ApiError;

/// How long a client is asked to wait after a commit missed its deadline.
const OVERDUE_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A field is missing, malformed or out of range.
    #[error("{0}")]
    Invalid(String),
    /// The body or the attachments are over their limits.
    #[error("{0}")]
    TooLarge(String),
    /// The conversation or an attachment does not exist, or is not the sender's.
    #[error("{0}")]
    NotFound(&'static str),
    /// A block between the two people of a DM forbids it.
    #[error("a block between you and this user forbids messages")]
    Blocked,
    /// The sender lacks the role for the change.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The change conflicts with the message's state (deleted, too many emoji).
    #[error("{0}")]
    Conflict(&'static str),
    /// The client message id was used for a message in another conversation.
    #[error("clientMessageId was already used for a message in another conversation")]
    ClientIdTaken,
    /// Over the sender's sending rate.
    #[error("sending too fast; retry later")]
    RateLimited(Duration),
    /// Storage could not commit; nothing was stored.
    #[error("storage is unavailable; nothing was stored, retry later")]
    Unavailable,
    /// Storage did not answer within the commit deadline: the change may or may not have been
    /// stored (and published); a send retried with the same client id is safe.
    #[error("storage did not answer in time; it may or may not have been stored, and a retry with the same clientMessageId is safe")]
    Overdue,
    /// An unexpected fault, logged once where it was met.
    #[error("internal server error")]
    Internal,
}

impl SendError {
    /// The contract's code for the error.
    pub fn code(&self) -> ErrorCode {
        match self {
            SendError::Invalid(_) => ErrorCode::Invalid,
            SendError::TooLarge(_) => ErrorCode::TooLarge,
            SendError::NotFound(_) => ErrorCode::NotFound,
            SendError::Blocked | SendError::Forbidden(_) => ErrorCode::Forbidden,
            SendError::Conflict(_) => ErrorCode::Conflict,
            SendError::ClientIdTaken => ErrorCode::Conflict,
            SendError::RateLimited(_) => ErrorCode::RateLimited,
            SendError::Unavailable | SendError::Overdue => ErrorCode::Unavailable,
            SendError::Internal => ErrorCode::Internal,
        }
    }

    /// An unexpected fault: logged here, exactly once.
    pub fn internal(cause: impl std::fmt::Display) -> SendError {
        log::error!(cause:% = cause; "internal error in a send");
        SendError::Internal
    }

    /// The conversation is missing or not the sender's.
    pub fn conversation_not_found() -> SendError {
        SendError::NotFound("conversation not found")
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            SendError::RateLimited(wait) => Some(*wait),
            SendError::Overdue => Some(OVERDUE_RETRY),
            _ => None,
        }
    }
}

impl From<DieselError> for SendError {
    fn from(err: DieselError) -> Self {
        if crate::db::is_outage(&err) {
            if crate::logging::bursts::storage_unavailable().admit() {
                log::warn!(cause:% = err; "database unavailable");
            }
            SendError::Unavailable
        } else {
            SendError::internal(err)
        }
    }
}

impl From<crate::db::PoolError> for SendError {
    fn from(err: crate::db::PoolError) -> Self {
        if crate::logging::bursts::storage_unavailable().admit() {
            log::warn!(cause:% = err; "no database connection");
        }
        SendError::Unavailable
    }
}

impl From<SendError> for ApiError {
    fn from(err: SendError) -> Self {
        ApiError {
            code: err.code(),
            message: err.to_string(),
            retry_after: err.retry_after(),
        }
    }
}

impl From<SendError> for StoreError {
    fn from(err: SendError) -> Self {
        StoreError {
            code: err.code(),
            message: err.to_string(),
            retry_after_ms: err
                .retry_after()
                .map(|wait| (wait.as_millis() as u64).max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_boundaries_get_the_same_code_message_and_wait() {
        let wait = Duration::from_millis(250);
        for err in [
            SendError::Invalid("body must not be empty".into()),
            SendError::Blocked,
            SendError::RateLimited(wait),
            SendError::Unavailable,
        ] {
            let api = ApiError::from(err.clone());
            let socket = StoreError::from(err.clone());
            assert_eq!(api.code, socket.code);
            assert_eq!(api.message, socket.message);
            assert_eq!(api.code, err.code());
        }
        let limited = SendError::RateLimited(wait);
        assert_eq!(ApiError::from(limited.clone()).retry_after, Some(wait));
        assert_eq!(StoreError::from(limited).retry_after_ms, Some(250));
        assert_eq!(SendError::Blocked.code(), ErrorCode::Forbidden);
    }
}
