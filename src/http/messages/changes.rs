use actix_web::web;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::http::conversations::load_for_member;
use crate::http::extract::Query;
use crate::http::validate;
use crate::messaging::view::MessageView;
use crate::models::message;
use crate::state::AppState;

/// Most messages one page of changes holds.
const CHANGES_MAX: i64 = 500;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangesQuery {
    after_rev: i64,
    limit: Option<i64>,
}

/// `GET /api/conversations/{id}/changes?afterRev=&limit=` → `{ messages, lastRev, hasMore }`:
/// the current state of every message changed after `afterRev`, in ascending rev order, as
/// `sync:changes` answers.
pub async fn list(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    query: Query<ChangesQuery>,
) -> ApiResult<web::Json<Value>> {
    let limit = validate::limit(query.limit, CHANGES_MAX, CHANGES_MAX)?;
    if query.after_rev < 0 {
        return Err(ApiError::invalid("afterRev must be at least 0"));
    }
    let mut conn = state.pool.get().await?;
    let (conversation, _) = load_for_member(&mut conn, &path, me.id).await?;
    let (messages, has_more) =
        message::changed_after(&mut conn, conversation.id, query.after_rev, limit).await?;
    let messages = MessageView::load_all(&mut conn, state.messaging.signer(), &messages).await?;
    Ok(web::Json(json!({
        "lastRev": crate::store::latest_rev(conversation.last_rev, &messages),
        "messages": messages,
        "hasMore": has_more,
    })))
}
