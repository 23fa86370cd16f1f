use actix_web::post;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{issue_tokens, presented_refresh_token, AccessToken, RefreshBody};
use crate::auth::refresh as refresh_tokens;
use crate::error::{ApiError, ApiResult};
use crate::http::openapi::{Forbidden, Unauthorized};
use crate::models::refresh_token::{self, Redeemed};
use crate::models::user;
use crate::state::AppState;

/// `POST /api/auth/refresh` with the refresh cookie (or `{ refreshToken }`) → 200
/// `{ accessToken }` and a new refresh cookie. The presented token is used up; presenting a
/// used token again revokes its whole family. With the cookie, a request from another origin
/// is `forbidden`.
#[utoipa::path(
    operation_id = "refresh",
    tag = "auth",
    request_body(content = Option<RefreshBody>, description = "For clients without cookies: the refresh token in the body"),
    security((), ("refreshCookie" = [])),
    responses(
        (status = 200, description = "A new access token; the refresh cookie is rotated", body = AccessToken,
            headers(("set-cookie" = String, description = "`confab_refresh`, HttpOnly"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let token = presented_refresh_token(&req, &state, &body)?
        .ok_or_else(|| ApiError::unauthorized("missing refresh token"))?;
    let mut conn = state.pool.get().await?;
    let (user_id, family_id) =
        match refresh_token::redeem(&mut conn, &refresh_tokens::hash(&token)).await? {
            Redeemed::Valid { user_id, family_id } => (user_id, family_id),
            Redeemed::Reused { user_id, family_id } => {
                log::warn!(user_id:% = user_id; "refresh token reused; its family is revoked");
                state.publisher.family_revoked(user_id, family_id).await;
                return Err(ApiError::unauthorized(
                    "refresh token was already used; please log in again",
                ));
            }
            Redeemed::Invalid => {
                return Err(ApiError::unauthorized("invalid or expired refresh token"))
            }
        };
    if user::find(&mut conn, user_id).await?.is_none() {
        return Err(ApiError::unauthorized("invalid or expired refresh token"));
    }
    let (access_token, cookie) = issue_tokens(&state, &mut conn, user_id, Some(family_id)).await?;
    Ok(HttpResponse::Ok()
        .cookie(cookie)
        .json(AccessToken { access_token }))
}
