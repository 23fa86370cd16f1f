use crate::http::extract::Json;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::http::validate;
use crate::messaging::view::timestamp;
use crate::models::report::{self, NewReport};
use crate::models::{message, user};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportBody {
    user_id: Option<String>,
    message_id: Option<String>,
    reason: String,
}

/// `POST /api/reports` with `{ userId?, messageId?, reason }` → 201 `{ id, createdAt }`.
/// A message can be reported only from a conversation the reporter belongs to.
pub async fn create(
    state: web::Data<AppState>,
    me: AuthUser,
    body: Json<ReportBody>,
) -> ApiResult<HttpResponse> {
    let reason = validate::text("reason", &body.reason, 1, 1000)?;
    let user_id = body
        .user_id
        .as_deref()
        .map(|id| validate::uuid("userId", id))
        .transpose()?;
    let message_id = body
        .message_id
        .as_deref()
        .map(|id| {
            id.parse::<i64>()
                .map_err(|_| ApiError::invalid("messageId must be a message id"))
        })
        .transpose()?;
    if user_id.is_none() && message_id.is_none() {
        return Err(ApiError::invalid("give userId or messageId"));
    }
    let mut conn = state.pool.get().await?;
    if let Some(id) = user_id {
        if user::find(&mut conn, id).await?.is_none() {
            return Err(ApiError::not_found("user not found"));
        }
    }
    let mut reported_user_id = user_id;
    if let Some(id) = message_id {
        let message = message::find_visible(&mut conn, id, me.id)
            .await?
            .ok_or_else(|| ApiError::not_found("message not found"))?;
        reported_user_id.get_or_insert(message.sender_id);
    }
    let report = report::insert(
        &mut conn,
        &NewReport {
            id: Uuid::now_v7(),
            reporter_id: me.id,
            reported_user_id,
            message_id,
            reason: &reason,
        },
    )
    .await?;
    log::info!(report_id:% = report.id; "report filed");
    Ok(HttpResponse::Created()
        .json(json!({ "id": report.id, "createdAt": timestamp(&report.created_at) })))
}
