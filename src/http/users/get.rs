use actix_web::get;
use actix_web::web;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::openapi::NotFound;
use crate::http::validate;
use crate::http::views::{ProfileView, UserView};
use crate::models::user;
use crate::state::AppState;

fn user_not_found() -> ApiError {
    ApiError::not_found("user not found")
}

/// `GET /api/users/{id}` → the User (public profile), or `{ id, deleted: true }` for a deleted
/// account (its messages stay, and clients still look their sender up); 404.
#[utoipa::path(
    operation_id = "getUser",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user")),
    responses(
        (status = 200, description = "The public profile, or `{ id, deleted: true }`", body = ProfileView),
        (status = 404, response = NotFound),
    ),
)]
#[get("/users/{id}")]
pub async fn by_id(
    state: web::Data<AppState>,
    _me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<ProfileView>> {
    let id = validate::path_id(&path, user_not_found)?;
    let mut conn = state.pool.get().await?;
    let found = user::find_any(&mut conn, id)
        .await?
        .ok_or_else(user_not_found)?;
    Ok(web::Json((&found).into()))
}

/// `GET /api/users/by-username/{username}` → the User whose username is this one, ignoring
/// case (usernames are unique ignoring case); 404, also for a deleted account's reserved name.
#[utoipa::path(
    operation_id = "getUserByUsername",
    tag = "users",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "The username, in any case")),
    responses(
        (status = 200, description = "The public profile", body = UserView),
        (status = 404, response = NotFound),
    ),
)]
#[get("/users/by-username/{username}")]
pub async fn by_username(
    state: web::Data<AppState>,
    _me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<UserView>> {
    // No username is empty, longer than 64 characters or holds a control character (a NUL
    // would not even reach PostgreSQL): such a name is simply not found.
    if path.is_empty() || path.chars().count() > 64 || path.chars().any(char::is_control) {
        return Err(user_not_found());
    }
    let mut conn = state.pool.get().await?;
    let found = user::find_by_username(&mut conn, &path)
        .await?
        .ok_or_else(user_not_found)?;
    Ok(web::Json((&found).into()))
}
