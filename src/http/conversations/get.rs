use actix_web::web;

use super::{load_for_member, view};
use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::http::views::ConversationView;
use crate::state::AppState;

/// `GET /api/conversations/{id}` → the conversation with its members (404 for non-members).
pub async fn get(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<ConversationView>> {
    let mut conn = state.pool.get().await?;
    let (conversation, _) = load_for_member(&mut conn, &path, me.id).await?;
    Ok(web::Json(view(&mut conn, &conversation).await?))
}
