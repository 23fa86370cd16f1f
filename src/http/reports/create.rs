use crate::http::extract::Json;
use crate::http::openapi::NotFound;
use actix_web::post;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::validate;
use crate::messaging::view::timestamp;
use crate::models::report::{self, NewReport};
use crate::models::{message, user};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewReport)]
pub struct ReportBody {
    /// The user reported.
    #[schema(value_type = Option<uuid::Uuid>)]
    user_id: Option<String>,
    /// The message reported, from a conversation of the reporter's.
    message_id: Option<String>,
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    reason: String,
}

/// `{ id, createdAt }`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportCreated {
    pub id: Uuid,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// `POST /api/reports` with `{ userId?, messageId?, reason }` → 201 `{ id, createdAt }`.
/// A message can be reported only from a conversation the reporter belongs to.
#[utoipa::path(
    operation_id = "createReport",
    tag = "safety",
    security(("bearer" = [])),
    request_body = ReportBody,
    responses(
        (status = 201, description = "The report, stored for review", body = ReportCreated),
        (status = 404, response = NotFound),
    ),
)]
#[post("/reports")]
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
    Ok(HttpResponse::Created().json(ReportCreated {
        id: report.id,
        created_at: timestamp(&report.created_at),
    }))
}
