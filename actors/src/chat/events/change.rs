//! `message:edit`, `message:delete`, `reaction:add`, `reaction:remove`: the store validates and
//! commits; then the ack, and `message:updated` or `reaction:updated` to every subscribed
//! socket of the conversation on every node (the actor's included). A change that changed
//! nothing is acked and published to no one.

use super::{ack_json, conversation_id, Reply};
use crate::chat::namespace::Inner;
use crate::chat::rooms::SenderFrames;
use crate::chat::socket_state::SocketState;
use crate::chat::store::{Change, ChangeRequest, ChatStore};
use crate::engine::{Ack, Socket};
use crate::protocol::events::MessageAck;

/// Commits the change; the ack goes out with it, in its turn among the conversation's changes
/// (so the actor sees revs in order too).
pub(super) async fn handle<S: ChatStore>(
    inner: &Inner<S>,
    socket: &Socket,
    state: &SocketState,
    ack: &mut Option<Ack>,
    conversation: &str,
    message_id: String,
    change: Change,
) -> Reply {
    let request = ChangeRequest {
        conversation_id: conversation_id(conversation)?,
        actor: state.user,
        message_id,
        change,
    };
    let changed = inner.store.change(request.clone()).await?;
    let json = ack_json(MessageAck {
        message: &changed.message,
    })?;
    let Some(ack) = ack.take() else {
        inner.publisher.message_changed(&request, &changed, None)?;
        return Ok(json);
    };
    let frames = json.map(|json| ack.frame_json(&json)).into_iter().collect();
    let sender = SenderFrames {
        socket: socket.clone(),
        frames,
    };
    inner
        .publisher
        .message_changed(&request, &changed, Some(sender))?;
    Ok(None)
}
