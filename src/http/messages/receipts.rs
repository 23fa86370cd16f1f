use actix_web::get;
use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::conversations::load_for_member;
use crate::http::openapi::NotFound;
use crate::messaging::view::opt_ts;
use crate::models::receipt;
use crate::state::AppState;

/// One member in receipt details.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    user_id: Uuid,
    /// When their watermark reached the seq; `None` only for moves made before the log was
    /// kept.
    #[serde(serialize_with = "opt_ts")]
    at: Option<DateTime<Utc>>,
}

/// `{ delivered, read }`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Receipts {
    pub delivered: Vec<Receipt>,
    pub read: Vec<Receipt>,
}

/// `GET /api/conversations/{id}/messages/{seq}/receipts` →
/// `{ delivered: [{ userId, at }], read: [{ userId, at }] }`: the members whose watermark is at
/// or past `seq`, earliest first, with the time it got there; neither the caller nor members
/// who hide their receipts.
#[utoipa::path(
    operation_id = "listReceipts",
    tag = "messages",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation"), ("seq" = i64, Path, description = "The message's seq")),
    responses(
        (status = 200, description = "Who has the message delivered and read, earliest first", body = Receipts),
        (status = 404, response = NotFound),
    ),
)]
#[get("/conversations/{id}/messages/{seq}/receipts")]
pub async fn list(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<Receipts>> {
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
    Ok(web::Json(Receipts { delivered, read }))
}
