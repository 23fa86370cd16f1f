use actix_web::post;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{presented_refresh_token, RefreshBody};
use crate::auth::refresh;
use crate::error::ApiResult;
use crate::http::openapi::Forbidden;
use crate::models::refresh_token;
use crate::state::AppState;

/// `POST /api/auth/logout` → 204. Revokes the presented refresh token (and its family) and
/// clears the cookie. Without a token there is nothing to revoke, and the answer is the same.
/// With the cookie, a request from another origin is `forbidden` and revokes nothing.
#[utoipa::path(
    operation_id = "logout",
    tag = "auth",
    request_body(content = Option<RefreshBody>, description = "For clients without cookies: the refresh token in the body"),
    security((), ("refreshCookie" = [])),
    responses(
        (status = 204, description = "The refresh token's family is revoked and the cookie cleared"),
        (status = 403, response = Forbidden),
    ),
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    if let Some(token) = presented_refresh_token(&req, &state, &body)? {
        let mut conn = state.pool.get().await?;
        let revoked = refresh_token::revoke_family_of(&mut conn, &refresh::hash(&token)).await?;
        drop(conn);
        // The family's sockets end too, on every node.
        if let Some((user_id, family_id)) = revoked {
            state.publisher.family_revoked(user_id, family_id).await;
        }
    }
    Ok(HttpResponse::NoContent()
        .cookie(refresh::removal_cookie(&state.settings.auth))
        .finish())
}
