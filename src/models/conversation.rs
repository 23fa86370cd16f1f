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
}

impl Conversation {
    pub fn is_dm(&self) -> bool {
        self.kind == DM
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
