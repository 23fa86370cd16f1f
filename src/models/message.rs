use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use uuid::Uuid;

use crate::db::schema::{conversation_members, conversations, messages};

/// A stored message. Also read from the JSON of its row (`to_jsonb`), which the change
/// functions return.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable, Deserialize)]
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
    /// The conversation's revision of the message's latest change.
    pub rev: i64,
    pub reply_to_id: Option<i64>,
}

diesel::define_sql_function!(
    /// The first `n` characters of `text`.
    fn left(text: diesel::sql_types::Text, n: diesel::sql_types::Integer) -> diesel::sql_types::Text
);

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

/// A message to store, before it has a seq.
#[derive(Debug, Clone, Copy)]
pub struct Unsequenced<'a> {
    pub conversation_id: Uuid,
    pub sender_id: Uuid,
    pub client_message_id: &'a str,
    pub body: &'a str,
    pub created_at: DateTime<Utc>,
    /// The message this one answers.
    pub reply_to_id: Option<i64>,
}

/// Whether the send of row `i` (`i.conv`, `i.sender`, `i.cid`, `i.reply`) into conversation
/// `c` is allowed: the sender is a member, no block stands between the two people of a DM,
/// the sender has not used the client id yet, and the message answered (if any) is in `c`. The one statement of this rule: both send
/// statements below use it, and a refusal is only explained afterwards
/// (`messaging::commit`).
const ALLOWED: &str = "EXISTS (SELECT 1 FROM conversation_members m \
     WHERE m.conversation_id = c.id AND m.user_id = i.sender) \
     AND NOT (c.kind = 'dm' AND EXISTS (SELECT 1 FROM conversation_members o \
     JOIN blocks b ON (b.blocker_id = o.user_id OR b.blocked_id = o.user_id) \
     WHERE o.conversation_id = c.id AND o.user_id <> i.sender \
     AND (b.blocker_id = i.sender OR b.blocked_id = i.sender))) \
     AND NOT EXISTS (SELECT 1 FROM messages e \
     WHERE e.sender_id = i.sender AND e.client_message_id = i.cid) \
     AND (i.reply IS NULL OR EXISTS (SELECT 1 FROM messages r \
     WHERE r.id = i.reply AND r.conversation_id = c.id))";

/// The common send in one statement, so one round trip: when `new.sender_id` is a member of
/// `new.conversation_id`, no block stands between the two people of a DM, and the sender has
/// not used `new.client_message_id` yet, it takes the next seq and rev, stores the message and moves
/// the sender's own watermarks to it. `None` when one of those conditions failed (the caller
/// then finds out which); a concurrent retry with the same client id fails on its unique
/// constraint and rolls the whole statement back, seq included.
pub async fn insert_if_allowed(
    conn: &mut AsyncPgConnection,
    new: Unsequenced<'_>,
) -> QueryResult<Option<Message>> {
    InsertIfAllowed(new).get_result(conn).await.optional()
}

/// The statement of `insert_if_allowed`. Written as a query type of its own, rather than
/// `sql_query`, so that the connection prepares it once and reuses the plan: parsing and
/// planning this statement costs more than running it.
struct InsertIfAllowed<'a>(Unsequenced<'a>);

/// `InsertIfAllowed`'s identity in the prepared-statement cache.
struct InsertIfAllowedId;

impl diesel::query_builder::QueryId for InsertIfAllowed<'_> {
    type QueryId = InsertIfAllowedId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for InsertIfAllowed<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for InsertIfAllowed<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
        let new = &self.0;
        // The send's values as a subquery in FROM, not a CTE: the planner pulls it up, so the
        // rule's lookups run on the bound values by index (a CTE would be scanned and joined).
        out.push_sql(
            "WITH bumped AS (UPDATE conversations c SET last_seq = c.last_seq + 1, \
             last_rev = c.last_rev + 1, last_message_at = i.at FROM (SELECT ",
        );
        out.push_bind_param::<SqlUuid, _>(&new.conversation_id)?;
        out.push_sql(" AS conv, ");
        out.push_bind_param::<SqlUuid, _>(&new.sender_id)?;
        out.push_sql(" AS sender, ");
        out.push_bind_param::<Text, _>(&new.client_message_id)?;
        out.push_sql(" AS cid, ");
        out.push_bind_param::<Text, _>(&new.body)?;
        out.push_sql(" AS body, ");
        out.push_bind_param::<Timestamptz, _>(&new.created_at)?;
        out.push_sql(" AS at, ");
        out.push_bind_param::<Nullable<BigInt>, _>(&new.reply_to_id)?;
        out.push_sql(" AS reply) i WHERE c.id = i.conv AND ");
        out.push_sql(ALLOWED);
        out.push_sql(
            " RETURNING c.id, c.last_seq, c.last_rev, i.sender, i.cid, i.body, i.at, i.reply), \
             inserted AS (INSERT INTO messages \
             (conversation_id, seq, rev, sender_id, client_message_id, body, created_at, \
             reply_to_id) \
             SELECT id, last_seq, last_rev, sender, cid, body, at, reply FROM bumped \
             RETURNING id, conversation_id, seq, sender_id, client_message_id, \
             body, created_at, edited_at, deleted_at, rev, reply_to_id), \
             marked AS (UPDATE conversation_members m \
             SET last_read_seq = GREATEST(m.last_read_seq, i.seq), \
             last_delivered_seq = GREATEST(m.last_delivered_seq, i.seq) \
             FROM inserted i WHERE m.conversation_id = i.conversation_id \
             AND m.user_id = i.sender_id) \
             SELECT * FROM inserted",
        );
        Ok(())
    }
}

/// Messages to store in one statement, as parallel columns.
#[derive(Debug, Default)]
pub struct UnsequencedBatch {
    pub conversation_ids: Vec<Uuid>,
    pub sender_ids: Vec<Uuid>,
    pub client_message_ids: Vec<String>,
    pub bodies: Vec<String>,
    pub created_ats: Vec<DateTime<Utc>>,
    pub reply_to_ids: Vec<Option<i64>>,
}

impl UnsequencedBatch {
    pub fn len(&self) -> usize {
        self.conversation_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conversation_ids.is_empty()
    }

    pub fn get(&self, i: usize) -> Unsequenced<'_> {
        Unsequenced {
            conversation_id: self.conversation_ids[i],
            sender_id: self.sender_ids[i],
            client_message_id: &self.client_message_ids[i],
            body: &self.bodies[i],
            created_at: self.created_ats[i],
            reply_to_id: self.reply_to_ids[i],
        }
    }
}

/// `insert_if_allowed` for many messages in one statement, which costs PostgreSQL a third of
/// as much per message as one statement each. The messages of one conversation take
/// consecutive seqs and revs in batch order. Returns the stored messages; a message missing from the
/// result failed one of the conditions. A client id used twice in the batch fails the whole
/// statement on its unique constraint, as do the other errors: nothing is stored then.
///
/// Two batches running at once must not share a conversation: each takes row locks on all of
/// its conversations, in no set order.
pub async fn insert_batch_if_allowed(
    conn: &mut AsyncPgConnection,
    batch: &UnsequencedBatch,
) -> QueryResult<Vec<Message>> {
    InsertBatchIfAllowed(batch).get_results(conn).await
}

struct InsertBatchIfAllowed<'a>(&'a UnsequencedBatch);

/// `InsertBatchIfAllowed`'s identity in the prepared-statement cache: one statement for any
/// batch size, as the columns are bound as arrays.
struct InsertBatchIfAllowedId;

impl diesel::query_builder::QueryId for InsertBatchIfAllowed<'_> {
    type QueryId = InsertBatchIfAllowedId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for InsertBatchIfAllowed<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for InsertBatchIfAllowed<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
        let batch = self.0;
        out.push_sql("WITH input AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<SqlUuid>, _>(&batch.conversation_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&batch.sender_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&batch.client_message_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&batch.bodies)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&batch.created_ats)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&batch.reply_to_ids)?;
        out.push_sql(
            ") WITH ORDINALITY AS t(conv, sender, cid, body, at, reply, ord)), \
             allowed AS (SELECT i.* FROM input i JOIN conversations c ON c.id = i.conv \
             WHERE ",
        );
        out.push_sql(ALLOWED);
        out.push_sql(
            "), \
             numbered AS (SELECT a.*, \
             row_number() OVER (PARTITION BY a.conv ORDER BY a.ord) AS k, \
             count(*) OVER (PARTITION BY a.conv) AS n FROM allowed a), \
             bumped AS (UPDATE conversations c SET last_seq = c.last_seq + x.n, \
             last_rev = c.last_rev + x.n, last_message_at = x.at \
             FROM (SELECT conv, max(n) AS n, max(at) AS at FROM numbered GROUP BY conv) x \
             WHERE c.id = x.conv RETURNING c.id, c.last_seq, c.last_rev), \
             inserted AS (INSERT INTO messages \
             (conversation_id, seq, rev, sender_id, client_message_id, body, created_at, \
             reply_to_id) \
             SELECT u.conv, b.last_seq - u.n + u.k, b.last_rev - u.n + u.k, u.sender, u.cid, \
             u.body, u.at, u.reply \
             FROM numbered u JOIN bumped b ON b.id = u.conv \
             RETURNING id, conversation_id, seq, sender_id, client_message_id, \
             body, created_at, edited_at, deleted_at, rev, reply_to_id), \
             marked AS (UPDATE conversation_members m \
             SET last_read_seq = GREATEST(m.last_read_seq, i.seq), \
             last_delivered_seq = GREATEST(m.last_delivered_seq, i.seq) \
             FROM (SELECT conversation_id, sender_id, max(seq) AS seq FROM inserted \
             GROUP BY conversation_id, sender_id) i \
             WHERE m.conversation_id = i.conversation_id AND m.user_id = i.sender_id) \
             SELECT * FROM inserted",
        );
        Ok(())
    }
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

/// What a reply shows of the message it answers.
#[derive(Debug, Clone, Queryable)]
pub struct ReplyTarget {
    pub id: i64,
    pub seq: i64,
    pub sender_id: Uuid,
    /// The first 200 characters of its body.
    pub excerpt: String,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The messages `ids` as replies show them.
pub async fn reply_targets(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<Vec<ReplyTarget>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    messages::table
        .filter(messages::id.eq_any(ids))
        .select((
            messages::id,
            messages::seq,
            messages::sender_id,
            left(messages::body, 200),
            messages::deleted_at,
        ))
        .load(conn)
        .await
}

/// Up to `limit` messages of a conversation changed after `after_rev`, in ascending rev
/// order, and whether more follow.
pub async fn changed_after(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    after_rev: i64,
    limit: i64,
) -> QueryResult<(Vec<Message>, bool)> {
    let mut rows: Vec<Message> = messages::table
        .filter(messages::conversation_id.eq(conversation))
        .filter(messages::rev.gt(after_rev))
        .order(messages::rev.asc())
        .limit(limit + 1)
        .select(Message::as_select())
        .load(conn)
        .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_more))
}
