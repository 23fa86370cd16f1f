//! Watermark moves (`receipt_moves`) and what they tell: when each member's watermark reached
//! a seq.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// A member's watermarks after a receipt, and whether they let others see them.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Advanced {
    #[diesel(sql_type = BigInt)]
    pub delivered: i64,
    #[diesel(sql_type = BigInt)]
    pub read: i64,
    #[diesel(sql_type = Bool)]
    pub shared: bool,
}

/// Moves `user`'s delivered watermark in `conversation` (and with `read` the read one too) up
/// to `seq`, capped at the last seq, never down, logging the move; `None` for a non-member.
pub async fn advance(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    user: Uuid,
    seq: i64,
    read: bool,
) -> QueryResult<Option<Advanced>> {
    diesel::sql_query("SELECT * FROM confab_advance($1, $2, $3, $4)")
        .bind::<SqlUuid, _>(conversation)
        .bind::<SqlUuid, _>(user)
        .bind::<BigInt, _>(seq)
        .bind::<Bool, _>(read)
        .get_result(conn)
        .await
        .optional()
}

/// When one member's watermarks reached the seq asked about (`None`: not yet).
#[derive(Debug, Clone, QueryableByName)]
pub struct Reached {
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Whether their read watermark is at or past the seq.
    #[diesel(sql_type = Bool)]
    pub read_reached: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub read_at: Option<DateTime<Utc>>,
}

/// For every member of `conversation` but `viewer` who shares receipts and whose delivered
/// watermark is at or past `seq`: when it got there, and when their read watermark did. The
/// time is that of the first receipt that moved the watermark to `seq` or past it, or of the
/// member's own first message at or past `seq` if that came first (a send moves its sender's
/// watermarks); each is one index seek per member.
pub async fn reached(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    seq: i64,
    viewer: Uuid,
) -> QueryResult<Vec<Reached>> {
    diesel::sql_query(
        "SELECT m.user_id, m.last_read_seq >= $2 AS read_reached, \
           CASE WHEN m.last_delivered_seq >= $2 THEN least( \
             (SELECT r.at FROM receipt_moves r WHERE r.conversation_id = $1 \
              AND r.user_id = m.user_id AND r.delivered_seq >= $2 \
              ORDER BY r.delivered_seq LIMIT 1), \
             (SELECT g.created_at FROM messages g WHERE g.conversation_id = $1 \
              AND g.seq >= $2 AND g.seq <= m.last_delivered_seq AND g.sender_id = m.user_id \
              ORDER BY g.seq LIMIT 1)) END AS delivered_at, \
           CASE WHEN m.last_read_seq >= $2 THEN least( \
             (SELECT r.at FROM receipt_moves r WHERE r.conversation_id = $1 \
              AND r.user_id = m.user_id AND r.read_seq >= $2 ORDER BY r.read_seq LIMIT 1), \
             (SELECT g.created_at FROM messages g WHERE g.conversation_id = $1 \
              AND g.seq >= $2 AND g.seq <= m.last_read_seq AND g.sender_id = m.user_id \
              ORDER BY g.seq LIMIT 1)) END AS read_at \
         FROM conversation_members m JOIN users u ON u.id = m.user_id \
         WHERE m.conversation_id = $1 AND m.user_id <> $3 AND u.read_receipts \
           AND m.last_delivered_seq >= $2 \
         ORDER BY m.user_id",
    )
    .bind::<SqlUuid, _>(conversation)
    .bind::<BigInt, _>(seq)
    .bind::<SqlUuid, _>(viewer)
    .load(conn)
    .await
}
