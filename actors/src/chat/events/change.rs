//! `message:edit`, `message:delete`, `reaction:add`, `reaction:remove`: the store validates and
//! commits; then the ack, and `message:updated` or `reaction:updated` to every subscribed
//! socket of the conversation on every node (the actor's included). A change that changed
//! nothing is acked and published to no one.

use super::{ack_json, conversation_id, internal, Reply};
use crate::chat::namespace::Inner;
use crate::chat::socket_state::SocketState;
use crate::chat::store::{Change, ChangeRequest, Changed, ChatStore, StoreError};
use crate::chat::Rooms;
use crate::protocol::engineio::Frame;
use crate::protocol::events::{self, MessageAck, ReactionUpdated, MESSAGE_UPDATED};
use crate::protocol::socketio;

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
    publish_change(&inner.rooms, &request, &changed)?;
    ack
}

/// Publishes a committed change to every subscribed socket of its conversation, on every
/// node; a socket change and an HTTP change both end here. Nothing for an unchanged one.
pub fn publish_change(
    rooms: &Rooms,
    request: &ChangeRequest,
    changed: &Changed,
) -> Result<(), StoreError> {
    if !changed.changed {
        return Ok(());
    }
    let text = match &request.change {
        Change::Edit { .. } | Change::Delete => {
            socketio::encode_event_json("/", MESSAGE_UPDATED, changed.message.get())
        }
        Change::React { emoji, add } => events::encode(
            "/",
            &ReactionUpdated {
                conversation_id: changed.conversation_id,
                message_id: &changed.message_id,
                rev: changed.rev,
                user_id: request.actor,
                emoji,
                added: *add,
                reactions: &changed.reactions,
            },
        )
        .map_err(internal)?,
    };
    rooms.publish_change(
        changed.conversation_id,
        changed.rev,
        Frame::message(&text),
        None,
    );
    Ok(())
}
