//! Full-text search over a user's conversations (PROTOCOL.md v1.1 section 7, `GET /search`).
//! PostgreSQL matches (`messages.search`, a `simple` tsvector with a GIN index, against
//! `websearch_to_tsquery`, or a prefix query for a single word) and pages newest first by id;
//! the snippet and its highlights are computed here, only for the page's rows, as plain text
//! with `[start, end)` ranges in UTF-16 code units.

pub mod query;
pub mod snippet;

use diesel::sql_types::{BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::models::message::Message;
pub use query::{parse, SearchQuery};
pub use snippet::{snippet, Snippet};

/// The columns of `Message`, for the queries below.
const COLUMNS: &str = "m.id, m.conversation_id, m.seq, m.sender_id, m.client_message_id, m.body, \
                       m.created_at, m.edited_at, m.deleted_at, m.rev, m.reply_to_id";

/// What both forms of the search share after their tsquery: the caller's conversations (or
/// one of them: read first, as an array, and matched as an overlap with the one-element array
/// that `messages_search` indexes beside the words, so that one index scan narrows by both),
/// live messages, none from users the caller blocked, older than the cursor, newest first.
const CONDITIONS: &str = "AND ARRAY[m.conversation_id] && ARRAY(SELECT cm.conversation_id FROM conversation_members cm \
                              WHERE cm.user_id = $2 AND ($3::uuid IS NULL OR cm.conversation_id = $3)) \
     AND m.deleted_at IS NULL \
     AND m.id < $4 \
     AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $2 AND b.blocked_id = m.sender_id) \
     ORDER BY m.id DESC LIMIT $5";

/// A page of at most `limit` messages that match `query`, visible to `user`, newest first,
/// with ids below `before`. Every value is a bound parameter.
pub async fn find(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    query: &SearchQuery,
    conversation: Option<Uuid>,
    before: Option<i64>,
    limit: i64,
) -> diesel::QueryResult<Vec<Message>> {
    let matcher = if query.prefix.is_some() {
        "m.search @@ to_tsquery('simple', $1)"
    } else {
        "m.search @@ websearch_to_tsquery('simple', $1)"
    };
    let sql = format!("SELECT {COLUMNS} FROM messages m WHERE {matcher} {CONDITIONS}");
    diesel::sql_query(sql)
        .bind::<Text, _>(query.sql_text())
        .bind::<SqlUuid, _>(user)
        .bind::<Nullable<SqlUuid>, _>(conversation)
        .bind::<BigInt, _>(before.unwrap_or(i64::MAX))
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await
}
