//! The one path into and out of groups, whichever way a user comes or goes: added by an admin
//! (`POST /conversations/{id}/members`), by an invite link, by joining a public channel, or
//! removed, leaving, or leaving the channel's workspace. Each change is made under the group's
//! row lock (so the size limit holds under concurrency) and then told live: the user's sockets
//! on every node get `conversation:added` / `conversation:removed` (and join or leave the
//! room), the other members get `conversation:updated`.

pub mod add;
pub mod remove;

use confab_actors::protocol::events::ConversationUpdated;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::conversations::{announce_added, view};
use crate::http::views::ConversationView;
use crate::models::conversation::{self, Conversation};
use crate::models::member::{self, Member, NewMember, MEMBER, OWNER};
use crate::models::{block, contact};
use crate::state::AppState;

/// Whether `actor` may put `users` in a group, at its creation or later: none of them has
/// blocked `actor`, and none takes conversations from their contacts only without counting
/// `actor` among them (PROTOCOL.md v1.2 §14; for those an invite link remains, since the user
/// then chooses). Checked before anything is stored or told.
pub async fn may_add(conn: &mut AsyncPgConnection, actor: Uuid, users: &[Uuid]) -> ApiResult<()> {
    if block::any_blocked(conn, users, actor).await? {
        return Err(ApiError::forbidden(
            "someone you listed has blocked you and cannot be added",
        ));
    }
    if contact::any_closed_to(conn, users, actor).await? {
        return Err(ApiError::forbidden(
            "someone you listed takes conversations from their contacts only; share an invite link instead",
        ));
    }
    Ok(())
}

/// Adds `users` to group `id` as members; call it in a transaction. Users who already belong
/// are left as they are; `conflict` when the group would pass `max` members. Returns the
/// group, locked, and the users added.
pub async fn add_locked(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    users: &[Uuid],
    max: usize,
) -> ApiResult<(Conversation, Vec<Uuid>)> {
    let group = conversation::lock(conn, id).await?;
    let current = member::user_ids(conn, id).await?;
    let new: Vec<NewMember> = users
        .iter()
        .filter(|user_id| !current.contains(user_id))
        .map(|&user_id| NewMember {
            conversation_id: id,
            user_id,
            role: MEMBER,
        })
        .collect();
    if current.len() + new.len() > max {
        return Err(ApiError::conflict(format!(
            "a group has at most {max} members"
        )));
    }
    member::insert_many(conn, &new).await?;
    Ok((group, new.iter().map(|m| m.user_id).collect()))
}

/// Removes `target` from group `id`; call it in a transaction. An owner who leaves hands the
/// group to the longest-standing admin, else member. `false` when they were not a member.
pub async fn remove_locked(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    target: &Member,
) -> ApiResult<bool> {
    conversation::lock(conn, id).await?;
    if member::delete(conn, id, target.user_id).await? == 0 {
        return Ok(false);
    }
    if target.role == OWNER {
        if let Some(heir) = member::successor(conn, id).await? {
            member::set_role(conn, id, heir.user_id, OWNER).await?;
        }
    }
    Ok(true)
}

/// After `added` joined `group` (committed): they hear `conversation:added` with the group,
/// the other members `conversation:updated`. Returns the group's view.
pub async fn announce_joined(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    group: &Conversation,
    added: &[Uuid],
) -> ApiResult<ConversationView> {
    let body = view(conn, group).await?;
    if !added.is_empty() {
        log::info!(conversation_id:% = group.id, added = added.len(); "members added");
        tell_members(state, group);
        announce_added(state, added, &body).await;
    }
    Ok(body)
}

/// After `user` left `group` (committed): their sockets hear `conversation:removed`, the
/// other members `conversation:updated`.
pub async fn announce_left(state: &AppState, group: &Conversation, user: Uuid) {
    log::info!(conversation_id:% = group.id, user_id:% = user; "member removed");
    state.publisher.conversation_removed(user, group.id).await;
    tell_members(state, group);
}

/// `conversation:updated` to every member's sockets, on every node: the membership changed.
fn tell_members(state: &AppState, group: &Conversation) {
    state.publisher.conversation_updated(&ConversationUpdated {
        conversation_id: group.id,
        last_seq: group.last_seq,
        last_rev: group.last_rev,
    });
}
