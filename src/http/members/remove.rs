use actix_web::delete;
use actix_web::{web, HttpResponse};
use diesel_async::AsyncConnection;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::conversations::load_for_member;
use crate::http::members;
use crate::http::openapi::{Forbidden, NotFound};
use crate::http::validate;
use crate::models::conversation;
use crate::models::member;
use crate::state::AppState;

fn member_not_found() -> ApiError {
    ApiError::not_found("member not found")
}

/// `DELETE /api/conversations/{id}/members/{userId}` → 204. Owners remove anyone, admins
/// remove members, anyone removes themself (leaves). An owner who leaves hands the group to
/// the longest-standing admin, else member.
#[utoipa::path(
    operation_id = "removeMember",
    tag = "conversations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation"), ("userId" = Uuid, Path, description = "The user")),
    responses(
        (status = 204, description = "Removed (or left)"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
#[delete("/conversations/{id}/members/{userId}")]
pub async fn remove(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (conversation_id, user_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (conversation, mine) = load_for_member(&mut conn, &conversation_id, me.id).await?;
    let target_id = validate::path_id(&user_id, member_not_found)?;
    if conversation.is_dm() {
        return Err(ApiError::invalid(
            "a direct message always has exactly its two members",
        ));
    }
    let target = if target_id == me.id {
        mine.clone()
    } else {
        if !mine.can_manage() {
            return Err(ApiError::forbidden(
                "only owners and admins remove other members",
            ));
        }
        let target = member::find(&mut conn, conversation.id, target_id)
            .await?
            .ok_or_else(member_not_found)?;
        validate::may_remove(&mine.role, &target.role)?;
        target
    };
    let id = conversation.id;
    let group = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            if !members::remove_locked(conn, id, &target).await? {
                return Err(member_not_found());
            }
            Ok(conversation::lock(conn, id).await?)
        })
        .await?;
    members::announce_left(&state, &group, target_id).await;
    Ok(HttpResponse::NoContent().finish())
}
