pub mod create;
pub mod delete;
pub mod get;
pub mod join;
pub mod list;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::validate;
use crate::http::views::ConversationView;
use crate::models::conversation::{self, Conversation};
use crate::models::member::{self, Member};

/// The conversation named in a path and the caller's membership; `not_found` for a malformed
/// id, a missing conversation and a non-member alike.
pub async fn load_for_member(
    conn: &mut AsyncPgConnection,
    id: &str,
    user: Uuid,
) -> ApiResult<(Conversation, Member)> {
    let id = validate::path_id(id, ApiError::conversation_not_found)?;
    conversation::find_for_member(conn, id, user)
        .await?
        .ok_or_else(ApiError::conversation_not_found)
}

/// The conversation object with its members.
pub async fn view(
    conn: &mut AsyncPgConnection,
    conversation: &Conversation,
) -> ApiResult<ConversationView> {
    let members = member::of_conversations(conn, &[conversation.id]).await?;
    Ok(ConversationView::new(conversation, &members))
}

/// Tells the live sockets of each of `users` that they joined `conversation`.
pub async fn announce_added(
    state: &crate::state::AppState,
    users: &[Uuid],
    view: &ConversationView,
) {
    let Ok(json) = serde_json::value::to_raw_value(view) else {
        return;
    };
    for user in users {
        state
            .publisher
            .conversation_added(*user, view.id, &json)
            .await;
    }
}
