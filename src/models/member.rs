use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::conversation_members;

pub const OWNER: &str = "owner";
pub const ADMIN: &str = "admin";
pub const MEMBER: &str = "member";

diesel::define_sql_function!(fn greatest(a: diesel::sql_types::BigInt, b: diesel::sql_types::BigInt) -> diesel::sql_types::BigInt);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = conversation_members)]
pub struct Member {
    pub conversation_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub joined_at: DateTime<Utc>,
    pub last_delivered_seq: i64,
    pub last_read_seq: i64,
}

impl Member {
    /// Owners and admins manage members.
    pub fn can_manage(&self) -> bool {
        self.role == OWNER || self.role == ADMIN
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = conversation_members)]
pub struct NewMember<'a> {
    pub conversation_id: Uuid,
    pub user_id: Uuid,
    pub role: &'a str,
}

/// Adds members; those who already belong are left as they are. Returns how many were added.
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    new: &[NewMember<'_>],
) -> QueryResult<usize> {
    let mut inserted = 0;
    for chunk in new.chunks(10_000) {
        inserted += diesel::insert_into(conversation_members::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    Ok(inserted)
}

pub async fn of_conversations(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<Member>> {
    conversation_members::table
        .filter(conversation_members::conversation_id.eq_any(ids))
        .order((
            conversation_members::joined_at,
            conversation_members::user_id,
        ))
        .select(Member::as_select())
        .load(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    user: Uuid,
) -> QueryResult<Option<Member>> {
    conversation_members::table
        .find((conversation, user))
        .select(Member::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn user_ids(conn: &mut AsyncPgConnection, conversation: Uuid) -> QueryResult<Vec<Uuid>> {
    conversation_members::table
        .filter(conversation_members::conversation_id.eq(conversation))
        .select(conversation_members::user_id)
        .load(conn)
        .await
}

pub async fn delete(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    user: Uuid,
) -> QueryResult<usize> {
    diesel::delete(conversation_members::table.find((conversation, user)))
        .execute(conn)
        .await
}

/// Who inherits ownership when the owner leaves: the longest-standing admin, else member.
pub async fn successor(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
) -> QueryResult<Option<Member>> {
    conversation_members::table
        .filter(conversation_members::conversation_id.eq(conversation))
        .order((
            conversation_members::role.ne(ADMIN),
            conversation_members::joined_at,
            conversation_members::user_id,
        ))
        .select(Member::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn set_role(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    user: Uuid,
    role: &str,
) -> QueryResult<()> {
    diesel::update(conversation_members::table.find((conversation, user)))
        .set(conversation_members::role.eq(role))
        .execute(conn)
        .await
        .map(drop)
}

/// `(conversation id, last seq, last rev, last read seq)` of every conversation `user` belongs
/// to.
pub async fn memberships_of(
    mut conn: &AsyncPgConnection,
    user: Uuid,
) -> QueryResult<Vec<(Uuid, i64, i64, i64)>> {
    use crate::db::schema::conversations;
    conversation_members::table
        .inner_join(conversations::table)
        .filter(conversation_members::user_id.eq(user))
        .select((
            conversations::id,
            conversations::last_seq,
            conversations::last_rev,
            conversation_members::last_read_seq,
        ))
        .load(&mut conn)
        .await
}
