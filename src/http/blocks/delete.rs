use actix_web::delete;
use actix_web::{web, HttpResponse};

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::openapi::NotFound;
use crate::http::validate;
use crate::models::block;
use crate::state::AppState;

/// `DELETE /api/blocks/{userId}` → 204, whether or not the user was blocked.
#[utoipa::path(
    operation_id = "unblockUser",
    tag = "safety",
    security(("bearer" = [])),
    params(("userId" = Uuid, Path, description = "The user")),
    responses(
        (status = 204, description = "Not blocked (whether or not the user was)"),
        (status = 404, response = NotFound),
    ),
)]
#[delete("/blocks/{userId}")]
pub async fn delete(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let target = validate::path_id(&path, || ApiError::not_found("user not found"))?;
    let mut conn = state.pool.get().await?;
    block::delete(&mut conn, me.id, target).await?;
    drop(conn);
    state.publisher.block_changed(me.id, target, false).await;
    Ok(HttpResponse::NoContent().finish())
}
