//! `receipt:delivered` and `receipt:read`: the member's watermarks move up (never down), then
//! the conversation's other sockets hear `receipt:updated`, unless the member hides their
//! receipts (`settings.readReceipts`).

use super::{ack_json, conversation_id, Reply};
use crate::chat::namespace::Inner;
use crate::chat::socket_state::SocketState;
use crate::chat::store::{ChatStore, StoreError};
use crate::engine::Socket;
use crate::protocol::events::{Receipt, ReceiptAck, ReceiptUpdated};
use crate::ErrorCode;

pub(super) async fn handle<S: ChatStore>(
    inner: &Inner<S>,
    socket: &Socket,
    state: &SocketState,
    payload: Receipt,
    read: bool,
) -> Reply {
    let conversation = conversation_id(&payload.conversation_id)?;
    if payload.seq < 0 {
        return Err(StoreError::new(
            ErrorCode::Invalid,
            "seq must be at least 0",
        ));
    }
    let marked = inner
        .store
        .mark(state.user, conversation, payload.seq, read)
        .await?;
    if marked.shared {
        let update = ReceiptUpdated {
            conversation_id: conversation,
            user_id: state.user,
            last_delivered_seq: marked.delivered,
            last_read_seq: marked.read,
        };
        inner.publisher.receipt_updated(&update, Some(socket.id()));
    }
    ack_json(ReceiptAck {
        last_delivered_seq: marked.delivered,
        last_read_seq: marked.read,
    })
}
