use actix_web::get;
use actix_web::web;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::views::MeView;
use crate::models::user;
use crate::state::AppState;

/// `GET /api/me` → the signed-in user, with email.
#[utoipa::path(
    operation_id = "getMe",
    tag = "users",
    security(("bearer" = [])),
    responses((status = 200, description = "The signed-in user, with email and settings", body = MeView)),
)]
#[get("/me")]
pub async fn get(state: web::Data<AppState>, me: AuthUser) -> ApiResult<web::Json<MeView>> {
    let mut conn = state.pool.get().await?;
    let user = user::find(&mut conn, me.id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account no longer exists"))?;
    Ok(web::Json((&user).into()))
}
