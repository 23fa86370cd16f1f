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
