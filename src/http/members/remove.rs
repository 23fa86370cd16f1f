use actix_web::{web, HttpResponse};
use diesel_async::AsyncConnection;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::http::conversations::load_for_member;
use crate::http::validate;
use crate::models::conversation;
use crate::models::member::{self, MEMBER, OWNER};
use crate::state::AppState;

fn member_not_found() -> ApiError {
    ApiError::not_found("member not found")
}

/// `DELETE /api/conversations/{id}/members/{userId}` → 204. Owners remove anyone, admins
/// remove members, anyone removes themself (leaves). An owner who leaves hands the group to
/// the longest-standing admin, else member.
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
        if mine.role != OWNER && target.role != MEMBER {
            return Err(ApiError::forbidden("admins remove members only"));
        }
        target
    };
    let id = conversation.id;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        conversation::lock(conn, id).await?;
        if member::delete(conn, id, target.user_id).await? == 0 {
            return Err(member_not_found());
        }
        if target.role == OWNER {
            if let Some(heir) = member::successor(conn, id).await? {
                member::set_role(conn, id, heir.user_id, OWNER).await?;
            }
        }
        Ok(())
    })
    .await?;
    log::info!(conversation_id:% = id, user_id:% = target_id; "member removed");
    state.chat.conversation_removed(target_id, id).await;
    Ok(HttpResponse::NoContent().finish())
}
