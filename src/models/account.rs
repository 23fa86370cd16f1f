//! The statements of an account's deletion (`DELETE /me`) on the tables it reaches beyond
//! `users`: what the account belongs to, the messages it sent, and the rows that only made
//! sense while it existed. Kept together so that the deletion reads as one list; the caller
//! runs them in one transaction (`crate::accounts`).

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{
    attachments, blocks, contact_requests, contacts, conversation_members, invites, messages,
    refresh_tokens, workspace_members,
};
use crate::models::workspace::WorkspaceMember;

/// The workspaces `user` belongs to, by id (the order locks are taken in).
pub async fn workspace_memberships(
    conn: &mut AsyncPgConnection,
    user: Uuid,
) -> QueryResult<Vec<WorkspaceMember>> {
    workspace_members::table
        .filter(workspace_members::user_id.eq(user))
        .order(workspace_members::workspace_id)
        .select(WorkspaceMember::as_select())
        .load(conn)
        .await
}

/// Every conversation `user` belongs to or has a live message in, by id (the order locks are
/// taken in).
pub async fn conversations_touched(
    conn: &mut AsyncPgConnection,
    user: Uuid,
) -> QueryResult<Vec<Uuid>> {
    let member_of = conversation_members::table
        .filter(conversation_members::user_id.eq(user))
        .select(conversation_members::conversation_id);
    let wrote_in = messages::table
        .filter(messages::sender_id.eq(user))
        .filter(messages::deleted_at.is_null())
        .select(messages::conversation_id)
        .distinct();
    let mut ids: Vec<Uuid> = member_of.load(conn).await?;
    ids.extend(wrote_in.load::<Uuid>(conn).await?);
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Turns `user`'s live messages in `conversation` into tombstones, each with a rev of its own
/// (`confab_tombstone_sender`); the conversation's last rev after them, `None` when it had none.
pub async fn tombstone_messages(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    user: Uuid,
) -> QueryResult<Option<i64>> {
    #[derive(QueryableByName)]
    struct Rev {
        #[diesel(sql_type = Nullable<diesel::sql_types::BigInt>)]
        rev: Option<i64>,
    }
    let row: Rev = diesel::sql_query("SELECT confab_tombstone_sender($1, $2) AS rev")
        .bind::<SqlUuid, _>(conversation)
        .bind::<SqlUuid, _>(user)
        .get_result(conn)
        .await?;
    Ok(row.rev)
}

/// Removes `user`'s contacts (both ways), contact requests (sent and received), blocks (made
/// and received), the invites they made, and their uploads not part of a message (the
/// objects follow through `storage_garbage`); revokes every refresh token of theirs.
pub async fn forget_user(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<()> {
    diesel::delete(
        contacts::table.filter(contacts::user_id.eq(user).or(contacts::contact_id.eq(user))),
    )
    .execute(conn)
    .await?;
    diesel::delete(
        contact_requests::table.filter(
            contact_requests::from_user_id
                .eq(user)
                .or(contact_requests::to_user_id.eq(user)),
        ),
    )
    .execute(conn)
    .await?;
    diesel::delete(
        blocks::table.filter(blocks::blocker_id.eq(user).or(blocks::blocked_id.eq(user))),
    )
    .execute(conn)
    .await?;
    diesel::delete(invites::table.filter(invites::created_by.eq(user)))
        .execute(conn)
        .await?;
    diesel::delete(
        attachments::table
            .filter(attachments::uploader_id.eq(user))
            .filter(attachments::message_id.is_null()),
    )
    .execute(conn)
    .await?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}
