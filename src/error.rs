//! The one error type of the HTTP boundary: a contract code, a message safe to show, and for
//! `rate_limited` the time to wait. Unexpected faults are logged once here and leak nothing.

use std::borrow::Cow;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
pub use confab_actors::ErrorCode;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after: Option<Duration>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::TooLarge, message)
    }

    pub fn rate_limited(message: impl Into<String>, retry_after: Duration) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(ErrorCode::RateLimited, message)
        }
    }

    /// A search too broad to answer within its time limit (PROTOCOL.md v1.2 §14).
    pub fn too_broad() -> Self {
        Self::new(
            ErrorCode::TooBroad,
            "this search is too broad to answer in time; add words to narrow it",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::Unavailable,
            "storage is unavailable; nothing was stored, retry later",
        )
    }

    /// An unexpected fault: logged here, exactly once, and shown to the client as a bare 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        log::error!(cause:% = cause; "internal error");
        Self::new(ErrorCode::Internal, "internal server error")
    }

    /// The standard message for a conversation that is missing or not the caller's.
    pub fn conversation_not_found() -> Self {
        Self::not_found("conversation not found")
    }
}

/// The error object of every HTTP error: `{"error": {"code", "message", "retryAfterMs"?}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

/// The contract's error codes (PROTOCOL.md, "Acks and errors"), as the `code` of an error:
/// `ErrorCode::ALL` itself, so the description lists exactly the codes the server speaks.
pub struct ErrorCodeSchema;

impl utoipa::PartialSchema for ErrorCodeSchema {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("One of the contract's error codes"))
            .enum_values(Some(ErrorCode::ALL.iter().map(|code| code.as_str())))
            .into()
    }
}

impl ToSchema for ErrorCodeSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// What went wrong: one of the contract's codes and a message safe to show.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail<'a> {
    #[schema(value_type = ErrorCodeSchema)]
    pub code: ErrorCode,
    #[schema(value_type = String)]
    pub message: &'a str,
    /// With `rate_limited`: how long to wait before trying again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(wait) = self.retry_after {
            response.insert_header((
                header::RETRY_AFTER,
                wait.as_secs_f64().ceil().max(1.0).to_string(),
            ));
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
                retry_after_ms: self.retry_after.map(|wait| wait.as_millis() as u64),
            },
        })
    }
}

impl From<DieselError> for ApiError {
    fn from(err: DieselError) -> Self {
        if crate::db::is_outage(&err) {
            if crate::logging::bursts::storage_unavailable().admit() {
                log::warn!(cause:% = err; "database unavailable");
            }
            ApiError::unavailable()
        } else {
            ApiError::internal(err)
        }
    }
}

impl From<crate::db::PoolError> for ApiError {
    fn from(err: crate::db::PoolError) -> Self {
        if crate::logging::bursts::storage_unavailable().admit() {
            log::warn!(cause:% = err; "no database connection");
        }
        ApiError::unavailable()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        ApiError::internal(err)
    }
}

/// Whether a diesel error is the violation of the named unique constraint or index.
pub fn is_unique_violation(err: &DieselError, constraint: &str) -> bool {
    matches!(err, DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
        if info.constraint_name() == Some(constraint))
}
