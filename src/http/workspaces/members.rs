use actix_web::{delete, post};
use actix_web::{web, HttpResponse};
use diesel_async::AsyncConnection;
use serde::Deserialize;

use super::{load_for_member, workspace_not_found};
use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::extract::Json;
use crate::http::members;
use crate::http::openapi::{Conflict, Forbidden, NotFound};
use crate::http::validate;
use crate::http::views::WorkspaceView;
use crate::models::conversation::{self, Conversation};
use crate::models::workspace::{self, NewWorkspaceMember, MEMBER, OWNER};
use crate::models::{member, user};
use crate::state::AppState;
use utoipa::ToSchema;

/// User ids one request adds at most.
const MAX_ADDED: usize = 1_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = NewWorkspaceMembers)]
pub struct AddBody {
    #[schema(value_type = Vec<uuid::Uuid>, min_items = 1)]
    user_ids: Vec<String>,
}

fn member_not_found() -> ApiError {
    ApiError::not_found("member not found")
}

/// `POST /api/workspaces/{id}/members` with `{ userIds }` (owners and admins) → the Workspace.
/// Users who already belong are left as they are; `conflict` past the workspace's size limit.
#[utoipa::path(
    operation_id = "addWorkspaceMembers",
    tag = "workspaces",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The workspace")),
    request_body = AddBody,
    responses(
        (status = 200, description = "The workspace", body = WorkspaceView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
#[post("/workspaces/{id}/members")]
pub async fn add(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    body: Json<AddBody>,
) -> ApiResult<web::Json<WorkspaceView>> {
    let ids = validate::user_ids(&body.user_ids, MAX_ADDED)?;
    let mut conn = state.pool.get().await?;
    let (space, mine) = load_for_member(&mut conn, &path, me.id).await?;
    if !mine.can_manage() {
        return Err(ApiError::forbidden("only owners and admins add members"));
    }
    if user::count_existing(&mut conn, &ids).await? != ids.len() as i64 {
        return Err(ApiError::not_found("user not found"));
    }
    let max = state.settings.limits.workspace_max_members;
    let id = space.id;
    let added = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            workspace::lock(conn, id)
                .await?
                .ok_or_else(workspace_not_found)?;
            let new: Vec<NewWorkspaceMember> = ids
                .iter()
                .map(|&user_id| NewWorkspaceMember {
                    workspace_id: id,
                    user_id,
                    role: MEMBER,
                })
                .collect();
            let added = workspace::insert_members(conn, &new).await?;
            if workspace::count_members(conn, id).await? > max as i64 {
                return Err(ApiError::conflict(format!(
                    "a workspace has at most {max} members"
                )));
            }
            Ok(added)
        })
        .await?;
    log::info!(workspace_id:% = id, added = added.len(); "workspace members added");
    Ok(web::Json(WorkspaceView::new(&space, &mine.role)))
}

/// `DELETE /api/workspaces/{id}/members/{userId}` → 204. Owners remove anyone, admins remove
/// members, anyone removes themself (leaves). Leaving a workspace also leaves every channel of
/// it (live `conversation:removed`); an owner who leaves hands it to the longest-standing
/// admin, else member.
#[utoipa::path(
    operation_id = "removeWorkspaceMember",
    tag = "workspaces",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The workspace"), ("userId" = Uuid, Path, description = "The user")),
    responses(
        (status = 204, description = "Removed (or left), with the workspace's channels"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
#[delete("/workspaces/{id}/members/{userId}")]
pub async fn remove(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (workspace_id, user_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (space, mine) = load_for_member(&mut conn, &workspace_id, me.id).await?;
    let target_id = validate::path_id(&user_id, member_not_found)?;
    let target = if target_id == me.id {
        mine.clone()
    } else {
        if !mine.can_manage() {
            return Err(ApiError::forbidden(
                "only owners and admins remove other members",
            ));
        }
        let target = workspace::member(&mut conn, space.id, target_id)
            .await?
            .ok_or_else(member_not_found)?;
        validate::may_remove(&mine.role, &target.role)?;
        target
    };
    let id = space.id;
    let left: Vec<Conversation> = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            workspace::lock(conn, id)
                .await?
                .ok_or_else(workspace_not_found)?;
            if workspace::delete_member(conn, id, target.user_id).await? == 0 {
                return Err(member_not_found());
            }
            if target.role == OWNER {
                if let Some(heir) = workspace::successor(conn, id).await? {
                    workspace::set_role(conn, id, heir, OWNER).await?;
                }
            }
            let mut left = Vec::new();
            for channel in conversation::channels_of_member(conn, id, target.user_id).await? {
                let Some(membership) = member::find(conn, channel, target.user_id).await? else {
                    continue;
                };
                if members::remove_locked(conn, channel, &membership).await? {
                    left.push(conversation::lock(conn, channel).await?);
                }
            }
            Ok(left)
        })
        .await?;
    log::info!(workspace_id:% = id, user_id:% = target_id, channels = left.len(); "workspace member removed");
    for channel in &left {
        members::announce_left(&state, channel, target_id).await;
    }
    Ok(HttpResponse::NoContent().finish())
}
