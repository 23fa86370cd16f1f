use crate::http::extract::Json;
use crate::http::openapi::{Conflict, Forbidden, NotFound};
use actix_web::post;
use actix_web::web;
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::conversations::load_for_member;
use crate::http::members;
use crate::http::validate;
use crate::http::views::ConversationView;
use crate::models::{member, user, workspace};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewMembers)]
pub struct AddBody {
    #[schema(value_type = Vec<uuid::Uuid>, min_items = 1)]
    user_ids: Vec<String>,
}

/// `POST /api/conversations/{id}/members` with `{ userIds }` (owners and admins of groups) →
/// the conversation. Users who already belong are left as they are; 409 past the size limit.
#[utoipa::path(
    operation_id = "addMembers",
    tag = "conversations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = AddBody,
    responses(
        (status = 200, description = "The conversation with its members", body = ConversationView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
#[post("/conversations/{id}/members")]
pub async fn add(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    body: Json<AddBody>,
) -> ApiResult<web::Json<ConversationView>> {
    let max = state.settings.limits.group_max_members;
    let ids = validate::user_ids(&body.user_ids, max)?;
    let mut conn = state.pool.get().await?;
    let (conversation, mine) = load_for_member(&mut conn, &path, me.id).await?;
    if conversation.is_dm() {
        return Err(ApiError::invalid(
            "a direct message always has exactly its two members",
        ));
    }
    if !mine.can_manage() {
        return Err(ApiError::forbidden("only owners and admins add members"));
    }
    if user::count_existing(&mut conn, &ids).await? != ids.len() as i64 {
        return Err(ApiError::not_found("user not found"));
    }
    // Those who already belong are left as they are: only newcomers are asked about.
    let current = member::user_ids(&mut conn, conversation.id).await?;
    let newcomers: Vec<_> = ids
        .iter()
        .copied()
        .filter(|id| !current.contains(id))
        .collect();
    members::may_add(&mut conn, me.id, &newcomers).await?;
    if let Some(space) = conversation.workspace_id {
        if workspace::count_members_among(&mut conn, space, &ids).await? != ids.len() as i64 {
            return Err(ApiError::invalid(
                "a channel's members must belong to its workspace",
            ));
        }
    }
    let id = conversation.id;
    let (group, added) = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            members::add_locked(conn, id, &ids, max).await
        })
        .await?;
    let body = members::announce_joined(&state, &mut conn, &group, &added).await?;
    Ok(web::Json(body))
}
