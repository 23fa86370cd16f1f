use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{conversation_members, conversations, messages};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = messages)]
pub struct Message {
    pub id: i64,
    pub conversation_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    pub client_message_id: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = messages)]
pub struct NewMessage<'a> {
    pub conversation_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    pub client_message_id: &'a str,
    pub body: &'a str,
    pub created_at: DateTime<Utc>,
}

/// The unique constraint that makes a retried send return the first result.
pub const CLIENT_ID_TAKEN: &str = "messages_sender_id_client_message_id_key";

/// Where a page of history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqCursor {
    /// Messages with `seq > n`, oldest first.
    After(i64),
    /// Messages with `seq < n`, the newest of them, returned oldest first.
    Before(i64),
    /// The newest messages, returned oldest first.
    Latest,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewMessage<'_>) -> QueryResult<Message> {
    diesel::insert_into(messages::table)
        .values(new)
        .returning(Message::as_returning())
        .get_result(conn)
        .await
}

pub async fn find_by_client_id(
    conn: &mut AsyncPgConnection,
    sender: Uuid,
    client_message_id: &str,
) -> QueryResult<Option<Message>> {
    messages::table
        .filter(messages::sender_id.eq(sender))
        .filter(messages::client_message_id.eq(client_message_id))
        .select(Message::as_select())
        .first(conn)
        .await
        .optional()
}

/// The message with `id` if it is in a conversation `user` belongs to.
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    id: i64,
    user: Uuid,
) -> QueryResult<Option<Message>> {
    messages::table
        .inner_join(
            conversation_members::table.on(conversation_members::conversation_id
                .eq(messages::conversation_id)
                .and(conversation_members::user_id.eq(user))),
        )
        .filter(messages::id.eq(id))
        .select(Message::as_select())
        .first(conn)
        .await
        .optional()
}

/// Up to `limit` messages of a conversation from `cursor`, in ascending seq order, and whether
/// more lie beyond them in the same direction.
pub async fn page(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    cursor: SeqCursor,
    limit: i64,
) -> QueryResult<(Vec<Message>, bool)> {
    let query = messages::table
        .filter(messages::conversation_id.eq(conversation))
        .select(Message::as_select())
        .limit(limit + 1)
        .into_boxed();
    let mut rows = match cursor {
        SeqCursor::After(seq) => {
            query
                .filter(messages::seq.gt(seq))
                .order(messages::seq.asc())
                .load(conn)
                .await?
        }
        SeqCursor::Before(seq) => {
            query
                .filter(messages::seq.lt(seq))
                .order(messages::seq.desc())
                .load(conn)
                .await?
        }
        SeqCursor::Latest => query.order(messages::seq.desc()).load(conn).await?,
    };
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    if !matches!(cursor, SeqCursor::After(_)) {
        rows.reverse();
    }
    Ok((rows, has_more))
}

/// The newest message of each of the conversations.
pub async fn last_of(
    conn: &mut AsyncPgConnection,
    conversation_ids: &[Uuid],
) -> QueryResult<Vec<Message>> {
    messages::table
        .inner_join(
            conversations::table.on(conversations::id
                .eq(messages::conversation_id)
                .and(conversations::last_seq.eq(messages::seq))),
        )
        .filter(conversations::id.eq_any(conversation_ids))
        .select(Message::as_select())
        .load(conn)
        .await
}
