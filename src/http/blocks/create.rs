use actix_web::post;
use actix_web::{web, HttpResponse};

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::openapi::NotFound;
use crate::http::validate;
use crate::models::{block, user};
use crate::state::AppState;

/// `POST /api/blocks/{userId}` → 204. No DMs with the blocked user from then on, no adding
/// the blocker to groups, and the blocker's presence stops reaching them.
#[utoipa::path(
    operation_id = "blockUser",
    tag = "safety",
    security(("bearer" = [])),
    params(("userId" = Uuid, Path, description = "The user")),
    responses(
        (status = 204, description = "Blocked"),
        (status = 404, response = NotFound),
    ),
)]
#[post("/blocks/{userId}")]
pub async fn create(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let target = validate::path_id(&path, || ApiError::not_found("user not found"))?;
    if target == me.id {
        return Err(ApiError::invalid("you cannot block yourself"));
    }
    let mut conn = state.pool.get().await?;
    if user::find(&mut conn, target).await?.is_none() {
        return Err(ApiError::not_found("user not found"));
    }
    block::insert(&mut conn, me.id, target).await?;
    drop(conn);
    state.publisher.block_changed(me.id, target, true).await;
    Ok(HttpResponse::NoContent().finish())
}
