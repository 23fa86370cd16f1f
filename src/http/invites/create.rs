use actix_web::post;
use actix_web::{web, HttpResponse};
use chrono::{Duration, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{view, MAX_LIVE};
use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::conversations::load_for_member;
use crate::http::openapi::{Conflict, Forbidden, NotFound, RateLimited};
use crate::http::views::InviteView;
use crate::http::workspaces::load_for_member as load_workspace;
use crate::models::invite::{self, NewInvite};
use crate::state::AppState;
use utoipa::ToSchema;

const MIN_SECS: i64 = 60;
const MAX_SECS: i64 = 30 * 24 * 3600;
const DEFAULT_SECS: i64 = 7 * 24 * 3600;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = NewInvite)]
pub struct CreateBody {
    /// 60 s to 30 days; 7 days when left out.
    #[schema(minimum = 60, maximum = 2592000)]
    expires_in_secs: Option<i64>,
    /// How many may join through it; no limit when left out.
    #[schema(minimum = 1, maximum = 1000)]
    max_uses: Option<i32>,
}

/// The body of a create: empty (every default) or `{ expiresInSecs?, maxUses? }`.
fn parse(body: &[u8]) -> ApiResult<CreateBody> {
    let body: CreateBody = if crate::http::auth::is_empty_body(body) {
        CreateBody::default()
    } else {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::invalid("the body must be JSON text"))?;
        crate::http::extract::decode(text)?
    };
    if body
        .expires_in_secs
        .is_some_and(|s| !(MIN_SECS..=MAX_SECS).contains(&s))
    {
        return Err(ApiError::invalid(format!(
            "expiresInSecs must be {MIN_SECS}-{MAX_SECS}"
        )));
    }
    if body.max_uses.is_some_and(|n| !(1..=1000).contains(&n)) {
        return Err(ApiError::invalid("maxUses must be 1-1000"));
    }
    Ok(body)
}

/// `POST /api/conversations/{id}/invites` with `{ expiresInSecs?, maxUses? }` → 201 the Invite
/// (owners and admins of a group).
#[utoipa::path(
    operation_id = "createConversationInvite",
    tag = "invites",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body(content = Option<CreateBody>, description = "Every field may be left out"),
    responses(
        (status = 201, description = "The invite link", body = InviteView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 429, response = RateLimited),
    ),
)]
#[post("/conversations/{id}/invites")]
pub async fn for_conversation(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body = parse(&body)?;
    let mut conn = state.pool.get().await?;
    let (conversation, mine) = load_for_member(&mut conn, &path, me.id).await?;
    if conversation.is_dm() {
        return Err(ApiError::invalid("a direct message has no invite links"));
    }
    if !mine.can_manage() {
        return Err(ApiError::forbidden(
            "only owners and admins make invite links",
        ));
    }
    create(&state, me.id, Some(conversation.id), None, body).await
}

/// `POST /api/workspaces/{id}/invites` → 201 an Invite with `workspaceId` (owners and admins).
#[utoipa::path(
    operation_id = "createWorkspaceInvite",
    tag = "invites",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The workspace")),
    request_body(content = Option<CreateBody>, description = "Every field may be left out"),
    responses(
        (status = 201, description = "The invite link", body = InviteView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 429, response = RateLimited),
    ),
)]
#[post("/workspaces/{id}/invites")]
pub async fn for_workspace(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body = parse(&body)?;
    let mut conn = state.pool.get().await?;
    let (workspace, mine) = load_workspace(&mut conn, &path, me.id).await?;
    if !mine.can_manage() {
        return Err(ApiError::forbidden(
            "only owners and admins make invite links",
        ));
    }
    create(&state, me.id, None, Some(workspace.id), body).await
}

async fn create(
    state: &AppState,
    me: Uuid,
    conversation: Option<Uuid>,
    workspace: Option<Uuid>,
    body: CreateBody,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    if invite::count_live_of(&mut conn, conversation, workspace).await? >= MAX_LIVE {
        return Err(ApiError::conflict(format!(
            "at most {MAX_LIVE} invite links work at once; revoke one first"
        )));
    }
    let minted = state.invites.codes.mint();
    let expires_at = Utc::now() + Duration::seconds(body.expires_in_secs.unwrap_or(DEFAULT_SECS));
    let new = NewInvite {
        code_hash: &minted.hash,
        sealed_code: &minted.sealed,
        conversation_id: conversation,
        workspace_id: workspace,
        created_by: me,
        expires_at,
        max_uses: body.max_uses,
    };
    let created = invite::insert(&mut conn, &new).await?;
    log::info!(conversation_id:? = conversation, workspace_id:? = workspace; "invite link made");
    Ok(HttpResponse::Created().json(view(state, &created)?))
}
