//! The `AuthUser` extractor: the user a request acts for, from its bearer access token.

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use crate::auth::{Access, TokenError};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The user a request acts for, from its `Authorization: Bearer <access token>` header: a
/// valid token of an account that still exists, of a refresh-token family not revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub id: Uuid,
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let checked = req
            .app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("application state missing"))
            .and_then(|state| authenticate(req, &state).map(|access| (state, access)));
        Box::pin(async move {
            let (state, access) = checked?;
            let mut conn = state.pool.get().await?;
            if crate::models::user::credentials_hold(&mut conn, access.user, access.family).await? {
                Ok(AuthUser { id: access.user })
            } else {
                Err(ApiError::unauthorized(
                    "these credentials are no longer valid",
                ))
            }
        })
    }
}

fn authenticate(req: &HttpRequest, state: &AppState) -> Result<Access, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(bearer_token)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
        })?;
    match state.jwt.verify(token) {
        Ok(access) => Ok(access),
        Err(TokenError::Expired) => Err(ApiError::new(
            ErrorCode::TokenExpired,
            "access token expired",
        )),
        Err(TokenError::Invalid) => Err(ApiError::unauthorized("invalid access token")),
    }
}

/// The token of an `Authorization` value in the `Bearer` scheme, whose name is
/// case-insensitive (RFC 7235, section 2.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_scheme_name_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER  abc ", " bEaReR abc"] {
            assert_eq!(bearer_token(value), Some("abc"), "{value:?}");
        }
        for value in ["Basic abc", "Bearerabc", "abc", ""] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }
}
