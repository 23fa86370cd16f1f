use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::reactions;

/// Most distinct emoji on one message (the chat rules' limit, as the change function takes it).
pub const MAX_DISTINCT: i32 = confab_actors::chat::rules::MAX_DISTINCT_EMOJI as i32;

/// `(message id, emoji, user id)` of every reaction to `message_ids`: each message's by its
/// emoji's place, then in the order they were made.
pub async fn of_messages(
    conn: &mut AsyncPgConnection,
    message_ids: &[i64],
) -> QueryResult<Vec<(i64, String, Uuid)>> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    reactions::table
        .filter(reactions::message_id.eq_any(message_ids))
        .order((
            reactions::message_id,
            reactions::emoji_order,
            reactions::position,
        ))
        .select((reactions::message_id, reactions::emoji, reactions::user_id))
        .load(conn)
        .await
}
