use actix_web::web;
use serde_json::{json, Value};

use super::{view, MAX_LIVE};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::http::conversations::load_for_member;
use crate::http::workspaces::load_for_member as load_workspace;
use crate::models::invite;
use crate::state::AppState;

/// `GET /api/conversations/{id}/invites` → `{ invites }`: the group's working links (owners and
/// admins).
pub async fn for_conversation(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<Value>> {
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
    Ok(web::Json(json!({ "invites": views })))
}

/// `GET /api/workspaces/{id}/invites` → `{ invites }`: the workspace's working links (owners
/// and admins).
pub async fn for_workspace(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<Value>> {
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
    Ok(web::Json(json!({ "invites": views })))
}
