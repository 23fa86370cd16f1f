//! Invite links of groups and workspaces (PROTOCOL.md v1.1 section 7).

pub mod accept;
pub mod create;
pub mod get;
pub mod list;
pub mod revoke;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::views::InviteView;
use crate::invites::code;
use crate::models::invite::Invite;
use crate::models::{member, workspace};
use crate::state::AppState;

/// Live invites a group or workspace may have at once.
pub const MAX_LIVE: i64 = 100;

pub fn invite_not_found() -> ApiError {
    ApiError::not_found("invite not found")
}

/// The hash of a code in a path; a malformed code is simply not found.
pub fn code_hash(code: &str) -> ApiResult<Vec<u8>> {
    code::hash(code).ok_or_else(invite_not_found)
}

/// The invite object, with its code unsealed.
pub fn view(state: &AppState, invite: &Invite) -> ApiResult<InviteView> {
    let code = state
        .invites
        .codes
        .unseal(&invite.code_hash, &invite.sealed_code)
        .ok_or_else(|| ApiError::internal("an invite sealed with another key"))?;
    Ok(InviteView::new(invite, code))
}

/// What `user` is to what `invite` opens: `Some(true)` for an owner or admin of its group or
/// workspace, `Some(false)` for another member, `None` for anyone else.
pub async fn standing(
    conn: &mut AsyncPgConnection,
    invite: &Invite,
    user: Uuid,
) -> ApiResult<Option<bool>> {
    Ok(match (invite.conversation_id, invite.workspace_id) {
        (Some(conversation), _) => member::find(conn, conversation, user)
            .await?
            .map(|m| m.can_manage()),
        (None, Some(w)) => workspace::member(conn, w, user)
            .await?
            .map(|m| m.can_manage()),
        (None, None) => None,
    })
}
