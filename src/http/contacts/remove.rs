use actix_web::delete;
use actix_web::{web, HttpResponse};

use super::tell_both;
use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::openapi::NotFound;
use crate::http::validate;
use crate::models::contact;
use crate::state::AppState;

fn contact_not_found() -> ApiError {
    ApiError::not_found("contact not found")
}

/// `DELETE /api/contacts/{userId}` → 204; both users' sockets get `contact:updated`
/// `{ userId, contact: false }`. 404 when they were not contacts.
#[utoipa::path(
    operation_id = "removeContact",
    tag = "contacts",
    security(("bearer" = [])),
    params(("userId" = Uuid, Path, description = "The user")),
    responses(
        (status = 204, description = "No longer contacts"),
        (status = 404, response = NotFound),
    ),
)]
#[delete("/contacts/{userId:[0-9a-fA-F-]+}")]
pub async fn remove(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let other = validate::path_id(&path, contact_not_found)?;
    let mut conn = state.pool.get().await?;
    if contact::disconnect(&mut conn, me.id, other).await? == 0 {
        return Err(contact_not_found());
    }
    log::info!(user_id:% = other; "contact removed");
    tell_both(&state, me.id, other, false).await;
    Ok(HttpResponse::NoContent().finish())
}
