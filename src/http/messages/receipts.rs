use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::http::conversations::load_for_member;
use crate::messaging::view::opt_ts;
use crate::models::receipt;
use crate::state::AppState;

/// One member in receipt details.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Receipt {
    user_id: Uuid,
    /// When their watermark reached the seq; `None` only for moves made before the log was
    /// kept.
    #[serde(serialize_with = "opt_ts")]
    at: Option<DateTime<Utc>>,
}

/// `GET /api/conversations/{id}/messages/{seq}/receipts` →
/// `{ delivered: [{ userId, at }], read: [{ userId, at }] }`: the members whose watermark is at
/// or past `seq`, earliest first, with the time it got there; neither the caller nor members
/// who hide their receipts.
pub async fn list(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<Value>> {
    let (conversation, seq) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (conversation, _) = load_for_member(&mut conn, &conversation, me.id).await?;
    let seq = seq
        .parse::<i64>()
        .ok()
        .filter(|seq| (1..=conversation.last_seq).contains(seq))
        .ok_or_else(|| ApiError::not_found("message not found"))?;
    let rows = receipt::reached(&mut conn, conversation.id, seq, me.id).await?;
    let mut delivered: Vec<Receipt> = rows
        .iter()
        .map(|r| Receipt {
            user_id: r.user_id,
            at: r.delivered_at,
        })
        .collect();
    let mut read: Vec<Receipt> = rows
        .iter()
        .filter(|r| r.read_at.is_some() || r.read_reached)
        .map(|r| Receipt {
            user_id: r.user_id,
            at: r.read_at,
        })
        .collect();
    delivered.sort_by_key(|r| r.at);
    read.sort_by_key(|r| r.at);
    Ok(web::Json(json!({ "delivered": delivered, "read": read })))
}
