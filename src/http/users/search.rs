use crate::http::extract::Query;
use actix_web::web;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::http::validate;
use crate::http::views::UserView;
use crate::http::workspaces::load_for_member as load_workspace;
use crate::models::user;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchQuery {
    q: String,
    limit: Option<i64>,
    workspace_id: Option<String>,
}

/// `GET /api/users/search?q=&limit=&workspaceId=` → `{ users }` whose username or display
/// name starts with `q`, ignoring case; with `workspaceId`, only members of that workspace
/// (404 unless the caller is one).
pub async fn search(
    state: web::Data<AppState>,
    me: AuthUser,
    query: Query<SearchQuery>,
) -> ApiResult<web::Json<Value>> {
    let prefix = validate::text("q", &query.q, 1, 64)?;
    let limit = validate::limit(query.limit, 20, 50)?;
    let mut conn = state.pool.get().await?;
    let workspace = match query.workspace_id.as_deref() {
        Some(id) => Some(load_workspace(&mut conn, id, me.id).await?.0.id),
        None => None,
    };
    let users: Vec<UserView> = user::search(&mut conn, &prefix, workspace, limit)
        .await?
        .iter()
        .map(Into::into)
        .collect();
    Ok(web::Json(json!({ "users": users })))
}
