use crate::http::extract::Query;
use actix_web::web;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::http::validate;
use crate::http::views::UserView;
use crate::models::user;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: String,
    limit: Option<i64>,
}

/// `GET /api/users/search?q=&limit=` → `{ users }` whose username or display name starts
/// with `q`, ignoring case.
pub async fn search(
    state: web::Data<AppState>,
    _me: AuthUser,
    query: Query<SearchQuery>,
) -> ApiResult<web::Json<Value>> {
    let prefix = validate::text("q", &query.q, 1, 64)?;
    let limit = validate::limit(query.limit, 20, 50)?;
    let mut conn = state.pool.get().await?;
    let users: Vec<UserView> = user::search(&mut conn, &prefix, limit)
        .await?
        .iter()
        .map(Into::into)
        .collect();
    Ok(web::Json(json!({ "users": users })))
}
