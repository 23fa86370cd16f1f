use actix_web::get;
use actix_web::web;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::http::bearer::AuthUser;
use crate::http::views::WorkspaceView;
use crate::models::workspace;
use crate::state::AppState;

/// Workspaces listed at most, by name.
const MAX_LISTED: i64 = 1_000;

/// `{ workspaces }`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceList {
    pub workspaces: Vec<WorkspaceView>,
}

/// `GET /api/workspaces` → `{ workspaces }`: the caller's, by name, with their role.
#[utoipa::path(
    operation_id = "listWorkspaces",
    tag = "workspaces",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's workspaces, by name", body = WorkspaceList)),
)]
#[get("/workspaces")]
pub async fn list(state: web::Data<AppState>, me: AuthUser) -> ApiResult<web::Json<WorkspaceList>> {
    let mut conn = state.pool.get().await?;
    let views: Vec<WorkspaceView> = workspace::of_user(&mut conn, me.id, MAX_LISTED)
        .await?
        .iter()
        .map(|(w, m)| WorkspaceView::new(w, &m.role))
        .collect();
    Ok(web::Json(WorkspaceList { workspaces: views }))
}
