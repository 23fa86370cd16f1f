use actix_web::web;
use serde_json::{json, Value};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::http::views::WorkspaceView;
use crate::models::workspace;
use crate::state::AppState;

/// Workspaces listed at most, by name.
const MAX_LISTED: i64 = 1_000;

/// `GET /api/workspaces` → `{ workspaces }`: the caller's, by name, with their role.
pub async fn list(state: web::Data<AppState>, me: AuthUser) -> ApiResult<web::Json<Value>> {
    let mut conn = state.pool.get().await?;
    let views: Vec<WorkspaceView> = workspace::of_user(&mut conn, me.id, MAX_LISTED)
        .await?
        .iter()
        .map(|(w, m)| WorkspaceView::new(w, &m.role))
        .collect();
    Ok(web::Json(json!({ "workspaces": views })))
}
