use actix_web::get;
use actix_web::web;
use serde::Deserialize;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::conversations::load_for_member;
use crate::http::extract::Query;
use crate::http::openapi::NotFound;
use crate::http::validate;
use crate::messaging::view::MessageView;
use crate::models::message;
use crate::state::AppState;
use utoipa::IntoParams;

/// Most messages one page of changes holds.
const CHANGES_MAX: i64 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The highest rev the client applied.
    #[param(minimum = 0)]
    after_rev: i64,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// `{ messages, lastRev, hasMore }`, as `sync:changes` answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangesPage {
    pub messages: Vec<MessageView>,
    pub last_rev: i64,
    pub has_more: bool,
}

/// `GET /api/conversations/{id}/changes?afterRev=&limit=` → `{ messages, lastRev, hasMore }`:
/// the current state of every message changed after `afterRev`, in ascending rev order, as
/// `sync:changes` answers.
#[utoipa::path(
    operation_id = "listChanges",
    tag = "messages",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation"), ChangesQuery),
    responses(
        (status = 200, description = "Every message changed after `afterRev`, in rev order", body = ChangesPage),
        (status = 404, response = NotFound),
    ),
)]
#[get("/conversations/{id}/changes")]
pub async fn list(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    query: Query<ChangesQuery>,
) -> ApiResult<web::Json<ChangesPage>> {
    let limit = validate::limit(query.limit, CHANGES_MAX, CHANGES_MAX)?;
    if query.after_rev < 0 {
        return Err(ApiError::invalid("afterRev must be at least 0"));
    }
    let mut conn = state.pool.get().await?;
    let (conversation, _) = load_for_member(&mut conn, &path, me.id).await?;
    let (messages, has_more) =
        message::changed_after(&mut conn, conversation.id, query.after_rev, limit).await?;
    let messages = MessageView::load_all(&mut conn, state.messaging.signer(), &messages).await?;
    Ok(web::Json(ChangesPage {
        last_rev: crate::chat_store::latest_rev(conversation.last_rev, &messages),
        messages,
        has_more,
    }))
}
