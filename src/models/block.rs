use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::blocks;

pub async fn insert(conn: &mut AsyncPgConnection, blocker: Uuid, blocked: Uuid) -> QueryResult<()> {
    diesel::insert_into(blocks::table)
        .values((
            blocks::blocker_id.eq(blocker),
            blocks::blocked_id.eq(blocked),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

pub async fn delete(conn: &mut AsyncPgConnection, blocker: Uuid, blocked: Uuid) -> QueryResult<()> {
    diesel::delete(blocks::table.find((blocker, blocked)))
        .execute(conn)
        .await
        .map(drop)
}

/// Whether either of the two users has blocked the other.
pub async fn between(conn: &mut AsyncPgConnection, a: Uuid, b: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        blocks::table.filter(
            (blocks::blocker_id.eq(a).and(blocks::blocked_id.eq(b)))
                .or(blocks::blocker_id.eq(b).and(blocks::blocked_id.eq(a))),
        ),
    ))
    .get_result(conn)
    .await
}

/// Whether any of `users` has blocked `actor` (who may then not add them to a group).
pub async fn any_blocked(
    conn: &mut AsyncPgConnection,
    users: &[Uuid],
    actor: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        blocks::table
            .filter(blocks::blocker_id.eq_any(users))
            .filter(blocks::blocked_id.eq(actor)),
    ))
    .get_result(conn)
    .await
}

/// Whether an owner of group `conversation` has blocked `user` (who may then not join it by
/// its invites: PROTOCOL.md v1.2 §14).
pub async fn by_owner_of(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    user: Uuid,
) -> QueryResult<bool> {
    use crate::db::schema::conversation_members as cm;
    diesel::select(diesel::dsl::exists(
        blocks::table.filter(blocks::blocked_id.eq(user)).filter(
            blocks::blocker_id.eq_any(
                cm::table
                    .filter(cm::conversation_id.eq(conversation))
                    .filter(cm::role.eq(crate::models::member::OWNER))
                    .select(cm::user_id),
            ),
        ),
    ))
    .get_result(conn)
    .await
}
