use actix_web::delete;
use actix_web::{web, HttpResponse};
use diesel_async::AsyncConnection;

use super::load_for_member;
use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::openapi::{Forbidden, NotFound};
use crate::models::conversation;
use crate::models::member::OWNER;
use crate::state::AppState;

/// `DELETE /api/conversations/{id}` → 204: a group's owner deletes it for everyone, with its
/// messages. Every member's sockets, on every node, leave its room and get
/// `conversation:removed`; the conversation is `not_found` from then on.
#[utoipa::path(
    operation_id = "deleteConversation",
    tag = "conversations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    responses(
        (status = 204, description = "Deleted for everyone, with its messages"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
#[delete("/conversations/{id}")]
pub async fn delete(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let (found, mine) = load_for_member(&mut conn, &path, me.id).await?;
    if found.is_dm() || mine.role != OWNER {
        return Err(ApiError::forbidden("only a group's owner deletes it"));
    }
    let id = found.id;
    let members = conn
        .transaction::<_, ApiError, _>(async move |conn| Ok(conversation::delete(conn, id).await?))
        .await?;
    log::info!(conversation_id:% = id, user_id:% = me.id, members = members.len(); "group deleted");
    for member in members {
        state.publisher.conversation_removed(member, id).await;
    }
    Ok(HttpResponse::NoContent().finish())
}
