use crate::http::extract::Json;
use crate::http::openapi::Conflict;
use crate::http::openapi::{Forbidden, NotFound, RateLimited};
use crate::messaging::view::MessageView;
use actix_web::post;
use actix_web::{web, HttpResponse};
use confab_actors::chat::NewMessage;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::validate;
use crate::state::AppState;

/// The body of `message:send`; `conversationId` may be left out here since the path names it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewMessage)]
pub struct SendBody {
    /// Left out, or the conversation of the path.
    #[schema(value_type = Option<uuid::Uuid>)]
    conversation_id: Option<String>,
    /// The client's id of the message: a retry with the same one returns the same message.
    #[schema(min_length = 1, max_length = 64, pattern = r"^\S(?:(?:[^\n]|\n)*\S)?$")]
    client_message_id: String,
    /// 1-10,000 characters after trimming (may be empty with attachments).
    #[schema(max_length = 10000)]
    body: String,
    /// Up to 5 completed uploads of the sender's.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>, max_items = 5)]
    attachment_ids: Vec<String>,
    /// The id of the message this one answers.
    reply_to_id: Option<String>,
}

/// `POST /api/conversations/{id}/messages` → 201 the Message, once it is committed; every
/// subscribed socket of every member hears `message:new`, as for a socket send. A retry with
/// the same `clientMessageId` returns the message stored the first time.
#[utoipa::path(
    operation_id = "sendMessage",
    tag = "messages",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = SendBody,
    responses(
        (status = 201, description = "The message, committed (the first one for a retried `clientMessageId`)", body = MessageView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 429, response = RateLimited),
    ),
)]
#[post("/conversations/{id}/messages")]
pub async fn create(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    body: Json<SendBody>,
) -> ApiResult<HttpResponse> {
    let conversation_id = validate::path_id(&path, ApiError::conversation_not_found)?;
    let body = body.into_inner();
    if let Some(named) = &body.conversation_id {
        if validate::uuid("conversationId", named)? != conversation_id {
            return Err(ApiError::invalid(
                "conversationId differs from the conversation in the path",
            ));
        }
    }
    let committed = state
        .messaging
        .send(NewMessage {
            conversation_id,
            sender_id: me.id,
            client_message_id: body.client_message_id,
            body: body.body,
            attachment_ids: body.attachment_ids,
            reply_to_id: body.reply_to_id,
        })
        .await?;
    state.publisher.message_new(&committed, None);
    Ok(HttpResponse::Created()
        .content_type(mime_json())
        .body(committed.message.get().to_owned()))
}

fn mime_json() -> actix_web::http::header::ContentType {
    actix_web::http::header::ContentType::json()
}
