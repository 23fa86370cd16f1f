use crate::http::extract::Json;
use actix_web::web;
use diesel_async::AsyncConnection;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::http::conversations::{announce_added, load_for_member, view};
use crate::http::validate;
use crate::http::views::ConversationView;
use crate::models::member::{self, NewMember, MEMBER};
use crate::models::{block, conversation, user};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddBody {
    user_ids: Vec<String>,
}

/// `POST /api/conversations/{id}/members` with `{ userIds }` (owners and admins of groups) →
/// the conversation. Users who already belong are left as they are; 409 past the size limit.
pub async fn add(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    body: Json<AddBody>,
) -> ApiResult<web::Json<ConversationView>> {
    let max = state.settings.limits.group_max_members;
    if body.user_ids.is_empty() || body.user_ids.len() > max {
        return Err(ApiError::invalid(format!(
            "userIds must hold 1-{max} user ids"
        )));
    }
    let mut ids: Vec<Uuid> = Vec::with_capacity(body.user_ids.len());
    for id in &body.user_ids {
        let id = validate::uuid("userIds", id)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
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
    if block::any_blocked(&mut conn, &ids, me.id).await? {
        return Err(ApiError::forbidden(
            "someone you listed has blocked you and cannot be added",
        ));
    }
    let id = conversation.id;
    let added = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            // The row lock serialises concurrent additions, so the limit cannot be overrun.
            conversation::lock(conn, id).await?;
            let current = member::user_ids(conn, id).await?;
            let new: Vec<NewMember> = ids
                .iter()
                .filter(|user_id| !current.contains(user_id))
                .map(|&user_id| NewMember {
                    conversation_id: id,
                    user_id,
                    role: MEMBER,
                })
                .collect();
            if current.len() + new.len() > max {
                return Err(ApiError::conflict(format!(
                    "a group has at most {max} members"
                )));
            }
            member::insert_many(conn, &new).await?;
            Ok(new.iter().map(|m| m.user_id).collect::<Vec<_>>())
        })
        .await?;
    log::info!(conversation_id:% = id, added = added.len(); "members added");
    let body = view(&mut conn, &conversation).await?;
    announce_added(&state, &added, &body).await;
    Ok(web::Json(body))
}
