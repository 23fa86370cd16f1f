//! `message:edit`, `message:delete`, `reaction:add`, `reaction:remove`: the store validates and
//! commits; then the ack, and `message:updated` or `reaction:updated` to every subscribed
//! socket of the conversation on every node (the actor's included). A change that changed
//! nothing is acked and published to no one.

use super::{ack_json, conversation_id, Reply};
use crate::chat::namespace::Inner;
use crate::chat::socket_state::SocketState;
use crate::chat::store::{Change, ChangeRequest, ChatStore};
use crate::protocol::events::MessageAck;

pub(super) async fn handle<S: ChatStore>(
    inner: &Inner<S>,
    state: &SocketState,
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
    let ack = ack_json(MessageAck {
        message: &changed.message,
    });
    inner.publisher.message_changed(&request, &changed)?;
    ack
}
