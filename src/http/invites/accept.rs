use actix_web::post;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use diesel_async::AsyncConnection;
use uuid::Uuid;

use super::{code_hash, invite_not_found};
use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::client_ip;
use crate::http::members;
use crate::http::openapi::{Conflict, Forbidden, NotFound, RateLimited};
use crate::http::views::ConversationView;
use crate::http::views::WorkspaceView;
use crate::invites::Outcome;
use crate::models::conversation::{self, Conversation};
use crate::models::workspace::{self, NewWorkspaceMember, MEMBER};
use crate::models::{block, invite};
use crate::state::AppState;
use serde::Serialize;
use utoipa::ToSchema;

/// What an accept answers: the group joined, or the workspace joined.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Joined {
    Conversation(ConversationView),
    Workspace(WorkspaceView),
}

/// What an accept came to.
enum Accepted {
    /// Joined a group (`added` is empty when the user already belonged: no use counted).
    Group(Conversation, Vec<Uuid>),
    /// Joined a workspace, or already belonged.
    Workspace(workspace::Workspace, String),
}

/// `POST /api/invites/{code}/accept` → the Conversation (the caller joins it as a member and
/// the link counts one use; already a member: 200 and no use), or for a workspace's link the
/// Workspace. 404 when the code is unknown, expired, revoked or used up; `forbidden` when the
/// group's owner has blocked the caller; `conflict` when the group is full. Uses are counted
/// under the invite's row lock, so a link of N uses admits N.
#[utoipa::path(
    operation_id = "acceptInvite",
    tag = "invites",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The invite code")),
    responses(
        (status = 200, description = "The group joined (a Conversation), or the workspace joined (a Workspace)", body = Joined),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 429, response = RateLimited),
    ),
)]
#[post("/invites/{code}/accept")]
pub async fn accept(
    state: web::Data<AppState>,
    me: AuthUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let address = client_ip(&req, state.settings.server.trust_proxy_headers);
    state.invites.spend(me.id, &address)?;
    let hash = match code_hash(&path) {
        Ok(hash) => hash,
        Err(err) => {
            state.invites.record(Outcome::Unknown, me.id, &address);
            return Err(err);
        }
    };
    let max = state.settings.limits.group_max_members;
    let workspace_max = state.settings.limits.workspace_max_members;
    let user = me.id;
    let mut conn = state.pool.get().await?;
    let accepted = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let found = invite::lock(conn, &hash)
                .await?
                .filter(|i| i.works(Utc::now()))
                .ok_or_else(invite_not_found)?;
            if let Some(id) = found.conversation_id {
                if let Some((group, _)) = conversation::find_for_member(conn, id, user).await? {
                    return Ok(Accepted::Group(group, Vec::new()));
                }
                let group = conversation::find(conn, id)
                    .await?
                    .ok_or_else(invite_not_found)?;
                if let Some(w) = group.workspace_id {
                    if workspace::member(conn, w, user).await?.is_none() {
                        return Err(invite_not_found());
                    }
                }
                if block::by_owner_of(conn, id, user).await? {
                    return Err(ApiError::forbidden(
                        "the group's owner has blocked you; you cannot join it",
                    ));
                }
                let (group, added) = members::add_locked(conn, id, &[user], max).await?;
                if !added.is_empty() {
                    invite::use_once(conn, &hash).await?;
                }
                return Ok(Accepted::Group(group, added));
            }
            let w = found.workspace_id.ok_or_else(invite_not_found)?;
            let space = workspace::lock(conn, w)
                .await?
                .ok_or_else(invite_not_found)?;
            if let Some(mine) = workspace::member(conn, w, user).await? {
                return Ok(Accepted::Workspace(space, mine.role));
            }
            if workspace::count_members(conn, w).await? >= workspace_max as i64 {
                return Err(ApiError::conflict(format!(
                    "a workspace has at most {workspace_max} members"
                )));
            }
            let new = NewWorkspaceMember {
                workspace_id: w,
                user_id: user,
                role: MEMBER,
            };
            workspace::insert_members(conn, &[new]).await?;
            invite::use_once(conn, &hash).await?;
            Ok(Accepted::Workspace(space, MEMBER.to_string()))
        })
        .await;
    let accepted = match accepted {
        Ok(accepted) => accepted,
        Err(err) => {
            if err.code == crate::error::ErrorCode::NotFound {
                state.invites.record(Outcome::Unknown, me.id, &address);
            }
            return Err(err);
        }
    };
    state.invites.record(Outcome::Found, me.id, &address);
    match accepted {
        Accepted::Group(group, added) => {
            let body = members::announce_joined(&state, &mut conn, &group, &added).await?;
            Ok(HttpResponse::Ok().json(Joined::Conversation(body)))
        }
        Accepted::Workspace(space, role) => {
            log::info!(workspace_id:% = space.id, user_id:% = me.id; "workspace joined by invite");
            Ok(HttpResponse::Ok().json(Joined::Workspace(WorkspaceView::new(&space, &role))))
        }
    }
}
