use actix_web::get;
use actix_web::{web, HttpRequest};
use chrono::Utc;

use super::{code_hash, invite_not_found};
use crate::error::ApiResult;
use crate::http::bearer::AuthUser;
use crate::http::client_ip;
use crate::http::openapi::{NotFound, RateLimited};
use crate::invites::Outcome;
use crate::messaging::view::timestamp;
use crate::models::{conversation, invite, workspace};
use crate::state::AppState;
use serde::Serialize;
use utoipa::ToSchema;

/// What an invite link opens, before it is accepted: a group or a workspace.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitePreview {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<InvitedGroup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<InvitedWorkspace>,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// The group an invite opens.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitedGroup {
    pub id: uuid::Uuid,
    pub title: Option<String>,
    pub member_count: i64,
}

/// The workspace an invite opens.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitedWorkspace {
    pub id: uuid::Uuid,
    pub name: String,
    pub member_count: i64,
}

/// `GET /api/invites/{code}` (any signed-in user) → `{ code, conversation: { id, title,
/// memberCount }, expiresAt }` (or `workspace: { id, name, memberCount }` for a workspace's
/// link); 404 when the code is unknown, expired, revoked or used up. Spends the caller's rate
/// of invite look-ups.
#[utoipa::path(
    operation_id = "getInvite",
    tag = "invites",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The invite code")),
    responses(
        (status = 200, description = "What the link opens", body = InvitePreview),
        (status = 404, response = NotFound),
        (status = 429, response = RateLimited),
    ),
)]
#[get("/invites/{code}")]
pub async fn get(
    state: web::Data<AppState>,
    me: AuthUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<web::Json<InvitePreview>> {
    let address = client_ip(&req, state.settings.server.trust_proxy_headers);
    state.invites.spend(me.id, &address)?;
    let found = match lookup(&state, me.id, &path).await? {
        Some(found) => found,
        None => {
            state.invites.record(Outcome::Unknown, me.id, &address);
            return Err(invite_not_found());
        }
    };
    state.invites.record(Outcome::Found, me.id, &address);
    Ok(web::Json(found))
}

async fn lookup(state: &AppState, me: uuid::Uuid, code: &str) -> ApiResult<Option<InvitePreview>> {
    let Ok(hash) = code_hash(code) else {
        return Ok(None);
    };
    let mut conn = state.pool.get().await?;
    let Some(found) = invite::find(&mut conn, &hash).await? else {
        return Ok(None);
    };
    if !found.works(Utc::now()) {
        return Ok(None);
    }
    let expires_at = timestamp(&found.expires_at);
    if let Some(id) = found.conversation_id {
        let Some((group, members)) = conversation::with_member_count(&mut conn, id).await? else {
            return Ok(None);
        };
        // A channel's link opens only to members of its workspace.
        if let Some(w) = group.workspace_id {
            if workspace::member(&mut conn, w, me).await?.is_none() {
                return Ok(None);
            }
        }
        return Ok(Some(InvitePreview {
            code: code.to_string(),
            conversation: Some(InvitedGroup {
                id: group.id,
                title: group.title,
                member_count: members,
            }),
            workspace: None,
            expires_at,
        }));
    }
    let Some(w) = found.workspace_id else {
        return Ok(None);
    };
    let Some(space) = workspace::find(&mut conn, w).await? else {
        return Ok(None);
    };
    let members = workspace::count_members(&mut conn, w).await?;
    Ok(Some(InvitePreview {
        code: code.to_string(),
        conversation: None,
        workspace: Some(InvitedWorkspace {
            id: space.id,
            name: space.name,
            member_count: members,
        }),
        expires_at,
    }))
}
