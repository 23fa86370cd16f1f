//! `typing:start` and `typing:stop`: relayed by the presence actor, which runs the timers.

use super::{ack_json, subscribed, Reply};
use crate::chat::namespace::Inner;
use crate::chat::presence::Typing;
use crate::chat::socket_state::SocketState;
use crate::chat::store::ChatStore;
use crate::engine::Socket;
use crate::protocol::events::ConversationRef;

pub(super) fn handle<S: ChatStore>(
    inner: &Inner<S>,
    socket: &Socket,
    state: &SocketState,
    payload: ConversationRef,
    typing: bool,
) -> Reply {
    let conversation = subscribed(state, &payload.conversation_id)?;
    inner.publisher.presence.do_send(Typing {
        user: state.user,
        conversation,
        typing,
        socket_id: socket.id().to_string(),
    });
    ack_json(())
}
