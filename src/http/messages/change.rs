//! Edits, deletes and reactions over HTTP: the same rules and events as `message:edit`,
//! `message:delete`, `reaction:add` and `reaction:remove` on a socket.

use actix_web::{delete, patch, put};
use actix_web::{web, HttpResponse};
use confab_actors::chat::{Change, ChangeRequest};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::extract::Json;
use crate::http::openapi::{Forbidden, NotFound, RateLimited};
use crate::http::validate;
use crate::messaging::view::MessageView;
use crate::state::AppState;
use utoipa::ToSchema;

/// The body of `PATCH .../messages/{messageId}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MessageEdit)]
pub struct EditBody {
    /// 1-10,000 characters after trimming.
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    body: String,
}

/// `PATCH /api/conversations/{id}/messages/{messageId}` → the Message after the edit.
#[utoipa::path(
    operation_id = "editMessage",
    tag = "messages",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation"), ("messageId" = String, Path, description = "The message's id")),
    request_body = EditBody,
    responses(
        (status = 200, description = "The message after the edit", body = MessageView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = RateLimited),
    ),
)]
#[patch("/conversations/{id}/messages/{messageId}")]
pub async fn edit(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<(String, String)>,
    body: Json<EditBody>,
) -> ApiResult<HttpResponse> {
    let (conversation, message) = path.into_inner();
    let body = body.into_inner().body;
    apply(&state, &me, &conversation, message, Change::Edit { body }).await
}

/// `DELETE /api/conversations/{id}/messages/{messageId}` → the tombstone.
#[utoipa::path(
    operation_id = "deleteMessage",
    tag = "messages",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation"), ("messageId" = String, Path, description = "The message's id")),
    responses(
        (status = 200, description = "The tombstone", body = MessageView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = RateLimited),
    ),
)]
#[delete("/conversations/{id}/messages/{messageId}")]
pub async fn delete(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (conversation, message) = path.into_inner();
    apply(&state, &me, &conversation, message, Change::Delete).await
}

/// `PUT /api/conversations/{id}/messages/{messageId}/reactions/{emoji}` → the Message.
#[utoipa::path(
    operation_id = "addReaction",
    tag = "messages",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation"), ("messageId" = String, Path, description = "The message's id"), ("emoji" = String, Path, description = "One emoji")),
    responses(
        (status = 200, description = "The message with its reactions", body = MessageView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = RateLimited),
    ),
)]
#[put("/conversations/{id}/messages/{messageId}/reactions/{emoji}")]
pub async fn add_reaction(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<(String, String, String)>,
) -> ApiResult<HttpResponse> {
    let (conversation, message, emoji) = path.into_inner();
    let change = Change::React { emoji, add: true };
    apply(&state, &me, &conversation, message, change).await
}

/// `DELETE /api/conversations/{id}/messages/{messageId}/reactions/{emoji}` → the Message.
#[utoipa::path(
    operation_id = "removeReaction",
    tag = "messages",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation"), ("messageId" = String, Path, description = "The message's id"), ("emoji" = String, Path, description = "One emoji")),
    responses(
        (status = 200, description = "The message with its reactions", body = MessageView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = RateLimited),
    ),
)]
#[delete("/conversations/{id}/messages/{messageId}/reactions/{emoji}")]
pub async fn remove_reaction(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<(String, String, String)>,
) -> ApiResult<HttpResponse> {
    let (conversation, message, emoji) = path.into_inner();
    let change = Change::React { emoji, add: false };
    apply(&state, &me, &conversation, message, change).await
}

async fn apply(
    state: &AppState,
    me: &AuthUser,
    conversation: &str,
    message_id: String,
    change: Change,
) -> ApiResult<HttpResponse> {
    let request = ChangeRequest {
        conversation_id: validate::path_id(conversation, ApiError::conversation_not_found)?,
        actor: me.id,
        message_id,
        change,
    };
    let changed = state.messaging.change(request.clone()).await?;
    state
        .publisher
        .message_changed(&request, &changed, None)
        .map_err(|err| ApiError::internal(err.message))?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(changed.message.get().to_owned()))
}
