//! `sync:request`: a member's page of messages after a seq, for repairing gaps.

use super::{ack_json, conversation_id, Reply};
use crate::chat::namespace::Inner;
use crate::chat::socket_state::SocketState;
use crate::chat::store::{ChatStore, StoreError};
use crate::protocol::events::{HistoryAck, SyncRequest};
use crate::ErrorCode;

/// Most messages one `sync:request` returns.
const SYNC_MAX: i64 = 100;

pub(super) async fn handle<S: ChatStore>(
    inner: &Inner<S>,
    state: &SocketState,
    payload: SyncRequest,
) -> Reply {
    let conversation = conversation_id(&payload.conversation_id)?;
    let limit = payload.limit.unwrap_or(SYNC_MAX);
    if payload.after_seq < 0 || !(1..=SYNC_MAX).contains(&limit) {
        return Err(StoreError::new(
            ErrorCode::Invalid,
            "afterSeq must be at least 0 and limit 1-100",
        ));
    }
    let history = inner
        .store
        .history(state.user, conversation, payload.after_seq, limit)
        .await?;
    ack_json(HistoryAck {
        messages: &history.messages,
        has_more: history.has_more,
    })
}
