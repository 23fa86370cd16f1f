//! Full-text search over a user's conversations (PROTOCOL.md v1.1 section 7, `GET /search`).
//! PostgreSQL matches (`messages.search`, a `simple` tsvector with a GIN index, against
//! `websearch_to_tsquery`, or a prefix query for a single word) and pages newest first by id;
//! the snippet and its highlights are computed here, only for the page's rows, as plain text
//! with `[start, end)` ranges in UTF-16 code units.
//!
//! A search's cost is bounded three ways (PROTOCOL.md v1.2 §14): no word shorter than two
//! characters is looked for alone ([`query`]), each statement runs under a time limit past
//! which the search is `too_broad` ([`find`]), and each user spends a budget of database
//! time ([`Budget`]).

pub mod budget;
pub mod query;
pub mod snippet;

use std::time::Duration;

use diesel::sql_types::{BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::models::message::Message;
pub use budget::Budget;
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

/// What a search asks for, besides its text.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    /// Who searches: only their conversations are searched.
    pub user: Uuid,
    /// Only this one of them.
    pub conversation: Option<Uuid>,
    /// Only messages with smaller ids (the cursor).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// A page of at most `scope.limit` messages that match `query`, visible to `scope.user`,
/// newest first, with ids below `scope.before`. Every value is a bound parameter. The
/// statement runs in a transaction of its own under `timeout`: past it PostgreSQL cancels it
/// and the error is one that [`crate::db::is_statement_timeout`] recognises.
pub async fn find(
    conn: &mut AsyncPgConnection,
    query: &SearchQuery,
    scope: Scope,
    timeout: Duration,
) -> diesel::QueryResult<Vec<Message>> {
    let matcher = if query.prefix.is_some() {
        "m.search @@ to_tsquery('simple', $1)"
    } else {
        "m.search @@ websearch_to_tsquery('simple', $1)"
    };
    let sql = format!("SELECT {COLUMNS} FROM messages m WHERE {matcher} {CONDITIONS}");
    let text = query.sql_text();
    let timeout_ms = timeout.as_millis().max(1).to_string();
    conn.transaction(async move |conn| {
        diesel::sql_query("SELECT set_config('statement_timeout', $1, true)")
            .bind::<Text, _>(timeout_ms)
            .execute(conn)
            .await?;
        diesel::sql_query(sql)
            .bind::<Text, _>(text)
            .bind::<SqlUuid, _>(scope.user)
            .bind::<Nullable<SqlUuid>, _>(scope.conversation)
            .bind::<BigInt, _>(scope.before.unwrap_or(i64::MAX))
            .bind::<BigInt, _>(scope.limit)
            .load(conn)
            .await
    })
    .await
}
