//! Deleting an account (`DELETE /me`, PROTOCOL.md §14). One transaction leaves no half-deleted
//! account: the user leaves every workspace and conversation (a group or workspace they owned
//! passes to its longest-standing admin, else member, as when an owner leaves), their messages
//! become tombstones that keep their `senderId`, their contacts, requests, blocks, invites and
//! unsent uploads go, their refresh tokens are revoked, and the row keeps only the id and the
//! username (reserved for [`USERNAME_HOLD`]). Then, committed, the other members hear of it
//! (`conversation:updated`, so clients pick up the tombstones), and every socket of the user,
//! on every node, is disconnected.

use chrono::{DateTime, Utc};
use confab_actors::protocol::events::ConversationUpdated;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::members;
use crate::models::conversation::{self, Conversation};
use crate::models::workspace::{self, OWNER};
use crate::models::{account, member, user};
use crate::state::AppState;

/// How long a deleted account's username stays reserved: nobody can pose as the person who
/// just left, in the conversations that still show their name.
pub const USERNAME_HOLD: chrono::Duration = chrono::Duration::days(30);

/// A conversation the deletion changed, as it is after it.
struct Touched {
    conversation: Conversation,
    /// Whether the user was a member (and left).
    left: bool,
}

/// Deletes account `user`; `false` when it was already gone (a deletion that raced this one
/// did the work).
pub async fn delete(state: &AppState, user: Uuid) -> ApiResult<bool> {
    let mut conn = state.pool.get().await?;
    let touched = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            // First: the row lock makes a second deletion of the same account wait, then stop.
            if !user::mark_deleted(conn, user).await? {
                return Ok(None);
            }
            leave_workspaces(conn, user).await?;
            let touched = leave_conversations(conn, user).await?;
            account::forget_user(conn, user).await?;
            Ok(Some(touched))
        })
        .await?;
    drop(conn);
    let Some(touched) = touched else {
        return Ok(false);
    };
    log::info!(user_id:% = user, conversations = touched.len(); "account deleted");
    for Touched { conversation, left } in &touched {
        if *left {
            members::announce_left(state, conversation, user).await;
        } else {
            state.publisher.conversation_updated(&ConversationUpdated {
                conversation_id: conversation.id,
                last_seq: conversation.last_seq,
                last_rev: conversation.last_rev,
            });
        }
    }
    state.publisher.user_gone(user).await;
    Ok(true)
}

/// Leaves every workspace, handing an owned one to its successor.
async fn leave_workspaces(conn: &mut AsyncPgConnection, user: Uuid) -> ApiResult<()> {
    for membership in account::workspace_memberships(conn, user).await? {
        let id = membership.workspace_id;
        workspace::lock(conn, id).await?;
        workspace::delete_member(conn, id, user).await?;
        if membership.role == OWNER {
            if let Some(heir) = workspace::successor(conn, id).await? {
                workspace::set_role(conn, id, heir, OWNER).await?;
            }
        }
    }
    Ok(())
}

/// Leaves every conversation (an owned group passes on) and tombstones the user's messages,
/// conversation by conversation in id order, each under its row lock.
async fn leave_conversations(conn: &mut AsyncPgConnection, user: Uuid) -> ApiResult<Vec<Touched>> {
    let mut touched = Vec::new();
    for id in account::conversations_touched(conn, user).await? {
        conversation::lock(conn, id).await?;
        let left = match member::find(conn, id, user).await? {
            Some(membership) => members::remove_locked(conn, id, &membership).await?,
            None => false,
        };
        account::tombstone_messages(conn, id, user).await?;
        touched.push(Touched {
            conversation: conversation::lock(conn, id).await?,
            left,
        });
    }
    Ok(touched)
}

/// When a username held by a deleted account becomes free: accounts deleted before this.
pub fn username_free_if_deleted_before(now: DateTime<Utc>) -> DateTime<Utc> {
    now - USERNAME_HOLD
}
