use actix_web::get;
use actix_web::web;

use super::{load_for_member, view};
use crate::error::ApiResult;
use crate::http::bearer::AuthUser;
use crate::http::openapi::NotFound;
use crate::http::views::ConversationView;
use crate::state::AppState;

/// `GET /api/conversations/{id}` → the conversation with its members (404 for non-members).
#[utoipa::path(
    operation_id = "getConversation",
    tag = "conversations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation with its members", body = ConversationView),
        (status = 404, response = NotFound),
    ),
)]
#[get("/conversations/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<ConversationView>> {
    let mut conn = state.pool.get().await?;
    let (conversation, _) = load_for_member(&mut conn, &path, me.id).await?;
    Ok(web::Json(view(&mut conn, &conversation).await?))
}
