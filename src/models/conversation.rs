use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{conversation_members, conversations};
use crate::models::member::Member;

diesel::define_sql_function!(fn coalesce(x: Nullable<Timestamptz>, y: Timestamptz) -> Timestamptz);

pub const DM: &str = "dm";
pub const GROUP: &str = "group";
pub const PRIVATE: &str = "private";
pub const PUBLIC: &str = "public";

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = conversations)]
pub struct Conversation {
    pub id: Uuid,
    pub kind: String,
    pub title: Option<String>,
    pub dm_key: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub last_seq: i64,
    pub last_message_at: Option<DateTime<Utc>>,
    /// The rev of the latest change to the conversation's messages.
    pub last_rev: i64,
    /// The workspace of a channel.
    pub workspace_id: Option<Uuid>,
    /// `"private"`, or `"public"` for a channel its workspace's members can find and join.
    pub visibility: String,
}

impl Conversation {
    pub fn is_dm(&self) -> bool {
        self.kind == DM
    }

    /// A public channel of a workspace.
    pub fn is_public(&self) -> bool {
        self.visibility == PUBLIC && self.workspace_id.is_some()
    }

    /// The time conversation lists are ordered by: the last message, or the creation.
    pub fn activity_at(&self) -> DateTime<Utc> {
        self.last_message_at.unwrap_or(self.created_at)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = conversations)]
pub struct NewConversation<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub title: Option<&'a str>,
    pub dm_key: Option<&'a str>,
    pub created_by: Uuid,
    pub workspace_id: Option<Uuid>,
    pub visibility: &'a str,
}

/// The key that makes a pair of users have one DM, whichever of them opens it.
pub fn dm_key(a: Uuid, b: Uuid) -> String {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    format!("{low}:{high}")
}

/// Inserts a conversation; `None` when a DM with the same key already exists.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewConversation<'_>,
) -> QueryResult<Option<Conversation>> {
    diesel::insert_into(conversations::table)
        .values(new)
        .on_conflict_do_nothing()
        .returning(Conversation::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn find_dm(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<Conversation>> {
    conversations::table
        .filter(conversations::dm_key.eq(key))
        .select(Conversation::as_select())
        .first(conn)
        .await
        .optional()
}

/// The conversation with `id` and `user`'s membership of it; `None` for a non-member exactly
/// as for a missing conversation.
pub async fn find_for_member(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user: Uuid,
) -> QueryResult<Option<(Conversation, Member)>> {
    conversations::table
        .inner_join(conversation_members::table)
        .filter(conversations::id.eq(id))
        .filter(conversation_members::user_id.eq(user))
        .select((Conversation::as_select(), Member::as_select()))
        .first(conn)
        .await
        .optional()
}

/// Locks the conversation row until the transaction ends (serialises membership changes).
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Conversation> {
    conversations::table
        .find(id)
        .for_update()
        .select(Conversation::as_select())
        .first(conn)
        .await
}

/// One page of `user`'s conversations, most recently active first, strictly after `after`
/// (an `(activity time, id)` cursor).
pub async fn page_for_user(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<(Conversation, Member)>> {
    let activity = coalesce(conversations::last_message_at, conversations::created_at);
    let mut query = conversations::table
        .inner_join(conversation_members::table)
        .filter(conversation_members::user_id.eq(user))
        .select((Conversation::as_select(), Member::as_select()))
        .order((activity.desc(), conversations::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        let activity = coalesce(conversations::last_message_at, conversations::created_at);
        query = query.filter(
            activity
                .lt(at)
                .or(activity.eq(at).and(conversations::id.lt(id))),
        );
    }
    query.load(conn).await
}

/// Inserts many conversations at once (seeding).
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    new: &[NewConversation<'_>],
) -> QueryResult<usize> {
    let mut inserted = 0;
    for chunk in new.chunks(5_000) {
        inserted += diesel::insert_into(conversations::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(inserted)
}

/// `(id, last seq, last rev)` of each of `ids` that exists.
pub async fn latest(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, i64, i64)>> {
    conversations::table
        .filter(conversations::id.eq_any(ids))
        .select((
            conversations::id,
            conversations::last_seq,
            conversations::last_rev,
        ))
        .load(conn)
        .await
}

/// Deletes conversation `id` with its members, messages and reactions, under its row lock
/// (call it in a transaction); returns who its members were. Reports about its messages keep
/// the reported user.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<Uuid>> {
    use crate::db::schema::{messages, reports};
    lock(conn, id).await?;
    let members = crate::models::member::user_ids(conn, id).await?;
    let senders = messages::table
        .filter(messages::id.nullable().eq(reports::message_id))
        .filter(messages::conversation_id.eq(id))
        .select(messages::sender_id)
        .single_value();
    diesel::update(
        reports::table
            .filter(reports::reported_user_id.is_null())
            .filter(diesel::dsl::exists(
                messages::table
                    .filter(messages::id.nullable().eq(reports::message_id))
                    .filter(messages::conversation_id.eq(id)),
            )),
    )
    .set(reports::reported_user_id.eq(senders))
    .execute(conn)
    .await?;
    diesel::delete(conversations::table.find(id))
        .execute(conn)
        .await?;
    Ok(members)
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Conversation>> {
    conversations::table
        .find(id)
        .select(Conversation::as_select())
        .first(conn)
        .await
        .optional()
}

/// The conversation `id` and how many members it has.
pub async fn with_member_count(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<(Conversation, i64)>> {
    let Some(found) = find(conn, id).await? else {
        return Ok(None);
    };
    let members = conversation_members::table
        .filter(conversation_members::conversation_id.eq(id))
        .count()
        .get_result(conn)
        .await?;
    Ok(Some((found, members)))
}

/// The channels of `workspace` that `user` belongs to, by id.
pub async fn channels_of_member(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    user: Uuid,
) -> QueryResult<Vec<Uuid>> {
    conversations::table
        .inner_join(conversation_members::table)
        .filter(conversations::workspace_id.eq(workspace))
        .filter(conversation_members::user_id.eq(user))
        .order(conversations::id)
        .select(conversations::id)
        .load(conn)
        .await
}

/// A public channel as discovery lists it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Channel {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Nullable<diesel::sql_types::Text>)]
    pub title: Option<String>,
    /// The title as channels are ordered: lowercased, compared byte by byte.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub sort_title: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub member_count: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub joined: bool,
}

/// A page of `workspace`'s public channels whose lowercased title starts with `prefix`,
/// ordered by it (then id), after the `(title, id)` cursor `after`; each with its member count
/// and whether `viewer` joined it. One range scan of `conversations_public_channels`, then the
/// counts of the page's rows only.
pub async fn public_channels(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    viewer: Uuid,
    prefix: &str,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<Channel>> {
    use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
    let (after_title, after_id) = after.unzip();
    diesel::sql_query(
        "SELECT c.id, c.title, c.sort_title, \
                (SELECT count(*) FROM conversation_members m WHERE m.conversation_id = c.id) AS member_count, \
                EXISTS (SELECT 1 FROM conversation_members m \
                        WHERE m.conversation_id = c.id AND m.user_id = $2) AS joined \
         FROM (SELECT id, title, lower(title) COLLATE \"C\" AS sort_title FROM conversations \
               WHERE workspace_id = $1 AND visibility = 'public' \
                 AND lower(title) COLLATE \"C\" LIKE $3 \
                 AND ($4::text IS NULL OR (lower(title) COLLATE \"C\", id) > ($4 COLLATE \"C\", $5)) \
               ORDER BY lower(title) COLLATE \"C\", id LIMIT $6) c \
         ORDER BY c.sort_title, c.id",
    )
    .bind::<SqlUuid, _>(workspace)
    .bind::<SqlUuid, _>(viewer)
    .bind::<Text, _>(super::prefix_pattern(prefix))
    .bind::<Nullable<Text>, _>(after_title)
    .bind::<Nullable<SqlUuid>, _>(after_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
