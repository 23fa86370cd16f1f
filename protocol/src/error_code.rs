//! The stable error codes of the wire contract (PROTOCOL.md, "Acks and errors").

use std::fmt;

use serde::Serialize;

/// One of the contract's error codes, serialised in `snake_case` (`"not_found"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The payload is not an object, a field is missing or has the wrong type or range.
    Invalid,
    /// No valid credentials.
    Unauthorized,
    /// The access token was valid but has expired.
    TokenExpired,
    /// The resource does not exist, or the user may not know that it does.
    NotFound,
    /// A member lacks the role for the action, or a block forbids it.
    Forbidden,
    /// The action clashes with the current state (taken name, full group, ...).
    Conflict,
    /// A body or attachment is over its limit.
    TooLarge,
    /// Over a rate limit; the error carries `retryAfterMs`.
    RateLimited,
    /// Storage could not commit; nothing was stored; the request may be retried.
    Unavailable,
    /// An unexpected server fault (logged on the server, never detailed to the client).
    Internal,
    /// A search too broad to answer within its cost budget; more words narrow it (v1.2).
    TooBroad,
}

impl ErrorCode {
    /// Every code, in the contract's order.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::Invalid,
        ErrorCode::Unauthorized,
        ErrorCode::TokenExpired,
        ErrorCode::NotFound,
        ErrorCode::Forbidden,
        ErrorCode::Conflict,
        ErrorCode::TooLarge,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
        ErrorCode::TooBroad,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Invalid => "invalid",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Conflict => "conflict",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::TooBroad => "too_broad",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Invalid | ErrorCode::TooBroad => 400,
            ErrorCode::Unauthorized | ErrorCode::TokenExpired => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde_names() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::from(code.as_str()));
        }
    }
}
