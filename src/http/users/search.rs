use crate::http::extract::Query;
use crate::http::openapi::NotFound;
use actix_web::get;
use actix_web::web;
use serde::Deserialize;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;
use crate::http::bearer::AuthUser;
use crate::http::validate;
use crate::http::views::UserView;
use crate::http::workspaces::load_for_member as load_workspace;
use crate::models::user;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The start of a username or display name.
    #[param(min_length = 1, max_length = 64, pattern = r"\S")]
    q: String,
    /// At most 50; 20 when left out.
    #[param(minimum = 1, maximum = 50)]
    limit: Option<i64>,
    /// Only members of this workspace (one of the caller's).
    #[param(value_type = Option<uuid::Uuid>)]
    workspace_id: Option<String>,
}

/// `{ users }`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    pub users: Vec<UserView>,
}

/// `GET /api/users/search?q=&limit=&workspaceId=` → `{ users }` whose username or display
/// name starts with `q`, ignoring case; with `workspaceId`, only members of that workspace
/// (404 unless the caller is one).
#[utoipa::path(
    operation_id = "searchUsers",
    tag = "users",
    security(("bearer" = [])),
    params(SearchQuery),
    responses(
        (status = 200, description = "Users whose username or display name starts with `q`", body = UserList),
        (status = 404, response = NotFound),
    ),
)]
#[get("/users/search")]
pub async fn search(
    state: web::Data<AppState>,
    me: AuthUser,
    query: Query<SearchQuery>,
) -> ApiResult<web::Json<UserList>> {
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
    Ok(web::Json(UserList { users }))
}
