use actix_web::{web, HttpResponse};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::http::validate;
use crate::models::block;
use crate::state::AppState;

/// `DELETE /api/blocks/{userId}` → 204, whether or not the user was blocked.
pub async fn delete(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let target = validate::path_id(&path, || ApiError::not_found("user not found"))?;
    let mut conn = state.pool.get().await?;
    block::delete(&mut conn, me.id, target).await?;
    drop(conn);
    state.chat.block_changed(me.id, target, false).await;
    Ok(HttpResponse::NoContent().finish())
}
