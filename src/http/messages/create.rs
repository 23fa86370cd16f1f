use actix_web::{web, HttpResponse};
use serde::Deserialize;

use confab_actors::chat::namespace::message_new_frame;

use crate::auth::AuthUser;
use crate::chat::{self, SendRequest};
use crate::error::{ApiError, ApiResult};
use crate::http::validate;
use crate::http::views::MessageView;
use crate::state::AppState;

/// The body of `message:send`; `conversationId` may be left out here since the path names it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendBody {
    conversation_id: Option<String>,
    client_message_id: String,
    body: String,
    #[serde(default)]
    attachment_ids: Vec<String>,
}

/// `POST /api/conversations/{id}/messages` → 201 the Message, once it is committed. A retry with
/// the same `clientMessageId` returns the message stored the first time.
pub async fn create(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    body: web::Json<SendBody>,
) -> ApiResult<HttpResponse> {
    let conversation_id = validate::path_id(&path, ApiError::conversation_not_found)?;
    if let Some(named) = &body.conversation_id {
        if validate::uuid("conversationId", named)? != conversation_id {
            return Err(ApiError::invalid(
                "conversationId differs from the conversation in the path",
            ));
        }
    }
    let limits = &state.settings.limits;
    let request = SendRequest {
        conversation_id,
        sender_id: me.id,
        client_message_id: chat::validate_client_message_id(&body.client_message_id, limits)?,
        body: chat::validate_body(&body.body, limits)?,
        attachment_ids: chat::validate_attachment_ids(&body.attachment_ids, limits)?,
    };
    if let Err(wait) = state.limiter.check(me.id) {
        return Err(ApiError::rate_limited(
            "sending too fast; retry later",
            wait,
        ));
    }
    let sent = chat::send(&state.pool, &state.writer, &request).await?;
    let view = MessageView::new(&sent.message, &sent.attachments);
    if sent.created {
        // The same fan-out as a socket send: every subscribed socket of every member.
        let json = serde_json::to_string(&view).map_err(ApiError::internal)?;
        let frame = message_new_frame(&json);
        state
            .rooms
            .publish_message(conversation_id, sent.message.seq, frame, None);
    }
    Ok(HttpResponse::Created().json(view))
}
