use actix_web::web;
use serde_json::{json, Value};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::http::views::UserView;
use crate::models::contact;
use crate::state::AppState;

/// Contacts listed at most, by username.
const MAX_LISTED: i64 = 5_000;

/// `GET /api/contacts` → `{ contacts: [User] }`, by username.
pub async fn list(state: web::Data<AppState>, me: AuthUser) -> ApiResult<web::Json<Value>> {
    let mut conn = state.pool.get().await?;
    let contacts: Vec<UserView> = contact::of_user(&mut conn, me.id, MAX_LISTED)
        .await?
        .iter()
        .map(Into::into)
        .collect();
    Ok(web::Json(json!({ "contacts": contacts })))
}
