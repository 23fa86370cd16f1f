//! `message:send`: the store validates, applies the sending rate and commits; then, in the
//! contract's order, the ack, `message:sent` to the sending socket, and `message:new` to every
//! other subscribed socket (not again for a retry), in the message's turn among the
//! conversation's changes.

use super::{conversation_id, frame, internal};
use crate::chat::namespace::Inner;
use crate::chat::rooms::SenderFrames;
use crate::chat::socket_state::SocketState;
use crate::chat::store::{ChatStore, NewMessage, StoreError};
use crate::engine::{Ack, Socket};
use crate::protocol::events::{self, MessageAck, MessageSend, MessageSent};

pub(super) async fn handle<S: ChatStore>(
    inner: &Inner<S>,
    socket: &Socket,
    state: &SocketState,
    payload: MessageSend,
    ack: &mut Option<Ack>,
) -> Result<(), StoreError> {
    let conversation = conversation_id(&payload.conversation_id)?;
    let committed = inner
        .store
        .send(NewMessage {
            conversation_id: conversation,
            sender_id: state.user,
            client_message_id: payload.client_message_id.clone(),
            body: payload.body,
            attachment_ids: payload.attachment_ids,
            reply_to_id: payload.reply_to_id,
        })
        .await?;
    let mut frames = Vec::with_capacity(2);
    if let Some(ack) = ack.take() {
        let body = events::Ack::ok(MessageAck {
            message: &committed.message,
        });
        frames.push(ack.frame_json(&serde_json::to_string(&body).map_err(internal)?));
    }
    let sent = MessageSent {
        client_message_id: &payload.client_message_id,
        message: &committed.message,
    };
    frames.push(frame(socket.namespace(), &sent)?);
    // The ack and `message:sent` go out in the message's turn among the conversation's
    // changes (before its `message:new` reaches anyone else): the sender sees every change in
    // rev order, its own included.
    inner.publisher.message_new(
        &committed,
        Some(SenderFrames {
            socket: socket.clone(),
            frames,
        }),
    );
    Ok(())
}
