use crate::http::extract::Query;
use crate::http::openapi::NotFound;
use actix_web::get;
use actix_web::web;
use serde::Deserialize;
use serde::Serialize;
use utoipa::IntoParams;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::conversations::load_for_member;
use crate::http::validate;
use crate::messaging::view::MessageView;
use crate::models::message::{self, SeqCursor};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Messages before this seq (not with `afterSeq`).
    #[param(minimum = 1)]
    before_seq: Option<i64>,
    /// Messages after this seq (not with `beforeSeq`).
    #[param(minimum = 0)]
    after_seq: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// `{ messages, hasMore }`: `hasMore` when there are more in the direction paged.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

/// `GET /api/conversations/{id}/messages?beforeSeq=|afterSeq=&limit=` → `{ messages, hasMore }`
/// in ascending seq order. Without a cursor: the newest messages.
#[utoipa::path(
    operation_id = "listMessages",
    tag = "messages",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation"), HistoryQuery),
    responses(
        (status = 200, description = "A page of messages in ascending seq order", body = HistoryPage),
        (status = 404, response = NotFound),
    ),
)]
#[get("/conversations/{id}/messages")]
pub async fn list(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    query: Query<HistoryQuery>,
) -> ApiResult<web::Json<HistoryPage>> {
    let limit = validate::limit(query.limit, 50, state.settings.limits.page_max)?;
    let cursor = match (query.before_seq, query.after_seq) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid("give beforeSeq or afterSeq, not both"))
        }
        (Some(seq), None) if seq >= 1 => SeqCursor::Before(seq),
        (None, Some(seq)) if seq >= 0 => SeqCursor::After(seq),
        (None, None) => SeqCursor::Latest,
        _ => {
            return Err(ApiError::invalid(
                "beforeSeq must be at least 1 and afterSeq at least 0",
            ))
        }
    };
    let mut conn = state.pool.get().await?;
    let (conversation, _) = load_for_member(&mut conn, &path, me.id).await?;
    let (messages, has_more) = message::page(&mut conn, conversation.id, cursor, limit).await?;
    let messages = MessageView::load_all(&mut conn, state.messaging.signer(), &messages).await?;
    Ok(web::Json(HistoryPage { messages, has_more }))
}
