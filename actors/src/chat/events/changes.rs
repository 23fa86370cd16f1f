//! `sync:changes`: a member's page of the messages changed after a rev, for repairing gaps
//! in edits, deletes and reactions (and new messages: they take a rev too).

use super::{ack_json, conversation_id, Reply};
use crate::chat::namespace::Inner;
use crate::chat::socket_state::SocketState;
use crate::chat::store::{ChatStore, StoreError};
use crate::protocol::events::{ChangesAck, SyncChanges};
use crate::ErrorCode;

/// Most messages one `sync:changes` returns.
pub const CHANGES_MAX: i64 = 500;

pub(super) async fn handle<S: ChatStore>(
    inner: &Inner<S>,
    state: &SocketState,
    payload: SyncChanges,
) -> Reply {
    let conversation = conversation_id(&payload.conversation_id)?;
    let limit = payload.limit.unwrap_or(CHANGES_MAX);
    if payload.after_rev < 0 || !(1..=CHANGES_MAX).contains(&limit) {
        return Err(StoreError::new(
            ErrorCode::Invalid,
            "afterRev must be at least 0 and limit 1-500",
        ));
    }
    let changes = inner
        .store
        .changes(state.user, conversation, payload.after_rev, limit)
        .await?;
    ack_json(ChangesAck {
        messages: &changes.messages,
        last_rev: changes.last_rev,
        has_more: changes.has_more,
    })
}
