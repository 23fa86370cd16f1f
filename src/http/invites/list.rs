use actix_web::get;
use actix_web::web;
use serde::Serialize;
use utoipa::ToSchema;

use super::{view, MAX_LIVE};
use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::conversations::load_for_member;
use crate::http::openapi::{Forbidden, NotFound};
use crate::http::views::InviteView;
use crate::http::workspaces::load_for_member as load_workspace;
use crate::models::invite;
use crate::state::AppState;

/// `{ invites }`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteList {
    pub invites: Vec<InviteView>,
}

/// `GET /api/conversations/{id}/invites` → `{ invites }`: the group's working links (owners and
/// admins).
#[utoipa::path(
    operation_id = "listConversationInvites",
    tag = "invites",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The group's working links", body = InviteList),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
#[get("/conversations/{id}/invites")]
pub async fn for_conversation(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<InviteList>> {
    let mut conn = state.pool.get().await?;
    let (conversation, mine) = load_for_member(&mut conn, &path, me.id).await?;
    if !mine.can_manage() {
        return Err(ApiError::forbidden(
            "only owners and admins see invite links",
        ));
    }
    let invites = invite::live_of(&mut conn, Some(conversation.id), None, MAX_LIVE).await?;
    let views = invites
        .iter()
        .map(|i| view(&state, i))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(InviteList { invites: views }))
}

/// `GET /api/workspaces/{id}/invites` → `{ invites }`: the workspace's working links (owners
/// and admins).
#[utoipa::path(
    operation_id = "listWorkspaceInvites",
    tag = "invites",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The workspace")),
    responses(
        (status = 200, description = "The workspace's working links", body = InviteList),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
#[get("/workspaces/{id}/invites")]
pub async fn for_workspace(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<InviteList>> {
    let mut conn = state.pool.get().await?;
    let (workspace, mine) = load_workspace(&mut conn, &path, me.id).await?;
    if !mine.can_manage() {
        return Err(ApiError::forbidden(
            "only owners and admins see invite links",
        ));
    }
    let invites = invite::live_of(&mut conn, None, Some(workspace.id), MAX_LIVE).await?;
    let views = invites
        .iter()
        .map(|i| view(&state, i))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(InviteList { invites: views }))
}
