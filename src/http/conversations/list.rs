use crate::http::extract::Query;
use actix_web::get;
use actix_web::web;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::validate;
use crate::http::views::{ConversationListItem, ConversationView};
use crate::messaging::view::{MessageView, Related};
use crate::models::{conversation, member, message};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
    /// At most the configured page size (100); 20 when left out.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// `{ conversations, nextCursor }`: `nextCursor` is `null` on the last page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationPage {
    pub conversations: Vec<ConversationListItem>,
    pub next_cursor: Option<String>,
}

/// `GET /api/conversations?cursor=&limit=` → `{ conversations, nextCursor }`, most recently
/// active first, each with members, last message and unread count.
#[utoipa::path(
    operation_id = "listConversations",
    tag = "conversations",
    security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "The caller's conversations, most recently active first", body = ConversationPage)),
)]
#[get("/conversations")]
pub async fn list(
    state: web::Data<AppState>,
    me: AuthUser,
    query: Query<ListQuery>,
) -> ApiResult<web::Json<ConversationPage>> {
    let limit = validate::limit(query.limit, 20, state.settings.limits.page_max)?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut conn = state.pool.get().await?;
    let mut page = conversation::page_for_user(&mut conn, me.id, after, limit + 1).await?;
    let next_cursor = if page.len() as i64 > limit {
        page.truncate(limit as usize);
        page.last()
            .map(|(c, _)| encode_cursor(c.activity_at(), c.id))
    } else {
        None
    };
    let ids: Vec<Uuid> = page.iter().map(|(c, _)| c.id).collect();
    let members = member::of_conversations(&mut conn, &ids).await?;
    let last_messages = message::last_of(&mut conn, &ids).await?;
    let related = Related::load(&mut conn, state.messaging.signer(), &last_messages).await?;
    let conversations: Vec<ConversationListItem> = page
        .iter()
        .map(|(c, mine)| ConversationListItem {
            conversation: ConversationView::new(c, &members),
            last_message: last_messages
                .iter()
                .find(|m| m.conversation_id == c.id)
                .map(|m| MessageView::new(m, &related)),
            unread_count: (c.last_seq - mine.last_read_seq).max(0),
        })
        .collect();
    Ok(web::Json(ConversationPage {
        conversations,
        next_cursor,
    }))
}

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", at.timestamp_micros()))
}

fn decode_cursor(cursor: &str) -> ApiResult<(DateTime<Utc>, Uuid)> {
    let invalid = || ApiError::invalid("cursor is not a cursor this API returned");
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let (micros, id) = raw.split_once(':').ok_or_else(invalid)?;
    let at = micros
        .parse()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(invalid)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| invalid())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_to_the_microsecond() {
        let at = DateTime::from_timestamp_micros(1_795_000_000_123_456).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(decode_cursor(&encode_cursor(at, id)).unwrap(), (at, id));
        assert!(decode_cursor("garbage!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("12:nope")).is_err());
    }
}
