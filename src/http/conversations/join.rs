use actix_web::post;
use actix_web::web;
use diesel_async::AsyncConnection;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::members;
use crate::http::openapi::{Conflict, NotFound};
use crate::http::validate;
use crate::http::views::ConversationView;
use crate::models::{conversation, workspace};
use crate::state::AppState;

/// `POST /api/conversations/{id}/join`: a public channel of a workspace the caller belongs to
/// → the Conversation, the caller a member (already one: the same, unchanged). Anything else
/// is 404, as if it did not exist; `conflict` when the channel is full.
#[utoipa::path(
    operation_id = "joinChannel",
    tag = "workspaces",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "A public channel")),
    responses(
        (status = 200, description = "The channel, the caller a member", body = ConversationView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
#[post("/conversations/{id}/join")]
pub async fn join(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<ConversationView>> {
    let id = validate::path_id(&path, ApiError::conversation_not_found)?;
    let mut conn = state.pool.get().await?;
    let channel = conversation::find(&mut conn, id)
        .await?
        .filter(|c| c.is_public())
        .ok_or_else(ApiError::conversation_not_found)?;
    let space = channel
        .workspace_id
        .ok_or_else(ApiError::conversation_not_found)?;
    if workspace::member(&mut conn, space, me.id).await?.is_none() {
        return Err(ApiError::conversation_not_found());
    }
    let max = state.settings.limits.group_max_members;
    let user = me.id;
    let (group, added) = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            members::add_locked(conn, id, &[user], max).await
        })
        .await?;
    let body = members::announce_joined(&state, &mut conn, &group, &added).await?;
    Ok(web::Json(body))
}
