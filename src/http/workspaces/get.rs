use actix_web::get;
use actix_web::web;

use super::load_for_member;
use crate::error::ApiResult;
use crate::http::bearer::AuthUser;
use crate::http::openapi::NotFound;
use crate::http::views::WorkspaceView;
use crate::state::AppState;

/// `GET /api/workspaces/{id}` → the Workspace with the caller's role (404 unless a member).
#[utoipa::path(
    operation_id = "getWorkspace",
    tag = "workspaces",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The workspace")),
    responses(
        (status = 200, description = "The workspace with the caller's role", body = WorkspaceView),
        (status = 404, response = NotFound),
    ),
)]
#[get("/workspaces/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<WorkspaceView>> {
    let mut conn = state.pool.get().await?;
    let (space, mine) = load_for_member(&mut conn, &path, me.id).await?;
    Ok(web::Json(WorkspaceView::new(&space, &mine.role)))
}
