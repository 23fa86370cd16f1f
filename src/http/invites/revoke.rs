use actix_web::delete;
use actix_web::{web, HttpResponse};

use super::{code_hash, invite_not_found, standing};
use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::openapi::{Forbidden, NotFound};
use crate::models::invite;
use crate::state::AppState;

/// `DELETE /api/invites/{code}` → 204: the link stops working at once (owners and admins of its
/// group or workspace; `forbidden` for its other members, 404 for anyone else, as for an
/// unknown code).
#[utoipa::path(
    operation_id = "revokeInvite",
    tag = "invites",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The invite code")),
    responses(
        (status = 204, description = "The link stopped working"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
#[delete("/invites/{code}")]
pub async fn revoke(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let hash = code_hash(&path)?;
    let mut conn = state.pool.get().await?;
    let found = invite::find(&mut conn, &hash)
        .await?
        .ok_or_else(invite_not_found)?;
    match standing(&mut conn, &found, me.id).await? {
        Some(true) => {}
        Some(false) => {
            return Err(ApiError::forbidden(
                "only owners and admins revoke invite links",
            ))
        }
        None => return Err(invite_not_found()),
    }
    if invite::revoke(&mut conn, &hash).await? > 0 {
        log::info!(conversation_id:? = found.conversation_id, workspace_id:? = found.workspace_id; "invite link revoked");
    }
    Ok(HttpResponse::NoContent().finish())
}
